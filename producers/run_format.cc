#include "producers/run_format.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include "producers/reply_fields.h"
#include "producers/text_table.h"
#include "producers/time_format.h"

namespace sluice {
namespace {

using json = nlohmann::json;
using reply::Compact;
using reply::Get;
using reply::Int;
using reply::IsoTime;
using reply::Number;
using reply::Str;

constexpr const char* kRunStates[] = {"queued", "running", "succeeded", "failed", "cancelled"};



std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

// started_ms .. finished_ms (or now, while it runs); "" before it started.
std::string Duration(const json& obj, std::int64_t now_ms) {
  const auto started = Int(obj, "started_ms");
  if (!started) return {};
  const auto finished = Int(obj, "finished_ms");
  return FormatDurationMs((finished ? *finished : now_ms) - *started);
}

// The error explains a stage that ended badly; on a live one it is history.
// Its first line is shown whole; a longer error (an audit failure lists the
// offending rows) says where to read the rest.
std::string StageError(const json& stage) {
  const std::string state = Str(stage, "state");
  if (state == "succeeded") return {};
  const std::string error = Str(stage, "error");
  std::string line = FirstLine(error);
  const std::string job = Str(stage, "job");
  if (line.size() < error.size() && !job.empty()) line += " (more: sluice status " + job + ")";
  return line;
}

const json& Stages(const json& run) {
  static const json kNone = json::array();
  const json& stages = Get(run, "stages");
  return stages.is_array() ? stages : kNone;
}

// "r3: stage 'b' waits: no connected worker runs kind 'py.square' on queue
// 'default'", a line for each stage not yet run whose kind no connected
// worker announces (`kind_served` false).
std::string UnservedStageLines(const json& run) {
  std::string out;
  for (const json& s : Stages(run)) {
    const json& served = Get(s, "kind_served");
    const std::string state = Str(s, "state");
    if (!served.is_boolean() || served.get<bool>()) continue;
    if (state != "pending" && state != "queued" && state != "scheduled") continue;
    out += Str(run, "id") + ": stage '" + Str(s, "name") + "' waits: no connected worker runs kind '" +
           Str(s, "kind") + "' on queue '" + Str(s, "queue") + "'\n";
  }
  return out;
}

void RunField(std::ostringstream& out, const char* label, const std::string& value) {
  if (value.empty()) return;
  std::string l = label;
  l.resize(14, ' ');
  out << l << value << '\n';
}

}  // namespace

std::string RunStateNames() {
  std::string names;
  for (const char* s : kRunStates) names += (names.empty() ? "" : ", ") + std::string(s);
  return names;
}

bool IsRunState(const std::string& state) {
  for (const char* s : kRunStates)
    if (state == s) return true;
  return false;
}

bool IsFinishedRunState(const std::string& state) {
  return state == "succeeded" || state == "failed" || state == "cancelled";
}

std::string FormatRunLine(const json& run) { return Str(run, "id") + " " + Str(run, "state") + "\n"; }

std::string FormatRun(const json& run, std::int64_t now_ms) {
  std::ostringstream out;
  RunField(out, "id", Str(run, "id"));
  RunField(out, "workflow", Str(run, "workflow"));
  RunField(out, "state", Str(run, "state"));
  {
    std::string trigger = Str(run, "trigger");
    if (const std::string slot = Str(run, "slot"); !slot.empty()) trigger += " (slot " + slot + ")";
    RunField(out, "trigger", trigger);
  }
  RunField(out, "logical date", Str(run, "logical_date"));
  const json& params = Get(run, "params");
  if (params.is_object() && !params.empty()) RunField(out, "params", Compact(params));
  RunField(out, "created", IsoTime(run, "created_ms"));
  RunField(out, "started", IsoTime(run, "started_ms"));
  RunField(out, "finished", IsoTime(run, "finished_ms"));
  {
    std::string d = Duration(run, now_ms);
    if (!d.empty() && !Int(run, "finished_ms")) d += " so far";
    RunField(out, "duration", d);
  }
  const json& stages = Stages(run);
  if (!stages.empty()) {
    TextTable table({"STAGE", "STATE", "JOB", "ATTEMPTS", "DURATION", "ERROR"});
    for (const json& s : stages)
      table.AddRow({Str(s, "name"), Str(s, "state"), Str(s, "job"), Number(s, "attempt"),
                    Duration(s, now_ms), StageError(s)});
    out << '\n' << table.Render();
  }
  if (const std::string unserved = UnservedStageLines(run); !unserved.empty()) out << '\n' << unserved;
  return out.str();
}

std::string FormatRunTable(const json& runs, std::int64_t now_ms) {
  TextTable table({"ID", "WORKFLOW", "STATE", "TRIGGER", "LOGICAL DATE", "STARTED", "DURATION"});
  std::string unserved;
  if (runs.is_array())
    for (const json& r : runs) {
      table.AddRow({Str(r, "id"), Str(r, "workflow"), Str(r, "state"), Str(r, "trigger"),
                    Str(r, "logical_date"), IsoTime(r, "started_ms", false), Duration(r, now_ms)});
      unserved += UnservedStageLines(r);
    }
  return table.Render() + (unserved.empty() ? "" : "\n" + unserved);
}

std::string FormatRunSummary(const json& run, std::int64_t now_ms) {
  TextTable table({"STAGE", "KIND", "STATE", "ATTEMPTS", "DURATION", "ERROR"});
  for (const json& s : Stages(run))
    table.AddRow({Str(s, "name"), Str(s, "kind"), Str(s, "state"), Number(s, "attempt"),
                  Duration(s, now_ms), StageError(s)});
  std::string out = table.Render();
  out += Str(run, "id") + " " + Str(run, "state");
  if (const std::string d = Duration(run, now_ms); !d.empty())
    out += (Int(run, "finished_ms") ? " in " : " for ") + d;
  return out + "\n";
}

std::string FormatSchedules(const json& schedules) {
  TextTable table({"WORKFLOW", "SCHEDULE", "NEXT FIRE", "LAST FIRE", "PAUSED", "CATCH_UP", "ACTIVE RUNS"});
  std::string notes;  // stages no connected worker serves
  if (schedules.is_array()) {
    for (const json& s : schedules) {
      std::string schedule = Str(s, "schedule");
      const json& paused = Get(s, "paused");
      std::string active = Number(s, "active_runs");
      if (const std::string max = Number(s, "max_active_runs"); !max.empty())
        active += "/" + max;
      table.AddRow({Str(s, "workflow"), schedule.empty() ? "-" : schedule, Str(s, "next_fire"),
                    Str(s, "last_fire"), paused.is_boolean() ? (paused.get<bool>() ? "yes" : "no") : "",
                    Str(s, "catch_up"), active});
      const json& unserved = Get(s, "unserved_stages");
      if (!unserved.is_array()) continue;
      for (const json& u : unserved)
        notes += Str(s, "workflow") + ": stage '" + Str(u, "stage") + "': no connected worker runs kind '" +
                 Str(u, "kind") + "' on queue '" + Str(u, "queue") + "'\n";
    }
  }
  return table.Render() + (notes.empty() ? "" : "\n" + notes);
}

namespace {
// Up to the first line of a frame `lines` high, and erase down from there.
std::string EraseFrame(std::size_t lines) {
  return lines == 0 ? std::string() : "\x1b[" + std::to_string(lines) + "A\r\x1b[J";
}
}  // namespace

std::string RunProgress::Finish() {
  if (!terminal_) return "\n";
  std::string out = EraseFrame(lines_drawn_);
  lines_drawn_ = 0;
  return out;
}

std::string RunProgress::Update(const json& run, std::int64_t now_ms) {
  const json& stages = Stages(run);
  if (terminal_) {
    TextTable table({"STAGE", "STATE", "ATTEMPT", "DURATION"});
    for (const json& s : stages)
      table.AddRow({Str(s, "name"), Str(s, "state"), Number(s, "attempt"), Duration(s, now_ms)});
    std::string frame = Str(run, "id") + " " + Str(run, "workflow") + " " + Str(run, "state");
    if (const std::string d = Duration(run, now_ms); !d.empty()) frame += "  " + d;
    frame += "\n" + table.Render();
    std::string out = EraseFrame(lines_drawn_) + frame;
    lines_drawn_ = static_cast<std::size_t>(std::count(frame.begin(), frame.end(), '\n'));
    return out;
  }
  std::string out;
  const bool first = run_state_.empty();
  for (const json& s : stages) {
    const std::string name = Str(s, "name");
    const std::string state = Str(s, "state");
    const std::string attempt = Number(s, "attempt");
    const std::string seen = state + "#" + attempt;
    auto it = stage_state_.find(name);
    if (it != stage_state_.end() && it->second == seen) continue;
    const bool quiet = it == stage_state_.end() && first && state == "pending";
    stage_state_[name] = seen;
    if (quiet) continue;
    std::string line = name + " " + state;
    if (!attempt.empty() && attempt != "0") line += " (attempt " + attempt + ")";
    if (Int(s, "finished_ms")) {
      if (const std::string d = Duration(s, now_ms); !d.empty()) line += " in " + d;
    }
    if (const std::string e = StageError(s); !e.empty()) line += ": " + e;
    out += line + "\n";
  }
  const std::string state = Str(run, "state");
  if (state != run_state_) {
    out += Str(run, "id") + " " + state + "\n";
    run_state_ = state.empty() ? "?" : state;
  }
  return out;
}

}  // namespace sluice
