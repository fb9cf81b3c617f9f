// Reading query results for messages: a row as "col=value, ...", the first
// rows of a query, the columns of a table or view.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::models {

// The current row of `st` as "col=value, col=NULL, ...".
std::string RenderRow(const Statement& st);
// One column of the current row: text as is, numbers shortest round-trip, NULL.
std::string RenderValue(const Statement& st, int col);

// The rows of `sql` (at most `limit`), each rendered by RenderRow.
Result<std::vector<std::string>> SampleRows(Database& db, std::string_view sql, int limit);
// The single integer `sql` returns (e.g. a count).
Result<std::int64_t> QueryInt(Database& db, std::string_view sql);
// Column names of a table or view, in order.
Result<std::vector<std::string>> TableColumns(Database& db, std::string_view table);
// "table", "view" or "" (absent).
Result<std::string> ObjectType(Database& db, std::string_view name);

}  // namespace sluice::models
