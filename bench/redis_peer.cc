// sluice-bench-redis: the workload of sluice-bench-throughput on redis, the
// usual "reliable queue" built from redis lists, for a peer figure measured
// on the same machine in the same run (bench/peers.sh).
//
// Starts /usr/bin/redis-server itself, as a child process on a free port of
// 127.0.0.1 (`--appendonly yes --appendfsync everysec|always --save ''`, a
// temp --dir), waits for PING, and stops it by PID at the end (SIGTERM, then
// SIGKILL after 10 s; waitpid) and on every error path. hiredis clients:
//
//  workers: --workers (4) threads, each with its own connection, loop
//      BLMOVE queue processing:<w> RIGHT LEFT <timeout>   (BRPOPLPUSH: the
//          oldest job, as the producer LPUSHes at the head)
//      "process" the job (nothing: a no-op job)
//      LREM processing:<w> 1 <payload>                    (the ack)
//
//  (a) throughput: one producer LPUSHes --jobs payloads, pipelined in
//      batches of --batch (1,000 LPUSH appended, then their replies read).
//        submit jobs/s = jobs / (last LPUSH reply - first LPUSH sent)
//        e2e    jobs/s = jobs / (the last ack (LREM reply) - first LPUSH sent)
//
//  (b) latency at a fixed rate: --rate jobs/s for --latency-jobs jobs, a
//      batch every --tick-ms on an absolute schedule. Each payload carries
//      its batch's scheduled send time (steady clock, µs; producer and
//      workers are threads of this process). A worker, once its LREM has
//      returned, records now - scheduled. Measuring from the schedule counts
//      any time the producer fell behind (no coordinated omission).
//
// Prints a table and one JSON line (the last line of stdout). Exit status 0
// on success, 1 when something did not work, 2 on bad usage, 77 when
// redis-server is not installed (ctest: skipped).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <hiredis/hiredis.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/measure.h"

namespace sluice::bench {
namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

struct Options {
  long jobs = 100000;
  long batch = 1000;
  long workers = 4;
  long payload_bytes = 32;
  long rate = 5000;
  long latency_jobs = 25000;
  long tick_ms = 10;
  long tick_us = 0;  // --tick-us: overrides --tick-ms (a batch every this many µs)
  long deadline_s = 600;
  std::string fsync = "everysec";
  std::string server = "/usr/bin/redis-server";
  bool keep = false;
};

// The latency phase's period in µs: --tick-us, else --tick-ms.
long TickUs(const Options& o) { return o.tick_us > 0 ? o.tick_us : o.tick_ms * 1000; }

// Fills `o` from the command line (CLI11). -1: go on; otherwise the exit
// code (0 after --help, 2 on a bad argument).
int ParseArgs(int argc, char** argv, Options* o) {
  CLI::App app{"sluice-bench-redis: the throughput bench's workload on redis (LPUSH pipelined, workers\n"
               "BLMOVE + LREM), on a redis-server it starts on a free port of 127.0.0.1 (bench/README.md)."};
  app.add_option("--jobs", o->jobs, "jobs of the throughput phase")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--batch", o->batch, "LPUSHes per pipeline")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--workers", o->workers, "worker connections")->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--payload-bytes", o->payload_bytes, "bytes per job")->check(CLI::Range(0, 1 << 20))->capture_default_str();
  app.add_option("--rate", o->rate, "jobs/s of the latency phase")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--latency-jobs", o->latency_jobs, "jobs of the latency phase (0: none)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--tick-us", o->tick_us,
                 "the latency phase sends a batch every this many µs (instead of --tick-ms; 200 at 5,000 jobs/s: "
                 "one job per batch)")
      ->check(CLI::PositiveNumber);
  app.add_option("--tick-ms", o->tick_ms, "the latency phase sends a batch every this many ms")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--fsync", o->fsync, "appendfsync")->check(CLI::IsMember({"everysec", "always"}))->capture_default_str();
  app.add_option("--deadline-s", o->deadline_s, "give up after this long")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--redis-server", o->server, "the redis-server binary")->capture_default_str();
  app.add_flag("--keep", o->keep, "keep the temp folder");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return -1;
}

