// export.serving: the lakehouse's serving tables, copied into a fresh
// analytics database that replaces the old one in a single rename.
//
//   1. `{serving}.tmp-<pid>-<n>` is created next to the target in rollback-
//      journal mode (not WAL: a renamed WAL database would pair with stale
//      -wal/-shm files left by readers of the old one).
//   2. Every table and view of the lakehouse whose name starts with
//      `serving_` is copied into it as a table, from one read snapshot, and
//      so is `_sluice_export` (one row: version, exported_at, tables, rows).
//   3. The file is fsynced, renamed over the target, and the folder fsynced.
//
// Readers therefore see the old file or the new one, never a mixture, and a
// reader that keeps a connection open keeps reading the old one (see
// serving_reader.h). `version` counts exports of this lakehouse
// (`_sluice_exports` there, written before the rename), so it only grows.
// Exports of one lakehouse must not run concurrently (the broker serializes
// them with the lakehouse's concurrency key); temp files left by a crashed
// export are removed by the next one.
//
// Whose files (schemas/database_owner.h): the new file is stamped with
// sluice's application_id. A file already at the serving path is replaced
// only when it is sluice's (stamped, or an unstamped export of an earlier
// release: `_sluice_export` and user_version 0) or empty; anything else there
// (another application's database, any other file) is refused and left as it
// is, before anything is written. The lakehouse is refused when its
// application_id is another application's, or it is not a database.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "schemas/database_owner.h"
#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::serving {

struct ExportedTable {
  std::string name;
  std::int64_t rows = 0;
};

struct ExportReport {
  // false: nothing was written, because no serving table changed since the
  // last export, whose file is still in place (`reason` says so; `version`
  // is that export's, `tables` empty, `rows` its row count).
  bool published = true;
  std::string reason;
  std::int64_t version = 0;
  std::vector<ExportedTable> tables;
  std::int64_t rows = 0;
  std::int64_t bytes = 0;  // size of the new analytics file
};

inline constexpr char kServingPrefix[] = "serving_";
inline constexpr char kExportMetaTable[] = "_sluice_export";

// What a serving database is, for InspectDatabaseFile (the export and
// ServingReader check the file at the path with it).
const DatabaseKind& ServingDatabase();

// `lakehouse` is an open read-write connection to the lakehouse (the export
// counter is written there). Fails, leaving the old analytics file in
// place, when there is no serving table, on any SQLite or file error, when
// the file at the path or the lakehouse is not sluice's (Corruption), or
// when cancelled() turns true between tables.
//
// Publishes only when something changed (serving_inputs.h): when the
// serving tables' inputs equal the last export's and the file at
// `serving_path` is that export (its `_sluice_export.version`), nothing is
// written and the report says published = false. `force` publishes anyway.
Result<ExportReport> ExportServing(Database& lakehouse, const std::string& serving_path,
                                   const std::function<bool()>& cancelled = {}, bool force = false);

}  // namespace sluice::serving
