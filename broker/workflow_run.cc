#include "broker/workflow_run.h"

#include <array>
#include <utility>

namespace sluice::broker {
namespace {

constexpr std::array<std::pair<RunPhase, const char*>, 5> kPhases = {{
    {RunPhase::kQueued, "queued"},
    {RunPhase::kRunning, "running"},
    {RunPhase::kSucceeded, "succeeded"},
    {RunPhase::kFailed, "failed"},
    {RunPhase::kCancelled, "cancelled"},
}};
constexpr std::array<std::pair<StageState, const char*>, 6> kStageStates = {{
    {StageState::kPending, "pending"},
    {StageState::kSubmitted, "submitted"},
    {StageState::kSucceeded, "succeeded"},
    {StageState::kDead, "dead"},
    {StageState::kCancelled, "cancelled"},
    {StageState::kUpstreamFailed, "upstream_failed"},
}};

bool Failed(StageState s) {
  return s == StageState::kDead || s == StageState::kCancelled;
}

}  // namespace

const char* RunPhaseName(RunPhase p) {
  for (const auto& [v, n] : kPhases)
    if (v == p) return n;
  return "?";
}

bool ParseRunPhase(std::string_view s, RunPhase* out) {
  for (const auto& [v, n] : kPhases)
    if (s == n) return *out = v, true;
  return false;
}

const char* StageStateName(StageState s) {
  for (const auto& [v, n] : kStageStates)
    if (v == s) return n;
  return "?";
}

bool ParseStageState(std::string_view s, StageState* out) {
  for (const auto& [v, n] : kStageStates)
    if (s == n) return *out = v, true;
  return false;
}

int WorkflowRun::FindStage(std::string_view name) const {
  for (std::size_t i = 0; i < stages.size(); ++i)
    if (stages[i].def.name == name) return static_cast<int>(i);
  return -1;
}

std::vector<int> WorkflowRun::ReadyStages() const {
  std::vector<int> out;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    if (stages[i].state != StageState::kPending) continue;
    bool ready = true;
    for (const std::string& d : stages[i].def.depends_on) {
      int k = FindStage(d);
      if (k < 0 || stages[k].state != StageState::kSucceeded) ready = false;
    }
    if (ready) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::vector<int> WorkflowRun::FailDownstream(int failed) {
  // Stages come after their dependencies, so one pass in order reaches the
  // whole downstream cone.
  std::vector<bool> down(stages.size(), false);
  down[failed] = true;
  std::vector<int> changed;
  for (std::size_t i = failed + 1; i < stages.size(); ++i) {
    for (const std::string& d : stages[i].def.depends_on) {
      int k = FindStage(d);
      if (k >= 0 && down[k]) down[i] = true;
    }
    if (down[i] && stages[i].state == StageState::kPending) {
      stages[i].state = StageState::kUpstreamFailed;
      changed.push_back(static_cast<int>(i));
    }
  }
  return changed;
}

std::vector<int> WorkflowRun::ClearUpstreamFailed() {
  std::vector<bool> blocked(stages.size(), false);  // a failed stage is upstream (or it is one)
  std::vector<int> changed;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    if (Failed(stages[i].state)) blocked[i] = true;
    for (const std::string& d : stages[i].def.depends_on) {
      int k = FindStage(d);
      if (k >= 0 && blocked[k]) blocked[i] = true;
    }
    if (stages[i].state == StageState::kUpstreamFailed && !blocked[i]) {
      stages[i].state = StageState::kPending;
      changed.push_back(static_cast<int>(i));
    }
  }
  return changed;
}

bool WorkflowRun::AllSucceeded() const {
  for (const StageRun& s : stages)
    if (s.state != StageState::kSucceeded) return false;
  return true;
}

bool WorkflowRun::AnySubmitted() const {
  for (const StageRun& s : stages)
    if (s.state == StageState::kSubmitted) return true;
  return false;
}

nlohmann::json DefinitionJson(const workflows::WorkflowDef& w) {
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& s : w.stages)
    stages.push_back({{"name", s.name},
                      {"kind", s.kind},
                      {"queue", s.queue},
                      {"params", s.params},
                      {"depends_on", s.depends_on},
                      {"timeout_ms", s.timeout_ms},
                      {"max_attempts", s.max_attempts},
                      {"backoff_ms", s.backoff_ms}});
  return {{"max_active_runs", w.max_active_runs}, {"stages", stages}};
}

Result<WorkflowRun> RestoreRun(RunRow row, const std::vector<StageRow>& stage_rows) {
  WorkflowRun run;
  if (!ParseRunPhase(row.state, &run.phase))
    return Status::Corruption("run r" + std::to_string(row.seq) + ": unknown state " + row.state);
  try {
    nlohmann::json def = nlohmann::json::parse(row.definition);
    nlohmann::json vars = nlohmann::json::parse(row.params);
    run.max_active_runs = def.value("max_active_runs", 1u);
    for (const auto& s : def.at("stages")) {
      StageRun st;
      st.def.name = s.at("name").get<std::string>();
      st.def.kind = s.at("kind").get<std::string>();
      st.def.queue = s.value("queue", std::string("default"));
      st.def.params = s.value("params", nlohmann::json::object());
      st.def.depends_on = s.value("depends_on", std::vector<std::string>{});
      st.def.timeout_ms = s.value("timeout_ms", std::uint64_t{0});
      st.def.max_attempts = s.value("max_attempts", std::uint32_t{0});
      st.def.backoff_ms = s.value("backoff_ms", std::uint64_t{0});
      run.stages.push_back(std::move(st));
    }
    for (auto it = vars.begin(); it != vars.end(); ++it)
      run.vars[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
  } catch (const std::exception& e) {
    return Status::Corruption("run r" + std::to_string(row.seq) + ": " + e.what());
  }
  for (const StageRow& r : stage_rows) {
    int i = run.FindStage(r.stage);
    if (i < 0) continue;
    if (!ParseStageState(r.state, &run.stages[i].state))
      return Status::Corruption("run r" + std::to_string(row.seq) + ": unknown stage state " + r.state);
    run.stages[i].job_seq = r.job_seq;
  }
  run.row = std::move(row);
  return run;
}

WorkflowRun NewRun(const workflows::WorkflowDef& w, RunRow row) {
  WorkflowRun run;
  run.row = std::move(row);
  run.phase = RunPhase::kQueued;
  run.max_active_runs = w.max_active_runs;
  for (const auto& s : w.stages) run.stages.push_back({s, StageState::kPending, 0});
  return run;
}

}  // namespace sluice::broker