std::int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
}

// ---------------------------------------------------------------------------
// The redis-server child.

// Its PID, for the signal handler: a Ctrl-C of the bench must not leave it
// running. The handler kills it, which makes every redis call fail at once,
// so the bench unwinds through its usual error path (server reaped, temp dir
// removed) and exits 128 + signal. A second signal exits at once. (The child
// also has PR_SET_PDEATHSIG, for a SIGKILL of the bench.)
volatile sig_atomic_t g_server_pid = 0;
volatile sig_atomic_t g_interrupted = 0;

void OnSignal(int sig) {
  if (g_interrupted != 0) _exit(128 + sig);
  g_interrupted = sig;
  if (g_server_pid > 0) kill(static_cast<pid_t>(g_server_pid), SIGKILL);
}

// A port of 127.0.0.1 that nothing listens on right now (the kernel's pick).
// Another process may take it before redis does: Start() then tries again.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;
struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;

// hiredis' format: printf-like, plus %b (pointer, size_t length).
Reply Command(redisContext* c, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  void* r = redisvCommand(c, fmt, ap);
  va_end(ap);
  return Reply(static_cast<redisReply*>(r));
}

// A connection with a socket timeout, or null (and a message in *error).
Context Connect(int port, std::string* error) {
  timeval connect_tv{2, 0};
  Context c(redisConnectWithTimeout("127.0.0.1", port, connect_tv));
  if (!c || c->err) {
    if (error) *error = c ? c->errstr : "cannot allocate a redis context";
    return nullptr;
  }
  timeval io_tv{30, 0};  // no reply within 30 s: the server is stuck
  redisSetTimeout(c.get(), io_tv);
  return c;
}

class RedisServer {
 public:
  RedisServer(std::string binary, std::string fsync, bool keep)
      : binary_(std::move(binary)), fsync_(std::move(fsync)), keep_(keep) {}
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer() {
    Stop();
    if (!dir_.empty() && !keep_) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    } else if (!dir_.empty()) {
      std::cerr << "kept " << dir_ << "\n";
    }
  }

  // Starts the server and waits until it answers PING. Tries a few ports.
  bool Start() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/sluice-bench-redis-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) {
      std::cerr << "mkdtemp " << templ << ": " << std::strerror(errno) << "\n";
      return false;
    }
    dir_ = buf.data();
    for (int attempt = 0; attempt < 5 && g_interrupted == 0; ++attempt) {
      port_ = FreePort();
      if (port_ <= 0) {
        std::cerr << "no free port on 127.0.0.1\n";
        return false;
      }
      if (!Spawn()) return false;
      switch (WaitReady(Clock::now() + std::chrono::seconds(20))) {
        case Ready::kYes:
          return true;
        case Ready::kExited:  // most likely the port was taken meanwhile
          if (g_interrupted != 0) return false;
          std::cerr << "redis-server exited at start (port " << port_ << "); trying another port\n";
          continue;
        case Ready::kTimeout:
          std::cerr << "redis-server did not answer PING within 20 s\n" << LogTail();
          Stop();
          return false;
      }
    }
    if (g_interrupted == 0) std::cerr << "redis-server would not start\n" << LogTail();
    return false;
  }

  // SIGTERM, then SIGKILL if it is still there after 10 s; always reaped.
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    const auto until = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < until) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        Forget();
        return;
      }
      std::this_thread::sleep_for(Ms(10));
    }
    std::cerr << "redis-server (pid " << pid_ << ") ignored SIGTERM for 10 s: SIGKILL\n";
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    Forget();
  }

  bool Running() {
    if (pid_ <= 0) return false;
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      Forget();
      return false;
    }
    return true;
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }

  std::string LogTail() const {
    std::ifstream in(dir_ + "/redis.log");
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    std::string out;
    for (std::size_t i = lines.size() > 20 ? lines.size() - 20 : 0; i < lines.size(); ++i)
      out += "  redis.log: " + lines[i] + "\n";
    return out;
  }

 private:
  enum class Ready { kYes, kExited, kTimeout };

  bool Spawn() {
    const std::string port = std::to_string(port_), log = dir_ + "/redis.log", out = dir_ + "/redis.out";
    std::vector<std::string> args = {binary_,        "--bind",       "127.0.0.1", "--port",        port,
                                     "--dir",        dir_,           "--appendonly", "yes",        "--appendfsync",
                                     fsync_,         "--save",       "",          "--daemonize",   "no",
                                     "--logfile",    log};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
      std::cerr << "fork: " << std::strerror(errno) << "\n";
      return false;
    }
    if (pid == 0) {
      // Dies with the bench, whatever kills it.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
      int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null >= 0) dup2(null, STDIN_FILENO);
      execv(argv[0], argv.data());
      _exit(127);
    }
    pid_ = pid;
    g_server_pid = pid;
    return true;
  }

  Ready WaitReady(Clock::time_point until) {
    while (Clock::now() < until) {
      if (!Running()) return Ready::kExited;
      Context c = Connect(port_, nullptr);
      if (c) {
        Reply r = Command(c.get(), "PING");
        if (r && r->type == REDIS_REPLY_STATUS && std::string(r->str, r->len) == "PONG") return Ready::kYes;
        // LOADING and the like: not yet.
      }
      std::this_thread::sleep_for(Ms(20));
    }
    return Ready::kTimeout;
  }

  void Forget() {
    pid_ = -1;
    g_server_pid = 0;
  }

  std::string binary_, fsync_;
  bool keep_;
  std::string dir_;
  int port_ = -1;
  pid_t pid_ = -1;
};

