// Raw loading: landing files into the lakehouse's raw tables.
//
// For each source, in order, the landing files its glob matches (sorted by
// path) that the load ledger does not list yet are loaded, each in ONE
// transaction with its ledger row: a file is all in, or not at all. Rows get
// `_source_file` (the relative path), `_ingest_date` (see ingest_date.h) and
// `_load_id` (the file's load_id in the ledger: one more than the last file
// loaded, so staging can keep the newest version of a row by it).
// The lakehouse must be opened with OpenLakehouse (which migrates it).
//   csv           columns from the header, declared TEXT: values as written
//   json, ndjson  columns untyped: integers, reals and text keep their type,
//                 bools are 0/1, null is NULL, objects and arrays are their
//                 JSON text
// A file that is malformed (bad CSV, truncated or corrupt gzip, bad JSON)
// stops the load with "<relative path>: line N: <reason>"; nothing of that
// file remains, and files loaded before it stay loaded (each was committed).
// `cancelled` is asked between files and every 65,536 rows; a cancel rolls
// back the file in progress and returns Unavailable("cancelled: ...").
//
// A file matched by two sources is loaded once, by the first.
// An empty CSV file (no header) or a JSON file with no records loads 0 rows
// and is recorded; it creates no table.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pipeline/lakehouse/landing_files.h"
#include "pipeline/lakehouse/raw_source.h"
#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::lakehouse {

struct LoadedFile {
  std::string path;  // relative to the landing dir
  std::string table;
  std::int64_t rows = 0;
};

struct LoadReport {
  std::vector<LoadedFile> files;  // loaded by this call, in load order
  std::int64_t files_loaded = 0;
  std::int64_t files_skipped = 0;  // matched, but already in the ledger
  std::int64_t rows_loaded = 0;
};

Result<LoadReport> LoadRaw(sluice::Database& db, const std::vector<RawSource>& sources,
                           const std::string& landing_dir, const std::function<bool()>& cancelled = {});
// The same from any landing zone (a folder, an object store).
Result<LoadReport> LoadRaw(sluice::Database& db, const std::vector<RawSource>& sources, LandingFiles& landing,
                           const std::function<bool()>& cancelled = {});

}  // namespace sluice::lakehouse
