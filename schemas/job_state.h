// Job states, attempt outcomes and the one table of legal state changes.
// The same names are CHECK constraints in the state schema (state_schema.h)
// and strings on the wire.
//
//   scheduled --(run_at reached)--> queued --(dispatched)--> running
//   running --(succeeded)--> succeeded
//   running --(failed/timed_out, attempts left)--> scheduled (backoff)
//   running --(lost/returned)--> queued (at once)
//   running --(no attempts left)--> dead
//   scheduled|queued|running --(cancel)--> cancelled
//   scheduled|queued --(upstream died)--> upstream_failed
//   dead|cancelled|upstream_failed|scheduled --(manual retry)--> queued
#pragma once

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
  kUpstreamFailed,
};

enum class Outcome : std::uint8_t {
  kSucceeded,
  kFailed,
  kTimedOut,
  kLost,       // the worker went silent or away while running it
  kCancelled,
  kReturned,   // handed back unfinished by a worker shutting down; not counted
               // against max_attempts
};

std::string_view JobStateName(JobState s);
std::optional<JobState> ParseJobState(std::string_view name);
std::string_view OutcomeName(Outcome o);
std::optional<Outcome> ParseOutcome(std::string_view name);

bool IsTerminal(JobState s);
// True when `from -> to` is in the table above.
bool CanTransition(JobState from, JobState to);
// True when an attempt with this outcome counts against max_attempts.
bool CountsAsFailure(Outcome o);

}  // namespace sluice