// ---------------------------------------------------------------------------
// The workload.

const char* const kQueue = "queue";

// "test.noop:<kind><id>:<scheduled µs>:" padded with 'x' to payload_bytes.
// kind 'T' (throughput phase, no schedule) or 'L' (latency phase).
std::string Payload(char kind, long id, std::int64_t scheduled_us, long payload_bytes) {
  std::string p = "test.noop:";
  p += kind;
  p += std::to_string(id);
  p += ':';
  p += std::to_string(scheduled_us);
  p += ':';
  if (static_cast<long>(p.size()) < payload_bytes) p.append(static_cast<std::size_t>(payload_bytes) - p.size(), 'x');
  return p;
}

// Shared by the workers and the main thread.
struct Shared {
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::atomic<long> acked{0};
  // When acked reaches `target`, the worker that got there stores the time.
  std::atomic<long> target{0};
  std::atomic<std::int64_t> target_reached_us{0};
  std::mutex error_mu;
  std::string error;

  void Fail(const std::string& what) {
    std::lock_guard<std::mutex> lock(error_mu);
    if (error.empty()) error = what;
    failed = true;
    stop = true;
  }
};

std::string ReplyError(redisContext* c, const redisReply* r) {
  if (r == nullptr) return c->errstr[0] != '\0' ? c->errstr : "no reply";
  if (r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
  return "unexpected reply type " + std::to_string(r->type);
}

void WorkerLoop(int port, long index, Shared* shared, std::vector<std::int64_t>* latencies_us) {
  std::string err;
  Context c = Connect(port, &err);
  if (!c) {
    shared->Fail("worker " + std::to_string(index) + ": connect: " + err);
    return;
  }
  const std::string processing = "processing:" + std::to_string(index);
  while (!shared->stop.load(std::memory_order_relaxed)) {
    // A short block, so that the loop sees `stop`.
    Reply job = Command(c.get(), "BLMOVE %s %s RIGHT LEFT 0.1", kQueue, processing.c_str());
    if (!job || job->type == REDIS_REPLY_ERROR) {
      shared->Fail("worker " + std::to_string(index) + ": BLMOVE: " + ReplyError(c.get(), job.get()));
      return;
    }
    if (job->type == REDIS_REPLY_NIL) continue;  // timed out: the queue is empty
    if (job->type != REDIS_REPLY_STRING) {
      shared->Fail("worker: BLMOVE: " + ReplyError(c.get(), job.get()));
      return;
    }
    // The job itself: a no-op.
    Reply ack = Command(c.get(), "LREM %s 1 %b", processing.c_str(), job->str, job->len);
    if (!ack || ack->type != REDIS_REPLY_INTEGER || ack->integer != 1) {
      shared->Fail("worker " + std::to_string(index) + ": LREM: " +
                   (ack && ack->type == REDIS_REPLY_INTEGER ? "removed " + std::to_string(ack->integer)
                                                            : ReplyError(c.get(), ack.get())));
      return;
    }
    const std::int64_t now = NowUs();
    if (job->len > 10 && job->str[10] == 'L') {
      // test.noop:L<id>:<scheduled>:
      const char* p = static_cast<const char*>(std::memchr(job->str + 11, ':', job->len - 11));
      if (p != nullptr) latencies_us->push_back(now - std::strtoll(p + 1, nullptr, 10));
    }
    long n = shared->acked.fetch_add(1) + 1;
    if (n == shared->target.load()) shared->target_reached_us = now;
  }
}

// Waits until the workers have acked `target` jobs in all; its time, in µs.
// `base`: the count before this phase, for the progress notes.
std::optional<std::int64_t> WaitAcked(Shared& shared, long base, long target, Clock::time_point deadline,
                                      RedisServer& server) {
  auto next_note = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline && !shared.failed && g_interrupted == 0) {
    if (shared.acked.load() >= target) {
      // The worker that reached it stores the time right after; wait for it.
      for (int i = 0; i < 1000 && shared.target_reached_us.load() == 0; ++i) std::this_thread::sleep_for(Ms(1));
      return shared.target_reached_us.load();
    }
    if (Clock::now() >= next_note) {
      std::cerr << "  ... " << shared.acked.load() - base << " of " << target - base << " acked\n";
      next_note += std::chrono::seconds(5);
      if (!server.Running()) {
        shared.Fail("redis-server has exited");
        break;
      }
    }
    std::this_thread::sleep_for(Ms(1));
  }
  if (!shared.failed) shared.Fail("not all " + std::to_string(target) + " jobs acked before the deadline");
  return std::nullopt;
}

