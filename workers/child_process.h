// Running one program as a child in its own process group, and waiting for
// it while collecting the tails of its output.
//
// RunChild blocks the calling thread for the child's whole life. That thread
// must outlive the child: the child is a small supervisor that leads the
// job's process group and runs the program in it; it gets PR_SET_PDEATHSIG,
// which fires when the thread that forked it exits, and then kills the whole
// group — so the program and everything it started die with the worker,
// even a SIGKILLed one. The worker's slot threads live as long as the
// process. (Processes that leave the group, e.g. with setsid, escape.)
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "schemas/status.h"
#include "workers/cancel_token.h"

namespace sluice::worker {

struct ChildCommand {
  std::string path;               // the program; contains a '/' (see FindExecutable)
  std::vector<std::string> argv;  // argv[0] first
  std::vector<std::string> env;   // "NAME=value": the child's whole environment
  std::string cwd;                // empty: the worker's own
};

struct ChildExit {
  // Not ok: the child never ran the program (pipe/fork failed, cwd or
  // exec refused); the message says which. The other fields are then unset.
  Status status;
  pid_t pid = 0;
  int exit_code = 0;   // the exit status, or -N when killed by signal N
  int signal = 0;      // N when killed by a signal, else 0
  // Why the worker killed the group; kNone when the program ended by itself.
  StopReason stopped_by = StopReason::kNone;
  std::string stdout_tail;  // the last proto::kMaxTailBytes of each stream
  std::string stderr_tail;
};

// Forks, puts the child in a new process group (pgid = its pid), gives it
// /dev/null as stdin and pipes as stdout/stderr, and execs `command`. Then
// waits until the child exits or `cancel` stops (reason or deadline): on a
// stop the whole group gets SIGTERM, and SIGKILL `kill_grace` later if the
// child is still there. When the child is gone, the rest of its group is
// SIGKILLed (nothing it started outlives the job), it is reaped, and its
// output read to the end (bounded wait, in case something outside the group
// holds the pipes).
ChildExit RunChild(const ChildCommand& command, const CancelToken& cancel,
                   std::chrono::milliseconds kill_grace);

}  // namespace sluice::worker
