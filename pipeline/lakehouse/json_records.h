// JsonRecords: the rows of a JSON or NDJSON landing file, ready for a raw
// table.
//
//   json    one document: an array of objects, or an object holding that
//           array at a dotted `records` path ("data.daily").
//   ndjson  one object per line; lines holding only whitespace are skipped.
//
// Columns are the union of the records' keys in the order they first
// appear. Keys are column names, and SQLite compares column names without
// ASCII case, so keys that differ only in case are one column (the first
// spelling names it); one object holding two such keys is an error.
// Errors: "line N: <reason>" (ndjson; json syntax errors too) or
// "record K: <reason>" (json, K counting from 1).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/lakehouse/raw_source.h"
#include "schemas/status.h"

namespace sluice::lakehouse {

struct JsonRecords {
  std::vector<std::string> columns;
  std::vector<nlohmann::ordered_json> rows;  // each one an object
  // The column of a key (any ASCII case), or -1.
  int ColumnOf(std::string_view key) const;

  std::unordered_map<std::string, int> index;  // ASCII-lowercased key -> column
};

Result<JsonRecords> ParseJsonRecords(std::string_view text, RawFormat format, std::string_view records_path);

// ASCII lower case (how SQLite compares identifiers).
std::string FoldCase(std::string_view s);

}  // namespace sluice::lakehouse