// Appends one LPUSH per payload, then reads every reply.
bool PushBatch(redisContext* c, const std::vector<std::string>& payloads, std::string* error) {
  for (const auto& p : payloads) {
    if (redisAppendCommand(c, "LPUSH %s %b", kQueue, p.data(), p.size()) != REDIS_OK) {
      *error = std::string("LPUSH: ") + c->errstr;
      return false;
    }
  }
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK) {
      *error = std::string("LPUSH reply: ") + c->errstr;
      return false;
    }
    Reply r(static_cast<redisReply*>(raw));
    if (!r || r->type != REDIS_REPLY_INTEGER) {
      *error = "LPUSH: " + ReplyError(c, r.get());
      return false;
    }
  }
  return true;
}

struct ThroughputResult {
  double submit_per_s = NAN, e2e_per_s = NAN, submit_s = NAN, e2e_s = NAN;
};

bool RunThroughput(const Options& o, redisContext* producer, Shared& shared, RedisServer& server,
                   ThroughputResult* r, Clock::time_point deadline) {
  if (o.jobs == 0) return true;
  shared.target_reached_us = 0;
  const long base = shared.acked.load();
  shared.target = base + o.jobs;
  std::vector<std::string> batch;
  std::string error;
  const std::int64_t t0 = NowUs();
  for (long sent = 0; sent < o.jobs;) {
    long n = std::min(o.batch, o.jobs - sent);
    batch.clear();
    for (long i = 0; i < n; ++i) batch.push_back(Payload('T', sent + i, 0, o.payload_bytes));
    if (!PushBatch(producer, batch, &error)) {
      shared.Fail("producer: " + error);
      return false;
    }
    sent += n;
    if (shared.failed) return false;
  }
  const std::int64_t t_submitted = NowUs();
  auto t_done = WaitAcked(shared, base, shared.target, deadline, server);
  if (!t_done) return false;
  r->submit_s = static_cast<double>(t_submitted - t0) / 1e6;
  r->e2e_s = static_cast<double>(*t_done - t0) / 1e6;
  r->submit_per_s = static_cast<double>(o.jobs) / r->submit_s;
  r->e2e_per_s = static_cast<double>(o.jobs) / r->e2e_s;
  return true;
}

