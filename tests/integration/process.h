// Process: one real child process started for a test (fork/exec), in its own
// process group, with its stdout and stderr captured to files.
//
// Contract: every Process started is killed (SIGKILL to its whole process
// group) and reaped when the object is destroyed, and -- for the cases where
// destructors do not run (a failed ASSERT in a helper, exit(), a fatal signal
// in the test) -- by an atexit/signal hook that kills every group still
// registered. Children also get PR_SET_PDEATHSIG = SIGKILL, so a test binary
// killed by ctest's timeout takes its children with it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sluice::testing {

struct ExitStatus {
  bool exited = false;    // true: normal exit with `code`
  int code = -1;          // exit code when exited
  int signal = 0;         // terminating signal when !exited
  std::string ToString() const;  // "exit 0", "signal 9"
};

class Process {
 public:
  // Starts argv[0] (a path) with argv. stdout and stderr go to
  // `<log_dir>/<name>.stdout` / `.stderr`; stdin is /dev/null. Aborts the
  // test binary (with a message) if fork/exec cannot even be attempted; an
  // exec failure shows up as exit code 127 and a line in the stderr file.
  Process(std::string name, std::vector<std::string> argv, const std::string& log_dir,
          std::vector<std::string> extra_env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }

  // Sends `sig` to the process itself (not its group). No-op once reaped.
  void Signal(int sig);
  // SIGKILL to the whole process group, then reap. Idempotent.
  void KillGroup();

  // True while the process has not exited (reaps it if it has).
  bool Running();
  // Waits until the process exits or `timeout` passes; nullopt on timeout.
  std::optional<ExitStatus> Wait(std::chrono::milliseconds timeout);
  // The exit status once reaped.
  std::optional<ExitStatus> status() const { return status_; }

  // The captured output so far (whole file; the last `max_bytes` of it).
  std::string Stdout(std::size_t max_bytes = 1 << 20) const;
  std::string Stderr(std::size_t max_bytes = 1 << 20) const;
  // "name (pid N, exit 0): <last lines of stderr>" for failure messages.
  std::string Describe(std::size_t tail_bytes = 4000);

 private:
  bool Reap(bool block);

  std::string name_;
  std::string stdout_path_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
};

// Runs a command to completion (for the CLI), killing it after `timeout`.
struct CommandResult {
  ExitStatus status;
  bool timed_out = false;
  std::string out;
  std::string err;
  std::string Describe() const;
};
CommandResult RunCommand(const std::string& name, std::vector<std::string> argv,
                         const std::string& log_dir, std::chrono::milliseconds timeout,
                         std::vector<std::string> extra_env = {});

// Reads the whole file, or its last `max_bytes`; "" when it does not exist.
std::string ReadFileTail(const std::string& path, std::size_t max_bytes = 1 << 20);

// True if `pid` names a live process (a zombie counts as gone).
bool PidAlive(pid_t pid);

}  // namespace sluice::testing
