#include "workers/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "workers/output_tail.h"

namespace sluice::worker {
namespace {

// After the child is gone, how long its output may still take to reach EOF
// (something outside its process group may hold the pipes).
constexpr std::chrono::milliseconds kOutputDrainLimit{500};

// What the child writes to the status pipe when it cannot run the program.
// Nothing arrives (EOF at exec, the pipe is close-on-exec) when it can.
struct ChildFailure {
  int stage;
  int error;  // errno
};
enum : int { kStageSetup = 1, kStageChdir = 2, kStageExec = 3 };

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int* out() { return &fd_; }

 private:
  int fd_ = -1;
};

std::string Errno(int e) { return std::strerror(e); }

// Everything the child needs, prepared before fork: after fork in a
// multi-threaded process only async-signal-safe calls are allowed, so no
// allocation, no locks, no C++ library calls beyond plain loads.
struct ChildPlan {
  const char* path;
  char* const* argv;
  char* const* envp;
  const char* cwd;  // nullptr: keep the worker's
  int stdin_fd, stdout_fd, stderr_fd, status_fd;
  pid_t parent;
  sigset_t empty_mask;
  struct sigaction default_action;
};

[[noreturn]] void FailInChild(const ChildPlan& p, int stage) {
  ChildFailure f{stage, errno};
  ssize_t ignored = ::write(p.status_fd, &f, sizeof f);
  (void)ignored;
  ::_exit(127);
}

// The program's side of the double fork: it stays in the supervisor's
// process group, starts with a clean signal state (nothing blocked or
// ignored; the worker ignores SIGPIPE, the supervisor the stop signals) and
// dies if the supervisor does.
[[noreturn]] void ExecInChild(const ChildPlan& p) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGUSR1}) ::sigaction(sig, &p.default_action, nullptr);
  ::sigprocmask(SIG_SETMASK, &p.empty_mask, nullptr);
  if (::dup2(p.stdin_fd, 0) < 0 || ::dup2(p.stdout_fd, 1) < 0 || ::dup2(p.stderr_fd, 2) < 0)
    FailInChild(p, kStageSetup);
  // Whatever else the worker has open must not leak into the program; the
  // status pipe stays open until exec succeeds.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  if (p.cwd != nullptr && ::chdir(p.cwd) != 0) FailInChild(p, kStageChdir);
  ::execve(p.path, p.argv, p.envp);
  FailInChild(p, kStageExec);
}

// Kills the supervisor's whole process group (itself included): the worker
// is gone, so is everything the job started.
void OnWorkerDeath(int) { ::kill(0, SIGKILL); }

// The forked child is a small supervisor, so that nothing a job starts
// outlives the worker — not even when the worker is SIGKILLed, which no
// cleanup code of its own survives. It leads the job's process group and
// forks the program into it; PR_SET_PDEATHSIG tells it when the worker
// (the forking thread) dies, and it then kills the group. It ignores the
// stop signals the worker sends the group (the program decides how to
// stop; SIGKILL ends both) and exits with the program's status, so the
// worker sees the program's exit code or signal. Async-signal-safe calls
// only: this is a fork of a multi-threaded process.
[[noreturn]] void SuperviseInChild(const ChildPlan& p) {
  if (::setpgid(0, 0) != 0) FailInChild(p, kStageSetup);
  struct sigaction act {};
  sigemptyset(&act.sa_mask);
  act.sa_handler = SIG_IGN;
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::sigaction(sig, &act, nullptr);
  act.sa_handler = OnWorkerDeath;
  ::sigaction(SIGUSR1, &act, nullptr);
  ::sigprocmask(SIG_SETMASK, &p.empty_mask, nullptr);
  if (::prctl(PR_SET_PDEATHSIG, SIGUSR1) != 0) FailInChild(p, kStageSetup);
  if (::getppid() != p.parent) OnWorkerDeath(0);  // the worker died before prctl took effect
  const pid_t program = ::fork();
  if (program < 0) FailInChild(p, kStageSetup);
  if (program == 0) ExecInChild(p);
  // The pipes are the program's now (the worker reads EOF when it is done).
  ::close_range(3, ~0U, 0);
  int status = 0;
  while (::waitpid(program, &status, 0) < 0) {
    if (errno != EINTR) ::_exit(127);
  }
  if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
  // The program died of a signal: die of the same one.
  const int sig = WTERMSIG(status);
  ::sigaction(sig, &p.default_action, nullptr);
  ::kill(::getpid(), sig);
  ::_exit(128 + sig);
}

