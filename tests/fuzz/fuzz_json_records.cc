// JSON records fuzzer: landing-file text through ParseJsonRecords
// (json_records.h).
//
// Input: byte 0 picks the format and the records path (ndjson; json with
// no path, "data", "data.daily" or "a.b.c"); the rest is the file. Records
// that parse must be objects whose every key has its column, and columns
// must be distinct without ASCII case.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "pipeline/lakehouse/json_records.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::lakehouse;
  if (size == 0) return 0;
  static constexpr std::string_view kPaths[] = {"", "data", "data.daily", "a.b.c"};
  const RawFormat format = (data[0] & 0x80) ? RawFormat::kNdjson : RawFormat::kJson;
  const std::string_view path = format == RawFormat::kJson ? kPaths[data[0] & 3] : "";
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto records = ParseJsonRecords(text, format, path);
  if (!records.ok()) {
    FUZZ_CHECK(!records.status().message().empty(), "an error without a message");
    return 0;
  }
  std::set<std::string> folded;
  for (const std::string& c : records->columns)
    FUZZ_CHECK(folded.insert(FoldCase(c)).second, "two columns named '%s' without case", c.c_str());
  FUZZ_CHECK(records->index.size() == records->columns.size(), "index of %zu, %zu columns",
             records->index.size(), records->columns.size());
  for (const auto& row : records->rows) {
    FUZZ_CHECK(row.is_object(), "a record that is no object");
    for (auto it = row.begin(); it != row.end(); ++it) {
      const int col = records->ColumnOf(it.key());
      FUZZ_CHECK(col >= 0 && col < static_cast<int>(records->columns.size()), "key '%s' has no column",
                 it.key().c_str());
      FUZZ_CHECK(FoldCase(records->columns[col]) == FoldCase(it.key()), "key '%s' in column '%s'",
                 it.key().c_str(), records->columns[col].c_str());
    }
  }
  return 0;
}
