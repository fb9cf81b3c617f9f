// A raw table's schema: the columns a landing file brings, plus
// `_source_file` (the file's path relative to the landing dir),
// `_ingest_date` (YYYY-MM-DD) and `_load_id` (INTEGER: the file's load_id in
// the load ledger, growing with every file loaded, so the largest is the
// newest version of a row). The table is created on its first load; a
// later file with new columns adds them (ALTER TABLE ADD COLUMN), and a
// file without some column leaves it NULL. Names are always used quoted, so
// any header text is a column name -- except an empty one, one holding a NUL
// byte, two names equal but for ASCII case (SQLite's rule), and the three
// reserved names above.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::lakehouse {

inline constexpr std::string_view kSourceFileColumn = "_source_file";
inline constexpr std::string_view kIngestDateColumn = "_ingest_date";
inline constexpr std::string_view kLoadIdColumn = "_load_id";

// InvalidArgument naming the first bad column, else OK.
Status ValidateColumnNames(const std::vector<std::string>& names);

// Creates `table` with `columns` (declared `type`: "TEXT" or "" for none)
// and the three metadata columns, or adds those of `columns` (and
// `_load_id`) it lacks.
// Call inside the load's transaction.
Status EnsureRawTable(sluice::Database& db, const std::string& table, const std::vector<std::string>& columns,
                      std::string_view type);

}  // namespace sluice::lakehouse