// Reads what is waiting on a non-blocking pipe into `tail`. Returns false at
// EOF (or on an error, which ends the stream just the same).
bool DrainPipe(int fd, OutputTail* tail) {
  char buf[65536];
  for (int i = 0; i < 16; ++i) {  // bounded, so one chatty stream cannot starve the loop
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      tail->Append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
  return true;
}

bool HasExited(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

// Polls the output pipes (and optionally more fds) once; drains what is
// readable and closes a pipe at EOF.
void PollOutput(Fd* out, OutputTail* out_tail, Fd* err, OutputTail* err_tail, pollfd* extra,
                int extra_n, int timeout_ms) {
  pollfd fds[4] = {{out->get(), POLLIN, 0}, {err->get(), POLLIN, 0}, {-1, 0, 0}, {-1, 0, 0}};
  for (int i = 0; i < extra_n; ++i) fds[2 + i] = extra[i];
  if (::poll(fds, static_cast<nfds_t>(2 + extra_n), timeout_ms) < 0) {
    for (int i = 0; i < extra_n; ++i) extra[i].revents = 0;
    return;  // EINTR: the caller looks again
  }
  if (fds[0].revents != 0 && !DrainPipe(out->get(), out_tail)) out->Reset();
  if (fds[1].revents != 0 && !DrainPipe(err->get(), err_tail)) err->Reset();
  for (int i = 0; i < extra_n; ++i) extra[i].revents = fds[2 + i].revents;
}

// A NULL-terminated array of pointers into `strings` (which must outlive
// it), as execve takes argv and envp.
std::vector<char*> CStringArray(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// The child's stdin (/dev/null), its output pipes and the status pipe, all
// close-on-exec; the child dup2s the ends it keeps.
struct ChildFds {
  Fd devnull, out_r, out_w, err_r, err_w, status_r, status_w;
};

Status OpenChildFds(ChildFds* fds) {
  fds->devnull = Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, status_pipe[2] = {-1, -1};
  const bool piped = ::pipe2(out_pipe, O_CLOEXEC) == 0 && ::pipe2(err_pipe, O_CLOEXEC) == 0 &&
                     ::pipe2(status_pipe, O_CLOEXEC) == 0;
  const int pipe_errno = errno;
  fds->out_r = Fd(out_pipe[0]), fds->out_w = Fd(out_pipe[1]);
  fds->err_r = Fd(err_pipe[0]), fds->err_w = Fd(err_pipe[1]);
  fds->status_r = Fd(status_pipe[0]), fds->status_w = Fd(status_pipe[1]);
  if (fds->devnull.get() < 0 || !piped)
    return Status::IOError("cannot create pipes for the child: " + Errno(pipe_errno));
  return Status::Ok();
}

ChildPlan MakePlan(const ChildCommand& command, const std::vector<char*>& argv,
                   const std::vector<char*>& envp, const ChildFds& fds) {
  ChildPlan plan{};
  plan.path = command.path.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.cwd = command.cwd.empty() ? nullptr : command.cwd.c_str();
  plan.stdin_fd = fds.devnull.get();
  plan.stdout_fd = fds.out_w.get();
  plan.stderr_fd = fds.err_w.get();
  plan.status_fd = fds.status_w.get();
  plan.parent = ::getpid();
  sigemptyset(&plan.empty_mask);
  plan.default_action.sa_handler = SIG_DFL;
  sigemptyset(&plan.default_action.sa_mask);
  return plan;
}

// Waits for the status pipe's EOF (the program was exec'd: OK) or the
// child's ChildFailure; then the child is reaped and the error says which
// step failed.
Status AwaitExec(pid_t pid, int status_r, const ChildCommand& command) {
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(status_r, &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof failure)) return Status::Ok();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  switch (failure.stage) {
    case kStageChdir:
      return Status::IOError("cannot change directory to '" + command.cwd + "': " + Errno(failure.error));
    case kStageExec:
      return Status::IOError("cannot execute '" + command.path + "': " + Errno(failure.error));
    default:
      return Status::IOError("cannot set up the child process: " + Errno(failure.error));
  }
}

// The child's output, collected while it runs and after.
struct ChildOutput {
  ChildOutput(Fd* out, Fd* err) : out_r(out), err_r(err) {}
  Fd* out_r;
  Fd* err_r;
  OutputTail out_tail, err_tail;
  void Poll(pollfd* extra, int extra_n, int timeout_ms) {
    PollOutput(out_r, &out_tail, err_r, &err_tail, extra, extra_n, timeout_ms);
  }
};

// Collects output until the child exits. When `cancel` stops, the group gets
// SIGTERM (and SIGCONT), then SIGKILL `kill_grace` later. Returns why the
// worker stopped it (kNone: the program ended by itself).
StopReason WatchUntilExit(pid_t pid, const CancelToken& cancel, std::chrono::milliseconds kill_grace,
                          ChildOutput* output) {
  // A pidfd becomes readable when the child exits; without one (kernels
  // before 5.3) the loop looks every few milliseconds instead.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  StopReason stop = StopReason::kNone;
  Clock::time_point kill_at = Clock::time_point::max();
  bool sent_sigkill = false;
  bool exited = false;
  while (!exited) {
    Clock::time_point now = Clock::now();
    if (stop == StopReason::kNone) {
      stop = cancel.reason();
      if (stop != StopReason::kNone) {
        // SIGCONT too: a stopped process would hold SIGTERM pending
        // until SIGKILL; continued, it can act on it.
        ::kill(-pid, SIGTERM);
        ::kill(-pid, SIGCONT);
        kill_at = now + kill_grace;
      }
    }
    if (stop != StopReason::kNone && !sent_sigkill && now >= kill_at) {
      ::kill(-pid, SIGKILL);
      sent_sigkill = true;
    }
    Clock::time_point wake = stop == StopReason::kNone ? cancel.deadline()
                             : sent_sigkill           ? Clock::time_point::max()
                                                      : kill_at;
    int timeout = PollTimeoutMs(now, wake);
    if (pidfd.get() < 0) timeout = std::min(timeout, 20);
    pollfd extra[2] = {{pidfd.get(), POLLIN, 0},
                       {stop == StopReason::kNone ? cancel.fd() : -1, POLLIN, 0}};
    output->Poll(extra, 2, timeout);
    exited = pidfd.get() >= 0 ? (extra[0].revents & POLLIN) != 0 : HasExited(pid);
  }
  return stop;
}

// Kills what is left of the exited child's group, reaps the child and reads
// its output to the end (at most kOutputDrainLimit). Returns its wait status.
int ReapAndDrain(pid_t pid, ChildOutput* output) {
  // The child is a zombie now, so its pid (= the group id) cannot be reused:
  // killing the group here hits only what the program left behind.
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}

  const Clock::time_point drain_end = Clock::now() + kOutputDrainLimit;
  while (output->out_r->get() >= 0 || output->err_r->get() >= 0) {
    Clock::time_point now = Clock::now();
    if (now >= drain_end) break;
    output->Poll(nullptr, 0, PollTimeoutMs(now, drain_end));
  }
  return status;
}

}  // namespace

