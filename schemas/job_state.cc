#include "schemas/job_state.h"

#include <array>

namespace sluice {
namespace {

constexpr std::array<std::string_view, kJobStateCount> kStateNames = {
    "scheduled", "queued", "running", "succeeded", "dead", "cancelled"};
constexpr std::array<std::string_view, 6> kOutcomeNames = {
    "succeeded", "failed", "timed_out", "lost", "cancelled", "returned"};

}  // namespace

std::string_view JobStateName(JobState s) { return kStateNames[static_cast<int>(s)]; }

std::optional<JobState> ParseJobState(std::string_view name) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i)
    if (kStateNames[i] == name) return static_cast<JobState>(i);
  return std::nullopt;
}

std::string_view OutcomeName(Outcome o) { return kOutcomeNames[static_cast<int>(o)]; }

std::optional<Outcome> ParseOutcome(std::string_view name) {
  for (std::size_t i = 0; i < kOutcomeNames.size(); ++i)
    if (kOutcomeNames[i] == name) return static_cast<Outcome>(i);
  return std::nullopt;
}

bool CountsAsFailure(Outcome o) {
  return o == Outcome::kFailed || o == Outcome::kTimedOut || o == Outcome::kLost;
}

}  // namespace sluice
