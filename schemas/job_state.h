// Job states, attempt outcomes and the one table of legal state changes.
// The same names are CHECK constraints in the state schema (state_schema.h)
// and strings on the wire.
//
//   scheduled --(run_at reached, or retried by request)--> queued
//   queued --(dispatched)--> running
//   running --(succeeded)--> succeeded
//   running --(failed/timed_out, attempts left)--> scheduled (backoff)
//   running --(lost/returned)--> queued (at once)
//   running --(no attempts left, or not retryable)--> dead
//   scheduled|queued|running --(cancel)--> cancelled
//   dead|cancelled --(retried by request)--> queued
//
// Nothing else: kTransitions below is this diagram, and the broker checks
// every change against it in every build (JobLifecycle::Transition).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice {

enum class JobState : std::uint8_t {
  kScheduled,
  kQueued,
  kRunning,
  kSucceeded,
  kDead,
  kCancelled,
};
inline constexpr int kJobStateCount = 6;

enum class Outcome : std::uint8_t {
  kSucceeded,
  kFailed,
  kTimedOut,
  kLost,       // the worker went silent or away while running it
  kCancelled,
  kReturned,   // handed back unfinished by a worker shutting down; not counted
               // against max_attempts
};

// kTransitions[from][to]: the diagram above.
inline constexpr std::array<std::array<bool, kJobStateCount>, kJobStateCount> kTransitions = {{
    //  sched  queued running succ   dead   cancel
    {{false, true,  false,  false, false, true}},   // scheduled
    {{false, false, true,   false, false, true}},   // queued
    {{true,  true,  false,  true,  true,  true}},   // running
    {{false, false, false,  false, false, false}},  // succeeded
    {{false, true,  false,  false, false, false}},  // dead
    {{false, true,  false,  false, false, false}},  // cancelled
}};

std::string_view JobStateName(JobState s);
std::optional<JobState> ParseJobState(std::string_view name);
std::string_view OutcomeName(Outcome o);
std::optional<Outcome> ParseOutcome(std::string_view name);

constexpr bool IsTerminal(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kDead || s == JobState::kCancelled;
}
// True when `from -> to` is in the table above.
constexpr bool CanTransition(JobState from, JobState to) {
  return kTransitions[static_cast<int>(from)][static_cast<int>(to)];
}
// True when an attempt with this outcome counts against max_attempts.
bool CountsAsFailure(Outcome o);

}  // namespace sluice
