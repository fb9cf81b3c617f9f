// RawSource: one raw table of the lakehouse and the landing files it is
// loaded from, as declared in a models folder's `sources.toml`:
//
//   [[raw]]
//   table = "raw_usda_psd"        # "raw_" then [a-z0-9_], at most 64 bytes
//   glob = "usda_psd/*.csv.gz"    # relative to the landing dir, matched by
//                                 # fnmatch(3) without FNM_PATHNAME: '*'
//                                 # crosses '/'
//   format = "csv"                # csv | json | ndjson
//   records = "data.daily"        # json only: the dotted path to the array
//                                 # of objects; absent = the document is it
//
// ReadSources checks everything a load would trip on later and reports the
// first problem as "<file>:<line>: <what>" (unknown format, bad table name,
// duplicate table, missing key, unknown key, a value of the wrong type, a
// glob that leaves the landing dir). A `[project]` table names the engine
// (pipeline/postgres/project_engine.h) and is left alone here. It never
// throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/status.h"

namespace sluice::lakehouse {

enum class RawFormat { kCsv, kJson, kNdjson };

// "csv" | "json" | "ndjson".
std::optional<RawFormat> ParseRawFormat(std::string_view s);
const char* RawFormatName(RawFormat f);

struct RawSource {
  std::string table;
  std::string glob;
  RawFormat format = RawFormat::kCsv;
  std::string records;  // json only; "" = the document is the array
  int line = 0;         // where the [[raw]] entry starts in its file
};

// "raw_" followed by 1-60 of [a-z0-9_].
bool IsValidRawTableName(std::string_view name);

Result<std::vector<RawSource>> ReadSources(const std::string& path);
// The same over text already in memory; `name` is used in errors.
Result<std::vector<RawSource>> ParseSources(std::string_view text, const std::string& name);

}  // namespace sluice::lakehouse
