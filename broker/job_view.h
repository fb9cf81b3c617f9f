// How a job looks to clients (STATUS, LIST, RETRY, CANCEL_JOB replies:
// PROTOCOL.md §6.2).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "broker/job.h"

namespace sluice::broker {

// `waiting`: why a queued job waits (JobLifecycle::WaitingReason), or "".
// `detail`: with params, outputs and attempts.
nlohmann::json JobJson(const JobRecord& r, bool detail, const std::string& waiting);

}  // namespace sluice::broker