ChildExit RunChild(const ChildCommand& command, const CancelToken& cancel,
                   std::chrono::milliseconds kill_grace) {
  ChildExit result;
  const std::vector<char*> argv = CStringArray(command.argv);
  const std::vector<char*> envp = CStringArray(command.env);
  ChildFds fds;
  if (result.status = OpenChildFds(&fds); !result.status.ok()) return result;
  const ChildPlan plan = MakePlan(command, argv, envp, fds);

  const pid_t pid = ::fork();
  if (pid < 0) {
    result.status = Status::IOError("fork failed: " + Errno(errno));
    return result;
  }
  if (pid == 0) SuperviseInChild(plan);

  fds.out_w.Reset();
  fds.err_w.Reset();
  fds.status_w.Reset();
  fds.devnull.Reset();
  ::setpgid(pid, pid);  // also done by the child; fails harmlessly once it has exec'd
  if (result.status = AwaitExec(pid, fds.status_r.get(), command); !result.status.ok()) return result;
  fds.status_r.Reset();
  result.pid = pid;

  ::fcntl(fds.out_r.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(fds.err_r.get(), F_SETFL, O_NONBLOCK);
  ChildOutput output(&fds.out_r, &fds.err_r);
  result.stopped_by = WatchUntilExit(pid, cancel, kill_grace, &output);
  const int status = ReapAndDrain(pid, &output);
  if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
    result.exit_code = -result.signal;
  } else {
    result.exit_code = WEXITSTATUS(status);
  }
  result.stdout_tail = output.out_tail.str();
  result.stderr_tail = output.err_tail.str();
  return result;
}

}  // namespace sluice::worker
