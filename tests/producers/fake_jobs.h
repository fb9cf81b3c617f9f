// A toy job table behind a FakeBroker, for CLI tests: enough of SUBMIT,
// STATUS, LIST, RETRY, CANCEL_JOB, WORKERS and STATS to drive every command.
// A job's fate is set by its kind:
//   "ok" -> succeeded, "fail" -> dead, "slow" -> running (forever),
//   "reject" -> the whole SUBMIT gets bad_request, anything else -> queued
//   (with a `waiting` reason).
// Ids are j1, j2, ... in submission order.
#pragma once

#include <memory>

#include "tests/producers/fake_broker.h"

namespace sluice::testing {

// The handler owns the table; it is used only on the broker's thread.
FakeBroker::Handler FakeJobsHandler();

}  // namespace sluice::testing