struct LatencyResult {
  long jobs = 0;
  double achieved_rate = NAN;
  double p50 = NAN, p90 = NAN, p99 = NAN, max = NAN;  // µs, ack - scheduled send
};

bool RunLatency(const Options& o, redisContext* producer, Shared& shared, RedisServer& server, LatencyResult* r,
                Clock::time_point deadline) {
  if (o.latency_jobs == 0 || o.rate == 0) return true;
  const long per_tick = std::max<long>(1, o.rate * TickUs(o) / 1000000);
  shared.target_reached_us = 0;
  const long base = shared.acked.load();
  shared.target = base + o.latency_jobs;
  std::vector<std::string> batch;
  std::string error;
  const auto start = Clock::now() + std::chrono::microseconds(TickUs(o));
  long sent = 0, tick = 0;
  while (sent < o.latency_jobs) {
    const auto due = start + std::chrono::microseconds(tick * TickUs(o));
    std::this_thread::sleep_until(due);
    const std::int64_t due_us = std::chrono::duration_cast<std::chrono::microseconds>(due.time_since_epoch()).count();
    long n = std::min(per_tick, o.latency_jobs - sent);
    batch.clear();
    for (long i = 0; i < n; ++i) batch.push_back(Payload('L', sent + i, due_us, o.payload_bytes));
    if (!PushBatch(producer, batch, &error)) {
      shared.Fail("producer: " + error);
      return false;
    }
    sent += n;
    ++tick;
    if (shared.failed || Clock::now() > deadline) return false;
  }
  const auto end_send = Clock::now();
  if (!WaitAcked(shared, base, shared.target, deadline, server)) return false;
  r->jobs = o.latency_jobs;
  r->achieved_rate = static_cast<double>(o.latency_jobs) / std::max(1e-9, Seconds(end_send - start));
  // The latencies are in the workers' vectors: read once they are joined.
  return true;
}

std::string ServerVersion(redisContext* c) {
  Reply r = Command(c, "INFO server");
  if (!r || r->type != REDIS_REPLY_STRING) return "unknown";
  std::istringstream in(std::string(r->str, r->len));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("redis_version:", 0) == 0) {
      line = line.substr(14);
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
      return line;
    }
  }
  return "unknown";
}

int Run(const Options& o);

int Main(int argc, char** argv) {
  Options o;
  if (int code = ParseArgs(argc, argv, &o); code >= 0) return code;
  if (access(o.server.c_str(), X_OK) != 0) {
    std::cerr << "sluice-bench-redis: " << o.server
              << " is not installed (Debian: apt-get install redis-server); skipped\n";
    return 77;
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);

  const int status = Run(o);
  return g_interrupted != 0 ? 128 + g_interrupted : status;
}

