// The load ledger: which landing files are already in the lakehouse.
//
//   _sluice_loaded_files(path TEXT PRIMARY KEY  -- relative to the landing dir
//                        raw_table TEXT, rows INTEGER,
//                        loaded_at TEXT)        -- UTC 'YYYY-MM-DD HH:MM:SS'
//
// A file's ledger row is written in the same transaction as its rows, so a
// file is either loaded and recorded, or neither: loading is idempotent.
#pragma once

#include <cstdint>
#include <string>

#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::lakehouse {

inline constexpr const char* kLedgerTable = "_sluice_loaded_files";

class LoadLedger {
 public:
  // Creates the table when missing and prepares the statements.
  Status Open(sluice::Database& db);
  Result<bool> Contains(const std::string& path);
  Status Record(const std::string& path, const std::string& raw_table, std::int64_t rows);

 private:
  sluice::Statement contains_;
  sluice::Statement record_;
};

}  // namespace sluice::lakehouse
