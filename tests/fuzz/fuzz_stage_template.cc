// Stage template fuzzer: stage params and their {var} expansion
// (stage_template.h), as a run expands them before it submits a stage.
//
// Input: byte 0 picks the stage kind (extract.http or load); the rest is
// a line of text, then a JSON document. The line is a run parameter (the
// `date` override when byte 0 is odd, else `region`) and also a template of
// its own (ExpandTemplate); the document is the stage's params. Params
// nested deeper than toml++ allows in a registry (256) are skipped: the
// registry cannot produce them.
//
// Checked: expansion keeps the shape (type, keys, array lengths) of the
// params; an extract.http object always carries a date; text without '{'
// expands to itself.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pipeline/workflows/stage_template.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using nlohmann::json;

// At most `max` levels of brackets (counted inside strings too: an over-estimate).
bool ShallowerThan(std::string_view text, int max) {
  int depth = 0;
  for (char c : text) {
    if (c == '[' || c == '{') {
      if (++depth > max) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

void SameShape(const json& in, const json& out, bool top_extract) {
  FUZZ_CHECK(in.type() == out.type() || (in.is_string() && out.is_string()), "type changed");
  if (in.is_array()) {
    FUZZ_CHECK(in.size() == out.size(), "array of %zu became %zu", in.size(), out.size());
    for (std::size_t i = 0; i < in.size(); ++i) SameShape(in[i], out[i], false);
  } else if (in.is_object()) {
    for (auto it = in.begin(); it != in.end(); ++it) {
      FUZZ_CHECK(out.contains(it.key()), "key '%s' lost", it.key().c_str());
      SameShape(it.value(), out[it.key()], false);
    }
    FUZZ_CHECK(out.size() == in.size() || (top_extract && out.size() == in.size() + 1),
               "object of %zu keys became %zu", in.size(), out.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::workflows;
  if (size == 0) return 0;
  const std::string_view kind = (data[0] & 2) ? "extract.http" : "load";
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t nl = rest.find('\n');
  const std::string line(rest.substr(0, nl));
  const std::string_view doc = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);

  std::map<std::string, std::string> overrides;
  overrides[(data[0] & 1) ? "date" : "region"] = line;
  const json defaults = {{"region", "all"}, {"limit", 10}};
  auto vars = RunVariables("2024-03-15", "r7", "coffee", defaults, overrides);
  if (!vars.ok()) {
    FUZZ_CHECK(data[0] & 1, "RunVariables refused region '%s': %s", line.c_str(),
               vars.status().message().c_str());
    FUZZ_CHECK(!IsCalendarDate(line), "date '%s' refused: %s", line.c_str(), vars.status().message().c_str());
    return 0;
  }
  FUZZ_CHECK(IsCalendarDate(vars->at("date")), "date '%s'", vars->at("date").c_str());

  const std::string expanded = ExpandTemplate(line, *vars);
  if (line.find('{') == std::string::npos)
    FUZZ_CHECK(expanded == line, "text without a template changed");

  if (!ShallowerThan(doc, 256)) return 0;
  const json params = json::parse(doc, nullptr, /*allow_exceptions=*/false);
  if (params.is_discarded()) return 0;
  const json out = ExpandStageParams(params, *vars, kind);
  SameShape(params, out, kind == "extract.http" && params.is_object());
  if (kind == "extract.http" && params.is_object())
    FUZZ_CHECK(out.contains("date"), "extract.http params without a date");
  (void)out.dump(-1, ' ', false, json::error_handler_t::replace);
  return 0;
}
