// How a job looks to clients (STATUS, LIST, RETRY, CANCEL_JOB replies:
// PROTOCOL.md §6.2): the typed job object of schemas/replies.h.
#pragma once

#include <string>

#include "broker/job.h"
#include "schemas/replies.h"

namespace sluice::broker {

// `waiting`: why a queued job waits (JobLifecycle::WaitingReason), or "".
// `detail`: with params, outputs and attempts.
proto::JobView JobViewOf(const JobRecord& r, bool detail, const std::string& waiting);

}  // namespace sluice::broker
