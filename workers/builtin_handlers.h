// The built-in handlers, one file each (handler_<kind>.cc). They are wired
// to their kinds in handler_table.cc; see handler.h for the contract.
#pragma once

#include "workers/handler.h"

namespace sluice::worker {

// exec: runs a program. params: command (str, required; a bare name is
// looked up in PATH), args ([str]), env ({str: str}, added to the worker's
// environment), cwd (str). The child gets its own process group; a stop
// (timeout, CANCEL, shutdown) kills the whole group: SIGTERM, then SIGKILL
// after kExecKillGraceMs. When the program exits, whatever it left running
// in its group is killed too. Non-zero exit = failed; exit_code is the exit
// status, or -N when killed by signal N.
void RunExec(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);
inline constexpr int kExecKillGraceMs = 2000;

// test.noop: succeeds at once.
void RunTestNoop(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);

// test.sleep: params ms (uint, required). Sleeps that long unless stopped.
void RunTestSleep(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);

// test.fail: params succeed_on (int, required). Attempts numbered below
// succeed_on fail (retryable), later ones succeed.
void RunTestFail(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);

// test.crash: aborts the whole worker process (std::abort), for recovery tests.
void RunTestCrash(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);

}  // namespace sluice::worker
