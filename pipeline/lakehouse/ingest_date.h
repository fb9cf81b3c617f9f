// The ingest date of a landing file, stored in every raw row as
// `_ingest_date` (YYYY-MM-DD). It comes from the landing partition in the
// file's path, relative to the landing dir:
//
//   {source}/{YYYY}/{MM}/<file>        -> YYYY-MM-01
//   {source}/{YYYY}/{MM}/{DD}/<file>   -> YYYY-MM-DD
//
// (YYYY four digits, MM 01-12, DD a real day of that month). A path without
// such a partition takes the date of the file's mtime, in UTC.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "schemas/status.h"

namespace sluice::lakehouse {

// The date from the partition, or nullopt when the path has none.
std::optional<std::string> PartitionDate(std::string_view relative_path);

// PartitionDate, else the UTC date of `absolute_path`'s mtime.
Result<std::string> IngestDate(std::string_view relative_path, const std::string& absolute_path);

}  // namespace sluice::lakehouse
