// Materializing one model in the lakehouse.
//
//   FULL        CREATE TABLE <tmp> AS <select>; audits on <tmp>; if they pass,
//               the old table is dropped and <tmp> renamed in; if not, <tmp>
//               is dropped and the old table stays as it was.
//   VIEW        the view is (re)created and audited; on failure the previous
//               definition is back.
//   INCREMENTAL_BY_TIME_RANGE
//               only the interval [start_ds, end_ds] is rebuilt: its rows are
//               deleted, the SELECT's rows inserted, the audits run on the
//               interval (unique_grain over the whole table for the grain keys
//               present in the interval); on failure the old rows are back. The
//               time column holds 'YYYY-MM-DD' (or 'YYYY-MM-DD HH:MM:SS') text;
//               the interval is time_column >= start_ds AND < the day after
//               end_ds. A SELECT that returns rows outside the interval (or
//               with a NULL time) is an error, nothing is written. The first
//               build creates the table (and an index on the time column).
//
//   INCREMENTAL_BY_UNIQUE_KEY
//               the SELECT's rows are upserted by the unique key: a row whose
//               key is in the table replaces it (updated), the others are
//               inserted; rows not returned stay. Duplicate or NULL keys in
//               the SELECT are an error, nothing is written. The first build
//               creates the table and a unique index on the key. Audits run
//               on the whole table.
//
// Each build is one SAVEPOINT: it either happens entirely or not at all.
#pragma once

#include <cstdint>
#include <string_view>

#include "pipeline/models/model.h"
#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::models {

// Builds `model` for [start_ds, end_ds] (days 'YYYY-MM-DD', both included;
// FULL and VIEW models only see them as @start_ds / @end_ds). Returns the
// rows built: the table's rows (FULL, VIEW) or the rows inserted for the
// interval (incremental). Errors start with the model's name; a failed audit
// names the audit and shows up to 5 offending rows.
Result<std::int64_t> BuildModel(Database& db, const Model& model, std::string_view start_ds, std::string_view end_ds);

// INCREMENTAL_BY_UNIQUE_KEY: what an upsert did.
struct UpsertCounts {
  std::int64_t inserted = 0;
  std::int64_t updated = 0;
};
// As above; `counts` (may be null) gets an upsert's counts.
Result<std::int64_t> BuildModel(Database& db, const Model& model, std::string_view start_ds, std::string_view end_ds,
                                UpsertCounts* counts);

}  // namespace sluice::models
