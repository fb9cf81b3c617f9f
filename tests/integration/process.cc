#include "tests/integration/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace sluice::testing {
namespace {

// Live process groups, in a fixed table so that the signal handler can walk
// it without allocating or locking.
constexpr std::size_t kMaxChildren = 512;
std::array<std::atomic<pid_t>, kMaxChildren> g_children{};

void KillAllChildren() {
  for (auto& slot : g_children) {
    pid_t pid = slot.load();
    if (pid > 0) ::kill(-pid, SIGKILL);
  }
}

void OnFatalSignal(int sig) {
  KillAllChildren();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void InstallHooksOnce() {
  static bool installed = [] {
    std::atexit(KillAllChildren);
    // SIGSEGV is left to the sanitizers; PDEATHSIG covers that case.
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT}) {
      struct sigaction sa {};
      sa.sa_handler = OnFatalSignal;
      sigemptyset(&sa.sa_mask);
      ::sigaction(sig, &sa, nullptr);
    }
    // A write to a dead socket must be an error, not a dead test.
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)installed;
}

void Register(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return;
  }
  std::fprintf(stderr, "process harness: more than %zu live children\n", kMaxChildren);
  std::abort();
}

void Unregister(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

ExitStatus FromWaitStatus(int ws) {
  ExitStatus s;
  if (WIFEXITED(ws)) {
    s.exited = true;
    s.code = WEXITSTATUS(ws);
  } else if (WIFSIGNALED(ws)) {
    s.signal = WTERMSIG(ws);
  }
  return s;
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (exited) return "exit " + std::to_string(code);
  return "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

std::string ReadFileTail(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  std::streamoff start = size > static_cast<std::streamoff>(max_bytes)
                             ? size - static_cast<std::streamoff>(max_bytes)
                             : 0;
  in.seekg(start);
  std::string out(static_cast<std::size_t>(size - start), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return out;
}

bool PidAlive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0) return errno == EPERM;
  // A zombie still answers kill(0); it is gone for our purposes.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return true;
  char state = line[paren + 2];
  return state != 'Z' && state != 'X';
}

Process::Process(std::string name, std::vector<std::string> argv, const std::string& log_dir,
                 std::vector<std::string> extra_env)
    : name_(std::move(name)) {
  InstallHooksOnce();
  // Unique log names when a name is reused (a restarted broker).
  static std::atomic<int> counter{0};
  std::string base = log_dir + "/" + name_ + "." + std::to_string(counter++);
  stdout_path_ = base + ".stdout";
  stderr_path_ = base + ".stderr";

  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  // Prepared before fork: only async-signal-safe calls in the child.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (auto& e : extra_env) env_strings.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_fd = ::open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out_fd < 0 || err_fd < 0 || null_fd < 0) {
    std::fprintf(stderr, "process harness: cannot open log files under %s: %s\n",
                 log_dir.c_str(), std::strerror(errno));
    std::abort();
  }
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    std::fprintf(stderr, "process harness: fork: %s\n", std::strerror(errno));
    std::abort();
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test died before we got here
    ::dup2(null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    // Default dispositions and mask for the child.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    ::execve(args[0], args.data(), envp.data());
    const char* msg = "process harness: execve failed: ";
    (void)!::write(2, msg, std::strlen(msg));
    (void)!::write(2, args[0], std::strlen(args[0]));
    (void)!::write(2, "\n", 1);
    ::_exit(127);
  }
  // Also from the parent side, so the group exists before we ever signal it.
  ::setpgid(pid, pid);
  pid_ = pid;
  Register(pid);
  ::close(out_fd);
  ::close(err_fd);
  ::close(null_fd);
}

Process::~Process() { KillGroup(); }

bool Process::Reap(bool block) {
  if (status_) return true;
  if (pid_ <= 0) return true;
  int ws = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &ws, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    status_ = FromWaitStatus(ws);
    return true;
  }
  if (r < 0) {  // ECHILD: someone else reaped it
    status_ = ExitStatus{};
    return true;
  }
  return false;
}

void Process::Signal(int sig) {
  if (status_ || pid_ <= 0) return;
  ::kill(pid_, sig);
}

void Process::KillGroup() {
  if (pid_ <= 0) return;
  // The group may outlive its leader (grandchildren), so kill it even when
  // the leader is already reaped, as long as we still hold the slot.
  ::kill(-pid_, SIGKILL);
  if (!status_) {
    ::kill(pid_, SIGKILL);
    Reap(true);
  }
  Unregister(pid_);
}

bool Process::Running() { return !Reap(false); }

std::optional<ExitStatus> Process::Wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (Reap(false)) return status_;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string Process::Stdout(std::size_t max_bytes) const { return ReadFileTail(stdout_path_, max_bytes); }
std::string Process::Stderr(std::size_t max_bytes) const { return ReadFileTail(stderr_path_, max_bytes); }

std::string Process::Describe(std::size_t tail_bytes) {
  Reap(false);
  std::ostringstream os;
  os << name_ << " (pid " << pid_ << ", " << (status_ ? status_->ToString() : "running")
     << "); stderr tail:\n"
     << Stderr(tail_bytes);
  return os.str();
}

std::string CommandResult::Describe() const {
  return (timed_out ? std::string("timed out") : status.ToString()) + "\nstdout: " + out +
         "\nstderr: " + err;
}

CommandResult RunCommand(const std::string& name, std::vector<std::string> argv,
                         const std::string& log_dir, std::chrono::milliseconds timeout,
                         std::vector<std::string> extra_env) {
  Process p(name, std::move(argv), log_dir, std::move(extra_env));
  CommandResult r;
  auto st = p.Wait(timeout);
  if (!st) {
    r.timed_out = true;
    p.KillGroup();
    st = p.status();
  }
  if (st) r.status = *st;
  r.out = p.Stdout();
  r.err = p.Stderr();
  return r;
}

}  // namespace sluice::testing