int Run(const Options& o) {
  RedisServer server(o.server, o.fsync, o.keep);
  if (!server.Start()) return 1;
  std::string err;
  Context producer = Connect(server.port(), &err);
  if (!producer) {
    std::cerr << "producer: connect: " << err << "\n";
    return 1;
  }
  const std::string version = ServerVersion(producer.get());
  // A fresh server, but make sure: no leftovers in the lists.
  {
    Reply r = Command(producer.get(), "FLUSHALL");
    if (!r || r->type == REDIS_REPLY_ERROR) {
      std::cerr << "FLUSHALL: " << ReplyError(producer.get(), r.get()) << "\n";
      return 1;
    }
  }

  Shared shared;
  std::vector<std::vector<std::int64_t>> latencies(static_cast<std::size_t>(o.workers));
  for (auto& v : latencies) v.reserve(static_cast<std::size_t>(o.latency_jobs / o.workers * 2 + 16));
  std::vector<std::thread> workers;
  for (long w = 0; w < o.workers; ++w)
    workers.emplace_back(WorkerLoop, server.port(), w, &shared, &latencies[static_cast<std::size_t>(w)]);
  auto join = [&] {
    shared.stop = true;
    for (auto& t : workers)
      if (t.joinable()) t.join();
  };
  // Let the workers connect and block in BLMOVE before the clock starts.
  std::this_thread::sleep_for(Ms(200));

  const auto deadline = Clock::now() + std::chrono::seconds(o.deadline_s);
  ThroughputResult tr;
  LatencyResult lr;
  bool ok = RunThroughput(o, producer.get(), shared, server, &tr, deadline) &&
            RunLatency(o, producer.get(), shared, server, &lr, deadline);
  join();
  if (g_interrupted != 0) {
    std::cerr << "sluice-bench-redis: interrupted (signal " << g_interrupted << ")\n";
    return 1;
  }
  if (!ok || shared.failed) {
    std::cerr << "sluice-bench-redis: " << (shared.error.empty() ? "failed" : shared.error) << "\n"
              << server.LogTail();
    return 1;
  }

  std::vector<std::int64_t> lat;
  for (auto& v : latencies) lat.insert(lat.end(), v.begin(), v.end());
  std::sort(lat.begin(), lat.end());
  if (static_cast<long>(lat.size()) != lr.jobs)
    std::cerr << "warning: " << lat.size() << " latencies for " << lr.jobs << " jobs\n";
  lr.p50 = Quantile(lat, 0.50);
  lr.p90 = Quantile(lat, 0.90);
  lr.p99 = Quantile(lat, 0.99);
  lr.max = lat.empty() ? NAN : static_cast<double>(lat.back());

  std::printf("sluice-bench-redis: redis-server %s (appendonly yes, appendfsync %s), %ld workers "
              "(BLMOVE + LREM), hiredis %d.%d.%d, 127.0.0.1\n",
              version.c_str(), o.fsync.c_str(), o.workers, HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
  std::printf("%-34s %14s\n", "measure", "value");
  std::printf("%-34s %14ld\n", "throughput jobs", o.jobs);
  std::printf("%-34s %14ld\n", "payload bytes", o.payload_bytes);
  std::printf("%-34s %14.0f\n", "submit jobs/s", tr.submit_per_s);
  std::printf("%-34s %14.0f\n", "end-to-end jobs/s", tr.e2e_per_s);
  std::printf("%-34s %14.3f\n", "end-to-end seconds", tr.e2e_s);
  std::printf("%-34s %14ld\n", "latency jobs", lr.jobs);
  std::printf("%-34s %14.0f\n", "latency target jobs/s", static_cast<double>(o.rate));
  std::printf("%-34s %14.0f\n", "latency achieved send jobs/s", lr.achieved_rate);
  std::printf("%-34s %14.0f\n", "latency p50 us (scheduled->ack)", lr.p50);
  std::printf("%-34s %14.0f\n", "latency p90 us", lr.p90);
  std::printf("%-34s %14.0f\n", "latency p99 us", lr.p99);
  std::printf("%-34s %14.0f\n", "latency max us", lr.max);

  auto num = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(std::round(v * 10) / 10); };
  nlohmann::json line{{"bench", "redis"},
                      {"jobs", o.jobs},
                      {"batch", o.batch},
                      {"workers", o.workers},
                      {"payload_bytes", o.payload_bytes},
                      {"fsync", o.fsync},
                      {"submit_jobs_per_s", num(tr.submit_per_s)},
                      {"e2e_jobs_per_s", num(tr.e2e_per_s)},
                      {"latency_rate", o.rate},
                      {"latency_jobs", lr.jobs},
                      {"latency_achieved_rate", num(lr.achieved_rate)},
                      {"p50_us", num(lr.p50)},
                      {"p90_us", num(lr.p90)},
                      {"p99_us", num(lr.p99)},
                      {"max_us", num(lr.max)},
                      {"redis_version", version}};
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
  producer.reset();
  server.Stop();
  return 0;
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) { return sluice::bench::Main(argc, argv); }
