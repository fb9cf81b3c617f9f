// Which tables a SELECT reads: the names after FROM and JOIN (and in
// comma-separated FROM lists), minus the statement's own CTE names.
// Subqueries are searched too; table-valued functions (json_each(...)),
// strings, comments and quoted column names are not tables.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "pipeline/models/sql_tokens.h"

namespace sluice::models {

struct TableReference {
  std::string name;  // lowercase, schema prefix dropped (main.x -> x)
  int line = 0;      // line of the first mention
};

struct TableReferences {
  std::vector<TableReference> tables;  // first mention of each table, in order of appearance
  std::set<std::string> ctes;          // lowercase CTE names (WITH name AS (...))
};

// Scans tokens [begin, end) of one statement.
TableReferences FindTableReferences(const std::vector<Token>& tokens, std::size_t begin, std::size_t end);

}  // namespace sluice::models
