// The load ledger: which landing files are already in the lakehouse.
//
//   _sluice_loaded_files(path TEXT PRIMARY KEY  -- relative to the landing dir
//                        raw_table TEXT, rows INTEGER,
//                        loaded_at TEXT,        -- UTC 'YYYY-MM-DD HH:MM:SS'
//                        load_id INTEGER)       -- unique; see below
//
// A file's ledger row is written in the same transaction as its rows, so a
// file is either loaded and recorded, or neither: loading is idempotent.
// `load_id` numbers the files in the order they were loaded (1, 2, ...; the
// next one is one more than the largest): every raw row carries its file's
// as `_load_id`, so the newest version of a row is the one with the largest
// `_load_id`, whatever the files are named. Lakehouses made before load ids
// get them in ledger order (lakehouse_schema.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::lakehouse {

inline constexpr const char* kLedgerTable = "_sluice_loaded_files";
inline constexpr std::string_view kLedgerLoadIdColumn = "load_id";

// The unique index on load_id (which also makes NextLoadId a lookup).
Status EnsureLedgerIndex(sluice::Database& db);

class LoadLedger {
 public:
  // Creates the table (and its load_id index) when missing and prepares the
  // statements. The lakehouse must be at the current schema version
  // (OpenLakehouse migrates it).
  Status Open(sluice::Database& db);
  Result<bool> Contains(const std::string& path);
  // The load_id of the next file; call inside its load's transaction.
  Result<std::int64_t> NextLoadId();
  Status Record(const std::string& path, const std::string& raw_table, std::int64_t rows, std::int64_t load_id);

 private:
  sluice::Statement contains_;
  sluice::Statement next_id_;
  sluice::Statement record_;
};

}  // namespace sluice::lakehouse
