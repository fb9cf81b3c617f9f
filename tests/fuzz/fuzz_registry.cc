// Registry fuzzer: workflow registry text (TOML, registry.h) through
// ParseRegistry. A registry that loads must hold what registry.h promises:
// workflows sorted by name, valid names, each stage after the stages it
// depends on; its cron schedules answer, and each stage's params expand
// (stage_template.h) the way the broker expands them for a run.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "pipeline/workflows/registry.h"
#include "pipeline/workflows/stage_template.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::workflows;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto reg = ParseRegistry(text, "fuzz.toml");
  if (!reg.ok()) {
    FUZZ_CHECK(!reg.status().message().empty(), "an error without a message");
    return 0;
  }
  const WorkflowDef* prev = nullptr;
  for (const WorkflowDef& w : reg->workflows) {
    FUZZ_CHECK(IsValidRegistryName(w.name), "workflow name '%s'", w.name.c_str());
    FUZZ_CHECK(prev == nullptr || prev->name < w.name, "workflows not sorted/unique: %s", w.name.c_str());
    FUZZ_CHECK(reg->Find(w.name) == &w, "Find(%s)", w.name.c_str());
    FUZZ_CHECK(w.max_active_runs >= 1 && w.max_active_runs <= 1000, "max_active_runs %u", w.max_active_runs);
    FUZZ_CHECK(w.cron.has_value() == !w.schedule.empty(), "schedule '%s' vs cron", w.schedule.c_str());
    if (w.cron) (void)w.cron->NextAfter(1700000000);
    prev = &w;

    std::set<std::string> seen;
    for (const StageDef& st : w.stages) {
      FUZZ_CHECK(IsValidRegistryName(st.name), "stage name '%s'", st.name.c_str());
      for (const std::string& d : st.depends_on)
        FUZZ_CHECK(seen.count(d) == 1, "stage %s before its dependency %s", st.name.c_str(), d.c_str());
      FUZZ_CHECK(seen.insert(st.name).second, "duplicate stage %s", st.name.c_str());
      FUZZ_CHECK(w.FindStage(st.name) == &st, "FindStage(%s)", st.name.c_str());
    }

    auto vars = RunVariables("2024-03-15", "r1", w.name, w.params, {});
    if (!vars.ok()) continue;  // e.g. a `date` default that pins no real day
    for (const StageDef& st : w.stages) {
      const nlohmann::json out = ExpandStageParams(st.params, *vars, st.kind);
      FUZZ_CHECK(out.type() == st.params.type(), "expansion changed the params' type");
      if (st.kind == "extract.http" && out.is_object())
        FUZZ_CHECK(out.contains("date"), "extract.http params without a date");
      (void)out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  return 0;
}
