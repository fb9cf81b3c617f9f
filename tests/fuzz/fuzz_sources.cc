// sources.toml fuzzer: a models folder's raw-source declarations
// (raw_source.h) through ParseSources. What parses must name valid,
// distinct raw tables, with a glob and, for json only, a records path.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "pipeline/lakehouse/raw_source.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::lakehouse;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sources = ParseSources(text, "sources.toml");
  if (!sources.ok()) {
    FUZZ_CHECK(!sources.status().message().empty(), "an error without a message");
    return 0;
  }
  std::set<std::string> tables;
  for (const RawSource& s : *sources) {
    FUZZ_CHECK(IsValidRawTableName(s.table), "table '%s'", s.table.c_str());
    FUZZ_CHECK(tables.insert(s.table).second, "table '%s' twice", s.table.c_str());
    FUZZ_CHECK(!s.glob.empty(), "table '%s' without a glob", s.table.c_str());
    FUZZ_CHECK(s.glob[0] != '/', "glob '%s' is absolute", s.glob.c_str());
    for (std::size_t i = 0; i <= s.glob.size();) {
      std::size_t j = s.glob.find('/', i);
      if (j == std::string::npos) j = s.glob.size();
      const std::string_view seg = std::string_view(s.glob).substr(i, j - i);
      FUZZ_CHECK(seg != "." && seg != "..", "glob '%s' leaves the landing dir", s.glob.c_str());
      i = j + 1;
    }
    FUZZ_CHECK(s.records.empty() || s.format == RawFormat::kJson, "records path on a non-json source");
    FUZZ_CHECK(ParseRawFormat(RawFormatName(s.format)) == s.format, "format name round trip");
  }
  return 0;
}
