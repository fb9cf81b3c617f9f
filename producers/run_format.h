// How workflow runs and schedules are shown to people (`sluice run`, `runs`,
// `status r…`, `cancel r…`, `schedules`, `pause`, `resume` without --json).
// Input is the broker's run object / schedule entries (PROTOCOL.md §6 "Run
// object", §6.11) as JSON; a missing or mistyped field is shown as absent,
// never an error. Times are ISO-8601 UTC; `now_ms` (Unix ms) dates what is
// still running.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace sluice {

// "queued, running, succeeded, failed, cancelled".
std::string RunStateNames();
bool IsRunState(const std::string& state);
// succeeded, failed or cancelled: the run will not change any more.
bool IsFinishedRunState(const std::string& state);

// "r12 running" — one line, for commands that start or change a run.
std::string FormatRunLine(const nlohmann::json& run);

// A stage's ERROR cell is the first line of its error, whole; a longer
// error adds "(more: sluice status j7)".
//
// The full view of one run (`status r12`, `cancel r12`): its fields, one a
// line, then a table: STAGE STATE JOB ATTEMPTS DURATION ERROR, then a line
// for each stage not yet run whose kind no connected worker announces
// (`kind_served` false): "r12: stage 'b' waits: no connected worker runs
// kind 'py.square' on queue 'default'".
std::string FormatRun(const nlohmann::json& run, std::int64_t now_ms);

// A table of runs, one a line: ID WORKFLOW STATE TRIGGER LOGICAL DATE STARTED
// DURATION; then the waiting-stage lines of FormatRun for every run.
std::string FormatRunTable(const nlohmann::json& runs, std::int64_t now_ms);

// The end of `run --wait`: a table STAGE KIND STATE ATTEMPTS DURATION ERROR,
// then "r12 succeeded in 1.234 s" (or the state it was last seen in).
std::string FormatRunSummary(const nlohmann::json& run, std::int64_t now_ms);

// A table of schedule entries: WORKFLOW SCHEDULE NEXT FIRE LAST FIRE PAUSED
// CATCH_UP ACTIVE RUNS ("active/max_active_runs"). A workflow without a
// schedule (manual runs only) shows "-". Then a line for each stage that no
// connected worker serves (`unserved_stages`): "daily: stage 'b': no
// connected worker runs kind 'py.square' on queue 'default'".
std::string FormatSchedules(const nlohmann::json& schedules);

// The live progress of `run --wait`. Update() takes each polled run object
// and returns the text to write:
// - on a terminal: the whole frame (a run line, then one line per stage:
//   name, state, attempt, duration), drawn over the previous one with ANSI
//   cursor-up and erase-down;
// - otherwise: one line per change since the last poll, e.g.
//   "extract running (attempt 1)", "extract succeeded in 1.234 s",
//   "load dead (attempt 3): <error>", then "r12 running" / "r12 succeeded"
//   when the run's state changes (the first update prints the run's state).
//   Stages still pending at the first update print nothing.
class RunProgress {
 public:
  explicit RunProgress(bool terminal) : terminal_(terminal) {}
  std::string Update(const nlohmann::json& run, std::int64_t now_ms);
  // The text to write before the summary: on a terminal, erases the last
  // frame (the summary says it all); otherwise a blank line.
  std::string Finish();

 private:
  bool terminal_;
  std::size_t lines_drawn_ = 0;                    // terminal: the last frame's height
  std::string run_state_;                          // lines: last seen
  std::map<std::string, std::string> stage_state_; // lines: stage name -> last seen state
};

}  // namespace sluice
