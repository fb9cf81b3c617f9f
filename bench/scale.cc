// sluice-bench-scale: the broker at scale, one mode per dimension of the
// performance issue. Real sluice-broker / sluice-worker processes over TCP on
// 127.0.0.1, started by the integration-test harness (as
// sluice-bench-throughput does).
//
// Every throughput figure is measured the way sluice-bench-throughput's
// phase (a) is: --jobs test.noop jobs submitted in SUBMIT batches of
// --batch, --window SUBMITs in flight;
//   submit jobs/s = jobs / (last SUBMIT reply - first SUBMIT sent)
//   e2e    jobs/s = jobs / (STATS jobs.succeeded has grown by `jobs` - first
//                           SUBMIT sent), STATS polled every 5 ms.
//
// Modes (--mode, or implied by their size flag):
//
//  preload   Two brokers, each with one sluice-worker (--slots, default
//            flags): "baseline" (empty state DB) and "preloaded": --preload
//            jobs stored through the broker before measuring, half test.noop
//            jobs run to success, half on queue --parked-queue that no worker
//            serves (they stay queued). Then the preloaded broker is
//            restarted (unless --no-restart), so it loads them as a broker
//            would after a restart. --rounds measurements on each broker,
//            alternated (A B, B A, ...), each compared with its partner.
//  sockets   One broker and no sluice-worker: this process opens --sockets
//            DEALER sockets (one thread polls them all). Each says READY
//            {worker, kinds [test.noop], slots 1, heartbeat_ms 1000} (not
//            adaptive: no RECALL, never more than 1 job), answers every JOB
//            with RESULT succeeded at once, ignores ACK, and beats when it
//            has sent nothing for a second. --jobs in two halves; reports the
//            jobs each socket was given (fairness: none may get 0) and the
//            broker's VmRSS / VmHWM (/proc/<pid>/status) at each step.
//  producers Two brokers with a worker each: 1 producer vs --producers
//            producers (threads, each its own connection, --jobs/P each, all
//            started at once), --rounds alternated.
//  params    Two brokers with a worker each: empty params vs params
//            {pad: <--params-bytes bytes>}, --rounds alternated.
//  api       One broker with --http and a worker, --preload jobs stored
//            as in preload (plus 5 dead jobs and 10 runs of a workflow).
//            (a) each /api route the status page uses, asked --api-requests
//            times in a row: median and p99 ms; (b) throughput with the page
//            open vs not, on the same broker, --rounds alternated: "open" is
//            a thread asking /api/overview every --poll-ms (the page asks
//            every 2000 ms).
//
// Prints a table per mode and one JSON line with every figure (the last
// line of stdout). Exit code 0 on success, 1 when something did not work
// (a process died, a SUBMIT failed, jobs did not finish before
// --deadline-s), 2 on bad usage.
#include <signal.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/measure.h"
#include "schemas/envelope.h"
#include "schemas/messages.h"
#include "tests/integration/cluster.h"
#include "tests/integration/http_scrape.h"
#include "tests/integration/state_db.h"
#include "tests/integration/temp_dir.h"
#include "tests/integration/wait_for.h"
#include "tests/integration/wire_client.h"

namespace sluice::bench {
namespace {

using namespace sluice::testing;  // NOLINT: the harness is this tool's toolkit
using Clock = std::chrono::steady_clock;

const char* const kModes[] = {"preload", "sockets", "producers", "params", "api"};

struct Options {
  std::set<std::string> modes;
  long preload = 1000000;
  long sockets = 200;
  long producers = 8;
  long params_bytes = 1024;
  long jobs = 100000;
  long batch = 1000;
  long window = 8;
  long slots = 4;
  long rounds = 3;
  long deadline_s = 3600;
  bool restart = true;
  bool keep = false;
  std::string parked_queue = "bench-parked";
  long api_requests = 50;
  long poll_ms = 2000;
};

// Fills `o` from the command line (CLI11). -1: go on; otherwise the exit
// code (0 after --help, 2 on a bad argument).
int ParseArgs(int argc, char** argv, Options* o) {
  CLI::App app{"sluice-bench-scale: throughput at scale (bench/README.md). --preload, --sockets, --producers\n"
               "and --params-bytes also select their mode; with none of them and no --mode, every mode\n"
               "runs. Binaries from $SLUICE_BIN_DIR or the build's bin/."};
  std::vector<std::string> modes;
  app.add_option("--mode", modes, "all, or a comma-separated list of preload,sockets,producers,params,api")
      ->delimiter(',')
      ->check(CLI::IsMember({"all", "preload", "sockets", "producers", "params", "api"}));
  auto* preload = app.add_option("--preload", o->preload, "jobs in the state DB before measuring (half finished, half pending)")
                      ->check(CLI::NonNegativeNumber)
                      ->capture_default_str();
  auto* sockets = app.add_option("--sockets", o->sockets, "worker sockets played by the bench, 1 slot each")
                      ->check(CLI::PositiveNumber)
                      ->capture_default_str();
  auto* producers = app.add_option("--producers", o->producers, "producers submitting at once")
                        ->check(CLI::PositiveNumber)
                        ->capture_default_str();
  auto* params = app.add_option("--params-bytes", o->params_bytes, "bytes of params per job")
                     ->check(CLI::Range(0, 1000000))  // params are <= 1 MiB encoded
                     ->capture_default_str();
  app.add_option("--jobs", o->jobs, "jobs per measurement")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch", o->batch, "jobs per SUBMIT")->check(CLI::Range(1, 10000))->capture_default_str();
  app.add_option("--window", o->window, "SUBMITs in flight")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--slots", o->slots, "the worker's --slots")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--rounds", o->rounds, "alternating rounds per comparison")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--deadline-s", o->deadline_s, "give up after this long")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--parked-queue", o->parked_queue, "the queue no worker serves (preload's pending half)")
      ->capture_default_str();
  app.add_option("--api-requests", o->api_requests, "api: requests per route")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--poll-ms", o->poll_ms, "api: the open page asks /api/overview this often")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  bool no_restart = false;
  app.add_flag("--no-restart", no_restart, "preload: measure without restarting the broker on the filled DB");
  app.add_flag("--keep", o->keep, "keep the temp folders");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  o->restart = !no_restart;
  for (const std::string& m : modes) {
    if (m == "all") o->modes.insert(std::begin(kModes), std::end(kModes));
    else o->modes.insert(m);
  }
  if (modes.empty()) {
    if (preload->count() > 0) o->modes.insert("preload");
    if (sockets->count() > 0) o->modes.insert("sockets");
    if (producers->count() > 0) o->modes.insert("producers");
    if (params->count() > 0) o->modes.insert("params");
  }
  if (o->modes.empty()) o->modes.insert(std::begin(kModes), std::end(kModes));
  return -1;
}

double Median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// VmRSS and VmHWM of `pid` in KiB (/proc/<pid>/status); -1 when unreadable.
struct Rss {
  long rss_kib = -1;
  long hwm_kib = -1;
};

Rss ReadRss(pid_t pid) {
  Rss r;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) r.rss_kib = std::atol(line.c_str() + 6);
    if (line.rfind("VmHWM:", 0) == 0) r.hwm_kib = std::atol(line.c_str() + 6);
  }
  return r;
}

// CPU seconds (user + system, all threads) and bytes written (write
// calls: `wchar` of /proc/<pid>/io) of `pid` so far; NAN / -1 when unreadable.
struct ProcUsage {
  double cpu_s = NAN;
  double wchar = NAN;
};

ProcUsage ReadUsage(pid_t pid) {
  ProcUsage u;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close != std::string::npos) {
    // After "pid (comm)": state is field 3; utime and stime are fields 14 and 15.
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    double utime = NAN, stime = NAN;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::atof(field.c_str());
      if (i == 15) stime = std::atof(field.c_str());
    }
    u.cpu_s = (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  std::ifstream io("/proc/" + std::to_string(pid) + "/io");
  for (std::string line; std::getline(io, line);)
    if (line.rfind("wchar:", 0) == 0) u.wchar = std::atof(line.c_str() + 6);
  return u;
}

double Mib(long kib) { return kib < 0 ? NAN : static_cast<double>(kib) / 1024.0; }

std::uintmax_t FileBytes(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

// One broker (and its workers) in its own temp directory, with a STATS
// connection and the producers' connections.
class Rig {
 public:
  Rig(std::string name, const Options& o) : name_(std::move(name)), dir_("sluice-bench-scale"), cluster_(dir_.path()) {
    if (o.keep) dir_.Keep();
  }
  ~Rig() {
    if (failed_) std::cerr << "(" << name_ << ": logs kept in " << dir_.path() << ")\n";
    // A clean stop, so the figures are not followed by a kill in the logs.
    else if (cluster_.broker() != nullptr && cluster_.broker()->Running()) cluster_.StopBroker(SIGTERM, Ms(60000));
  }

  const std::string& name() const { return name_; }
  Cluster& cluster() { return cluster_; }
  WireClient& stats() { return *stats_; }
  pid_t broker_pid() { return cluster_.broker() != nullptr ? cluster_.broker()->pid() : -1; }
  Rss BrokerRss() { return ReadRss(broker_pid()); }

  // Keeps the temp directory and prints what the processes said.
  void Fail() {
    if (!failed_) std::cerr << cluster_.Describe();
    failed_ = true;
    dir_.Keep();
  }

  bool Alive() {
    bool ok = cluster_.broker() != nullptr && cluster_.broker()->Running();
    for (auto& w : cluster_.workers()) ok = ok && w->Running();
    if (!ok) std::cerr << name_ << ": a process under test has exited\n";
    return ok;
  }

  // Starts the broker (with `broker_args`) and, when `slots` > 0, one
  // sluice-worker with default flags; waits until the worker is connected.
  bool Start(long slots, std::vector<std::string> broker_args = {}) {
    Status s = cluster_.StartBroker(std::move(broker_args));
    if (!s.ok()) {
      std::cerr << name_ << ": broker: " << s.ToString() << "\n";
      Fail();
      return false;
    }
    stats_ = std::make_unique<WireClient>(cluster_.endpoint());
    if (slots > 0) {
      cluster_.StartWorker(static_cast<int>(slots));
      if (!WaitWorkers(1, Ms(60000))) return false;
    }
    return true;
  }

  // Waits until WORKERS lists at least `n` workers.
  bool WaitWorkers(std::size_t n, Ms timeout) {
    std::size_t seen = 0;
    bool up = WaitUntil(
        [&] {
          Answer a = stats_->Workers(Ms(10000));
          if (a.ok() && a.body.contains("workers") && a.body["workers"].is_array())
            seen = a.body["workers"].size();
          return seen >= n || !Alive();
        },
        timeout);
    if (!up || seen < n) {
      std::cerr << name_ << ": " << seen << " of " << n << " workers connected\n";
      Fail();
      return false;
    }
    return true;
  }

  // Stops the broker (SIGTERM) and starts it again on the same state;
  // `*restart_s` is the start alone (it loads the state before it binds).
  bool Restart(double* stop_s, double* restart_s) {
    const auto t0 = Clock::now();
    ExitStatus st = cluster_.StopBroker(SIGTERM, Ms(120000));
    const auto t1 = Clock::now();
    *stop_s = Seconds(t1 - t0);
    if (!st.exited || st.code != 0) {
      std::cerr << name_ << ": the broker did not stop cleanly: " << st.ToString() << "\n";
      Fail();
      return false;
    }
    Status s = cluster_.RestartBroker(Ms(600000));
    *restart_s = Seconds(Clock::now() - t1);
    if (!s.ok()) {
      std::cerr << name_ << ": restart: " << s.ToString() << "\n";
      Fail();
      return false;
    }
    return true;
  }

  // `n` producer connections (made once, reused).
  std::vector<std::unique_ptr<WireClient>>& Producers(std::size_t n) {
    while (producers_.size() < n) producers_.push_back(std::make_unique<WireClient>(cluster_.endpoint()));
    return producers_;
  }

 private:
  std::string name_;
  TempDir dir_;
  Cluster cluster_;
  std::unique_ptr<WireClient> stats_;
  std::vector<std::unique_ptr<WireClient>> producers_;
  bool failed_ = false;
};

// Polls STATS until jobs.succeeded >= n. Progress on stderr every 5 s.
bool WaitSucceeded(Rig& rig, std::int64_t n, Clock::time_point deadline, Clock::time_point* at) {
  auto next_note = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    std::int64_t c = rig.stats().CountInState("succeeded", Ms(30000));
    if (c >= n) {
      *at = Clock::now();
      return true;
    }
    if (Clock::now() >= next_note) {
      std::cerr << "  ... " << rig.name() << ": " << c << " of " << n << " succeeded\n";
      next_note += std::chrono::seconds(5);
      if (!rig.Alive()) return false;
    }
    std::this_thread::sleep_for(Ms(5));
  }
  std::cerr << rig.name() << ": not all " << n << " jobs succeeded before the deadline\n";
  return false;
}

// Submits `count` jobs over `c`: SUBMITs of up to `batch` jobs, cycling
// through `templates` (each a batch-sized vector), `window` in flight.
// `per_template` (optional) gets how many jobs came from each template.
bool SubmitPipelined(WireClient& c, const std::vector<std::vector<proto::JobSpec>>& templates, long count,
                     long window, Clock::time_point deadline, std::vector<long>* per_template = nullptr) {
  if (per_template != nullptr) per_template->assign(templates.size(), 0);
  long sent = 0, acked = 0, in_flight = 0;
  std::size_t next = 0;
  while (acked < count) {
    while (sent < count && in_flight < window) {
      const auto& batch = templates[next];
      long n = std::min(static_cast<long>(batch.size()), count - sent);
      if (n == static_cast<long>(batch.size())) c.SendSubmit(batch);
      else c.SendSubmit(std::vector<proto::JobSpec>(batch.begin(), batch.begin() + n));
      if (per_template != nullptr) (*per_template)[next] += n;
      next = (next + 1) % templates.size();
      sent += n;
      ++in_flight;
    }
    auto reply = c.ReceiveSubmitReply(Ms(60000));
    if (!reply) {
      std::cerr << "no SUBMIT reply within 60 s\n";
      return false;
    }
    if (!reply->error.empty()) {
      std::cerr << "SUBMIT failed: " << reply->error << "\n";
      return false;
    }
    acked += static_cast<long>(reply->jobs.size());
    --in_flight;
    if (Clock::now() > deadline) {
      std::cerr << "deadline passed while submitting\n";
      return false;
    }
  }
  return true;
}

struct Round {
  double submit_per_s = NAN;
  double e2e_per_s = NAN;
  double broker_cpu_us_per_job = NAN;  // broker CPU (all threads) over the round / jobs
  double broker_wbytes_per_job = NAN;  // bytes the broker wrote (WAL, checkpoints, logs) / jobs
};

// One throughput measurement on `rig`: `jobs` copies of `batch`'s spec from
// `producers` connections at once (jobs split evenly), until all succeeded.
bool MeasureRound(Rig& rig, const std::vector<proto::JobSpec>& batch, long jobs, long producers, long window,
                  Clock::time_point deadline, Round* out) {
  const std::int64_t base = rig.stats().CountInState("succeeded", Ms(30000));
  const ProcUsage u0 = ReadUsage(rig.broker_pid());
  if (base < 0) {
    std::cerr << rig.name() << ": STATS failed\n";
    rig.Fail();
    return false;
  }
  auto& clients = rig.Producers(static_cast<std::size_t>(producers));
  const std::vector<std::vector<proto::JobSpec>> templates{batch};
  Clock::time_point t0, t_submitted;
  if (producers == 1) {
    t0 = Clock::now();
    if (!SubmitPipelined(*clients[0], templates, jobs, window, deadline)) {
      rig.Fail();
      return false;
    }
    t_submitted = Clock::now();
  } else {
    std::atomic<bool> go{false};
    std::atomic<int> failed{0};
    std::vector<Clock::time_point> ends(static_cast<std::size_t>(producers));
    std::vector<std::thread> threads;
    for (long p = 0; p < producers; ++p) {
      long share = jobs / producers + (p < jobs % producers ? 1 : 0);
      threads.emplace_back([&, p, share] {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        if (share > 0 && !SubmitPipelined(*clients[static_cast<std::size_t>(p)], templates, share, window, deadline))
          failed.fetch_add(1);
        ends[static_cast<std::size_t>(p)] = Clock::now();
      });
    }
    t0 = Clock::now();
    go.store(true, std::memory_order_release);
    for (auto& t : threads) t.join();
    if (failed.load() != 0) {
      rig.Fail();
      return false;
    }
    t_submitted = *std::max_element(ends.begin(), ends.end());
  }
  Clock::time_point t_done;
  if (!WaitSucceeded(rig, base + jobs, deadline, &t_done)) {
    rig.Fail();
    return false;
  }
  const ProcUsage u1 = ReadUsage(rig.broker_pid());
  out->submit_per_s = static_cast<double>(jobs) / Seconds(t_submitted - t0);
  out->e2e_per_s = static_cast<double>(jobs) / Seconds(t_done - t0);
  out->broker_cpu_us_per_job = (u1.cpu_s - u0.cpu_s) * 1e6 / static_cast<double>(jobs);
  out->broker_wbytes_per_job = (u1.wchar - u0.wchar) / static_cast<double>(jobs);
  return true;
}

// Two rigs measured in turns (A B, then B A, ...), `rounds` times each.
struct Paired {
  std::vector<Round> a, b;
  std::vector<double> e2e_ratio, submit_ratio;  // b / a, per round
  nlohmann::json Json() const;
};

struct Side {
  Rig* rig;
  const std::vector<proto::JobSpec>* batch;
  long producers;
};

bool RunPaired(const Options& o, Side a, Side b, Clock::time_point deadline, Paired* out) {
  for (long r = 0; r < o.rounds; ++r) {
    Round ra, rb;
    bool a_first = r % 2 == 0;
    for (int k = 0; k < 2; ++k) {
      bool do_a = (k == 0) == a_first;
      const Side& s = do_a ? a : b;
      Round* dst = do_a ? &ra : &rb;
      if (!MeasureRound(*s.rig, *s.batch, o.jobs, s.producers, o.window, deadline, dst)) return false;
      std::cerr << "  round " << r + 1 << " " << s.rig->name() << ": e2e " << std::lround(dst->e2e_per_s)
                << " jobs/s, submit " << std::lround(dst->submit_per_s) << " jobs/s\n";
    }
    out->a.push_back(ra);
    out->b.push_back(rb);
    out->e2e_ratio.push_back(rb.e2e_per_s / ra.e2e_per_s);
    out->submit_ratio.push_back(rb.submit_per_s / ra.submit_per_s);
  }
  return true;
}

nlohmann::json Num(double v, int digits = 1) {
  if (std::isnan(v)) return nlohmann::json();
  double f = std::pow(10.0, digits);
  return std::round(v * f) / f;
}

std::vector<double> Field(const std::vector<Round>& v, double Round::*f) {
  std::vector<double> out;
  for (const Round& r : v) out.push_back(r.*f);
  return out;
}

nlohmann::json Paired::Json() const {
  auto minmax = [](const std::vector<double>& v) {
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    return nlohmann::json::array({Num(*lo, 3), Num(*hi, 3)});
  };
  return {{"a_e2e_jobs_per_s", Num(Median(Field(a, &Round::e2e_per_s)))},
          {"b_e2e_jobs_per_s", Num(Median(Field(b, &Round::e2e_per_s)))},
          {"a_submit_jobs_per_s", Num(Median(Field(a, &Round::submit_per_s)))},
          {"b_submit_jobs_per_s", Num(Median(Field(b, &Round::submit_per_s)))},
          {"e2e_ratio", Num(Median(e2e_ratio), 3)},
          {"e2e_ratio_range", minmax(e2e_ratio)},
          {"submit_ratio", Num(Median(submit_ratio), 3)},
          {"submit_ratio_range", minmax(submit_ratio)},
          {"a_broker_cpu_us_per_job", Num(Median(Field(a, &Round::broker_cpu_us_per_job)))},
          {"b_broker_cpu_us_per_job", Num(Median(Field(b, &Round::broker_cpu_us_per_job)))},
          {"a_broker_write_bytes_per_job", Num(Median(Field(a, &Round::broker_wbytes_per_job)), 0)},
          {"b_broker_write_bytes_per_job", Num(Median(Field(b, &Round::broker_wbytes_per_job)), 0)}};
}

void PrintPaired(const char* a_name, const char* b_name, const Paired& p) {
  auto row = [](const std::string& what, double v, const char* fmt) {
    std::printf("%-44s ", what.c_str());
    std::printf(fmt, v);
    std::printf("\n");
  };
  row(std::string("e2e jobs/s, ") + a_name + " (median)", Median(Field(p.a, &Round::e2e_per_s)), "%14.0f");
  row(std::string("e2e jobs/s, ") + b_name + " (median)", Median(Field(p.b, &Round::e2e_per_s)), "%14.0f");
  row("e2e ratio b/a (median of rounds)", Median(p.e2e_ratio), "%14.3f");
  row(std::string("submit jobs/s, ") + a_name + " (median)", Median(Field(p.a, &Round::submit_per_s)), "%14.0f");
  row(std::string("submit jobs/s, ") + b_name + " (median)", Median(Field(p.b, &Round::submit_per_s)), "%14.0f");
  row("submit ratio b/a (median of rounds)", Median(p.submit_ratio), "%14.3f");
  row(std::string("broker CPU us/job, ") + a_name, Median(Field(p.a, &Round::broker_cpu_us_per_job)), "%14.1f");
  row(std::string("broker CPU us/job, ") + b_name, Median(Field(p.b, &Round::broker_cpu_us_per_job)), "%14.1f");
  row(std::string("broker bytes written/job, ") + a_name, Median(Field(p.a, &Round::broker_wbytes_per_job)),
      "%14.0f");
  row(std::string("broker bytes written/job, ") + b_name, Median(Field(p.b, &Round::broker_wbytes_per_job)),
      "%14.0f");
  std::printf("%-44s ", "e2e ratio per round");
  for (double r : p.e2e_ratio) std::printf(" %.3f", r);
  std::printf("\n");
}

// ---- preload ------------------------------------------------------------

bool RunPreload(const Options& o, Clock::time_point deadline, nlohmann::json* out) {
  Rig base("baseline", o), pre("preloaded", o);
  if (!pre.Start(o.slots)) return false;

  // Fill: noop and parked batches alternate, so the two kinds of rows mix.
  proto::JobSpec parked = Spec("test.noop");
  parked.queue = o.parked_queue;
  const std::vector<std::vector<proto::JobSpec>> templates{
      std::vector<proto::JobSpec>(static_cast<std::size_t>(o.batch), Spec("test.noop")),
      std::vector<proto::JobSpec>(static_cast<std::size_t>(o.batch), parked)};
  std::vector<long> counts;
  std::cerr << "preloading " << o.preload << " jobs (half run, half parked on queue " << o.parked_queue << ")\n";
  const auto t0 = Clock::now();
  if (o.preload > 0) {
    auto& c = pre.Producers(1);
    if (!SubmitPipelined(*c[0], templates, o.preload, o.window, deadline, &counts)) {
      pre.Fail();
      return false;
    }
  } else {
    counts = {0, 0};
  }
  const double submit_s = Seconds(Clock::now() - t0);
  Clock::time_point t_done;
  if (!WaitSucceeded(pre, counts[0], deadline, &t_done)) {
    pre.Fail();
    return false;
  }
  const double fill_s = Seconds(t_done - t0);
  const Rss rss_filled = pre.BrokerRss();
  std::cerr << "  preloaded in " << fill_s << " s (" << counts[0] << " succeeded, " << counts[1] << " parked)\n";
  double stop_s = NAN, restart_s = NAN;
  Rss rss_restarted;
  if (o.restart) {
    if (!pre.Restart(&stop_s, &restart_s)) return false;
    rss_restarted = pre.BrokerRss();
    std::cerr << "  restarted: stop " << stop_s << " s, start " << restart_s << " s\n";
    if (!pre.WaitWorkers(1, Ms(120000))) return false;
  }
  if (!base.Start(o.slots)) return false;

  const std::vector<proto::JobSpec> batch(static_cast<std::size_t>(o.batch), Spec("test.noop"));
  Paired p;
  if (!RunPaired(o, {&base, &batch, 1}, {&pre, &batch, 1}, deadline, &p)) return false;

  const std::string db = pre.cluster().state_path();
  const std::uintmax_t db_bytes = FileBytes(db), wal_bytes = FileBytes(db + "-wal");
  const Rss rss_pre = pre.BrokerRss(), rss_base = base.BrokerRss();
  std::int64_t rows = -1, queued = pre.stats().CountInState("queued", Ms(30000));
  {
    StateDb sdb(db);
    if (sdb.ok()) rows = sdb.Scalar("SELECT count(*) FROM jobs");
  }

  std::printf("\n== preload: %ld jobs in the state DB (%ld succeeded, %ld queued on '%s')%s, "
              "1 worker x %ld slots, %ld rounds of %ld jobs ==\n",
              o.preload, counts[0], counts[1], o.parked_queue.c_str(), o.restart ? ", broker restarted" : "",
              o.slots, o.rounds, o.jobs);
  std::printf("%-44s %14s\n", "measure", "value");
  std::printf("%-44s %14.2f\n", "preload: submit seconds", submit_s);
  std::printf("%-44s %14.2f\n", "preload: all run seconds", fill_s);
  if (o.restart) {
    std::printf("%-44s %14.2f\n", "broker stop seconds (SIGTERM)", stop_s);
    std::printf("%-44s %14.2f\n", "broker start seconds (load, bind)", restart_s);
  }
  PrintPaired("baseline", "preloaded", p);
  std::printf("%-44s %14lld\n", "jobs rows at the end", static_cast<long long>(rows));
  std::printf("%-44s %14lld\n", "jobs queued at the end", static_cast<long long>(queued));
  std::printf("%-44s %14.1f\n", "state DB MiB (main file)", static_cast<double>(db_bytes) / 1048576.0);
  std::printf("%-44s %14.1f\n", "state DB MiB (-wal)", static_cast<double>(wal_bytes) / 1048576.0);
  std::printf("%-44s %14.1f\n", "broker RSS MiB after preload", Mib(rss_filled.rss_kib));
  std::printf("%-44s %14.1f\n", "broker HWM MiB during preload", Mib(rss_filled.hwm_kib));
  if (o.restart) std::printf("%-44s %14.1f\n", "broker RSS MiB after restart", Mib(rss_restarted.rss_kib));
  std::printf("%-44s %14.1f\n", "broker RSS MiB at the end, preloaded", Mib(rss_pre.rss_kib));
  std::printf("%-44s %14.1f\n", o.restart ? "broker HWM MiB since the restart" : "broker HWM MiB, preloaded",
              Mib(rss_pre.hwm_kib));
  std::printf("%-44s %14.1f\n", "broker RSS MiB at the end, baseline", Mib(rss_base.rss_kib));

  nlohmann::json j = p.Json();
  j.update({{"preload", o.preload},
            {"preload_succeeded", counts[0]},
            {"preload_parked", counts[1]},
            {"restarted", o.restart},
            {"preload_submit_s", Num(submit_s)},
            {"preload_fill_s", Num(fill_s)},
            {"stop_s", Num(stop_s, 2)},
            {"start_s", Num(restart_s, 2)},
            {"rows", rows},
            {"queued", queued},
            {"db_bytes", db_bytes},
            {"wal_bytes", wal_bytes},
            {"rss_after_preload_mib", Num(Mib(rss_filled.rss_kib))},
            {"hwm_preload_mib", Num(Mib(rss_filled.hwm_kib))},
            {"rss_after_restart_mib", Num(Mib(rss_restarted.rss_kib))},
            {"rss_end_mib", Num(Mib(rss_pre.rss_kib))},
            {"hwm_mib", Num(Mib(rss_pre.hwm_kib))},
            {"baseline_rss_end_mib", Num(Mib(rss_base.rss_kib))}});
  *out = std::move(j);
  return true;
}

// ---- sockets --------------------------------------------------------------

// `n` DEALER sockets acting as workers of one slot each, polled by one
// thread.
class FakeWorkers {
 public:
  FakeWorkers(std::string endpoint, long n)
      : endpoint_(std::move(endpoint)), n_(n), counts_(static_cast<std::size_t>(n)) {}
  ~FakeWorkers() { Stop(); }

  void Start() { thread_ = std::thread([this] { Run(); }); }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  long jobs() const { return jobs_.load(); }
  long errors() const { return errors_.load(); }
  long recalls() const { return recalls_.load(); }
  // Jobs given to each socket; read after Stop() (or racy but harmless).
  std::vector<long> counts() const {
    std::vector<long> out;
    for (const auto& c : counts_) out.push_back(c.load());
    return out;
  }

 private:
  struct Peer {
    std::unique_ptr<zmq::socket_t> socket;
    std::string id;
    Clock::time_point last_send;
  };

  void SendReady(Peer& p) {
    proto::Ready r;
    r.worker = p.id;
    r.host = "bench";
    r.pid = ::getpid();
    r.kinds = {"test.noop"};
    r.slots = 1;
    r.heartbeat_ms = 1000;
    r.version = "bench-scale";
    std::string body;
    proto::Encode(r, &body);
    Send(p, proto::Command::kReady, body);
  }

  void Send(Peer& p, proto::Command c, std::string_view body) {
    if (!proto::SendMessage(*p.socket, {}, c, body)) errors_.fetch_add(1);
    p.last_send = Clock::now();
  }

  void Run() {
    zmq::context_t ctx;
    std::vector<Peer> peers(static_cast<std::size_t>(n_));
    std::vector<zmq_pollitem_t> items;
    for (std::size_t i = 0; i < peers.size(); ++i) {
      Peer& p = peers[i];
      p.socket = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
      p.socket->set(zmq::sockopt::linger, 0);
      p.socket->set(zmq::sockopt::sndhwm, 0);
      p.socket->set(zmq::sockopt::rcvhwm, 0);
      p.socket->connect(endpoint_);
      p.id = "bench-scale-" + std::to_string(::getpid()) + "-" + std::to_string(i);
      SendReady(p);
      items.push_back({p.socket->handle(), 0, ZMQ_POLLIN, 0});
    }
    std::string body;
    proto::Incoming in;
    while (!stop_.load()) {
      int rc = zmq_poll(items.data(), static_cast<int>(items.size()), 100);
      if (rc < 0 && errno != EINTR) break;
      const auto now = Clock::now();
      for (std::size_t i = 0; i < peers.size(); ++i) {
        Peer& p = peers[i];
        if (items[i].revents & ZMQ_POLLIN) {
          proto::FrameError fe;
          while (proto::ReceiveMessage(*p.socket, false, &in, &fe)) {
            if (fe != proto::FrameError::kNone) {
              errors_.fetch_add(1);
              continue;
            }
            switch (static_cast<proto::Command>(in.command)) {
              case proto::Command::kJob: {
                proto::JobAttempt a;
                if (!proto::PeekAttempt(in.body, &a).ok()) {
                  errors_.fetch_add(1);
                  break;
                }
                counts_[i].fetch_add(1, std::memory_order_relaxed);
                jobs_.fetch_add(1, std::memory_order_relaxed);
                proto::JobResult r;
                r.job = std::move(a.job);
                r.attempt = a.attempt;
                r.outcome = Outcome::kSucceeded;
                body.clear();
                proto::Encode(r, &body);
                Send(p, proto::Command::kResult, body);
                break;
              }
              case proto::Command::kError: {
                proto::ErrorMsg e;
                errors_.fetch_add(1);
                if (proto::Decode(in.body, &e).ok() && e.code == proto::err::kUnknownWorker) SendReady(p);
                break;
              }
              case proto::Command::kRecall:
                recalls_.fetch_add(1);
                break;
              default:  // ACK, HEARTBEAT, CANCEL, BYE: nothing to do
                break;
            }
          }
        }
        if (now - p.last_send >= Ms(1000)) Send(p, proto::Command::kHeartbeat, {});
      }
    }
  }

  std::string endpoint_;
  long n_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<long> jobs_{0}, errors_{0}, recalls_{0};
  std::vector<std::atomic<long>> counts_;
};

bool RunSockets(const Options& o, Clock::time_point deadline, nlohmann::json* out) {
  Rig rig("sockets", o);
  if (!rig.Start(0)) return false;
  const Rss rss_idle = rig.BrokerRss();
  FakeWorkers fakes(rig.cluster().endpoint(), o.sockets);
  fakes.Start();
  if (!rig.WaitWorkers(static_cast<std::size_t>(o.sockets), Ms(120000))) return false;
  const Rss rss_connected = rig.BrokerRss();

  const std::vector<proto::JobSpec> batch(static_cast<std::size_t>(o.batch), Spec("test.noop"));
  // Two halves, so that a broker that keeps growing shows it.
  const long half = o.jobs / 2;
  Round r1, r2;
  if (!MeasureRound(rig, batch, half, 1, o.window, deadline, &r1)) return false;
  const Rss rss_half = rig.BrokerRss();
  if (!MeasureRound(rig, batch, o.jobs - half, 1, o.window, deadline, &r2)) return false;
  const Rss rss_end = rig.BrokerRss();
  // Still all connected (none lost for silence) after the run.
  Answer w = rig.stats().Workers(Ms(30000));
  const long connected = w.ok() && w.body.contains("workers") ? static_cast<long>(w.body["workers"].size()) : -1;
  fakes.Stop();

  std::vector<long> counts = fakes.counts();
  std::vector<long> sorted = counts;
  std::sort(sorted.begin(), sorted.end());
  const long starved = std::count(counts.begin(), counts.end(), 0L);
  const double median = sorted.empty() ? NAN
                        : sorted.size() % 2 ? static_cast<double>(sorted[sorted.size() / 2])
                                            : (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2.0;
  const double mean = static_cast<double>(fakes.jobs()) / static_cast<double>(counts.size());
  double var = 0;
  for (long c : counts) var += (static_cast<double>(c) - mean) * (static_cast<double>(c) - mean);
  const double cv = mean > 0 ? std::sqrt(var / static_cast<double>(counts.size())) / mean : NAN;
  // The harmonic mean of the halves' rates is the rate over the whole run.
  const double e2e = static_cast<double>(o.jobs) /
                     (static_cast<double>(half) / r1.e2e_per_s + static_cast<double>(o.jobs - half) / r2.e2e_per_s);

  std::printf("\n== sockets: %ld worker sockets (1 slot each, not adaptive), %ld jobs in 2 halves ==\n",
              o.sockets, o.jobs);
  std::printf("%-44s %14s\n", "measure", "value");
  std::printf("%-44s %14.0f\n", "e2e jobs/s (whole run)", e2e);
  std::printf("%-44s %14.0f\n", "e2e jobs/s, first half", r1.e2e_per_s);
  std::printf("%-44s %14.0f\n", "e2e jobs/s, second half", r2.e2e_per_s);
  std::printf("%-44s %14.0f\n", "submit jobs/s, first half", r1.submit_per_s);
  std::printf("%-44s %14.1f\n", "broker CPU us/job, second half", r2.broker_cpu_us_per_job);
  std::printf("%-44s %14.0f\n", "broker bytes written/job, second half", r2.broker_wbytes_per_job);
  std::printf("%-44s %14ld\n", "jobs given to the sockets", fakes.jobs());
  std::printf("%-44s %14ld\n", "jobs per socket, min", sorted.front());
  std::printf("%-44s %14.1f\n", "jobs per socket, median", median);
  std::printf("%-44s %14ld\n", "jobs per socket, max", sorted.back());
  std::printf("%-44s %14.3f\n", "jobs per socket, stddev / mean", cv);
  std::printf("%-44s %14ld\n", "sockets given no job (starved)", starved);
  std::printf("%-44s %14ld\n", "workers still connected at the end", connected);
  std::printf("%-44s %14ld\n", "errors / RECALLs seen", fakes.errors() + fakes.recalls());
  std::printf("%-44s %14.1f\n", "broker RSS MiB, started, no worker", Mib(rss_idle.rss_kib));
  std::printf("%-44s %14.1f\n", "broker RSS MiB, sockets connected", Mib(rss_connected.rss_kib));
  std::printf("%-44s %14.1f\n", "broker RSS MiB, after first half", Mib(rss_half.rss_kib));
  std::printf("%-44s %14.1f\n", "broker RSS MiB, after all jobs", Mib(rss_end.rss_kib));
  std::printf("%-44s %14.1f\n", "broker VmHWM MiB (peak)", Mib(rss_end.hwm_kib));

  *out = {{"sockets", o.sockets},
          {"jobs", o.jobs},
          {"e2e_jobs_per_s", Num(e2e)},
          {"e2e_jobs_per_s_halves", {Num(r1.e2e_per_s), Num(r2.e2e_per_s)}},
          {"submit_jobs_per_s_halves", {Num(r1.submit_per_s), Num(r2.submit_per_s)}},
          {"broker_cpu_us_per_job", Num(r2.broker_cpu_us_per_job)},
          {"broker_write_bytes_per_job", Num(r2.broker_wbytes_per_job, 0)},
          {"jobs_given", fakes.jobs()},
          {"per_socket_min", sorted.front()},
          {"per_socket_median", Num(median)},
          {"per_socket_max", sorted.back()},
          {"per_socket_cv", Num(cv, 3)},
          {"starved", starved},
          {"connected_at_end", connected},
          {"errors", fakes.errors()},
          {"recalls", fakes.recalls()},
          {"rss_idle_mib", Num(Mib(rss_idle.rss_kib))},
          {"rss_connected_mib", Num(Mib(rss_connected.rss_kib))},
          {"rss_half_mib", Num(Mib(rss_half.rss_kib))},
          {"rss_end_mib", Num(Mib(rss_end.rss_kib))},
          {"hwm_mib", Num(Mib(rss_end.hwm_kib))}};
  // Starvation is reported, not asserted: this is a measurement, not a test.
  return true;
}

// ---- producers, params ---------------------------------------------------

bool RunProducers(const Options& o, Clock::time_point deadline, nlohmann::json* out) {
  Rig one("1-producer", o), many(std::to_string(o.producers) + "-producers", o);
  if (!one.Start(o.slots) || !many.Start(o.slots)) return false;
  const std::vector<proto::JobSpec> batch(static_cast<std::size_t>(o.batch), Spec("test.noop"));
  Paired p;
  if (!RunPaired(o, {&one, &batch, 1}, {&many, &batch, o.producers}, deadline, &p)) return false;
  std::printf("\n== producers: 1 vs %ld producers at once (%ld jobs in all, split evenly), "
              "1 worker x %ld slots, %ld rounds ==\n",
              o.producers, o.jobs, o.slots, o.rounds);
  std::printf("%-44s %14s\n", "measure", "value");
  const std::string b = std::to_string(o.producers) + " producers";
  PrintPaired("1 producer", b.c_str(), p);
  nlohmann::json j = p.Json();
  j["producers"] = o.producers;
  *out = std::move(j);
  return true;
}

bool RunParams(const Options& o, Clock::time_point deadline, nlohmann::json* out) {
  Rig empty("empty-params", o), big("params-" + std::to_string(o.params_bytes), o);
  if (!empty.Start(o.slots) || !big.Start(o.slots)) return false;
  const std::vector<proto::JobSpec> plain(static_cast<std::size_t>(o.batch), Spec("test.noop"));
  const proto::JobSpec padded =
      Spec("test.noop", json{{"pad", std::string(static_cast<std::size_t>(o.params_bytes), 'x')}});
  const std::vector<proto::JobSpec> heavy(static_cast<std::size_t>(o.batch), padded);
  Paired p;
  if (!RunPaired(o, {&empty, &plain, 1}, {&big, &heavy, 1}, deadline, &p)) return false;
  const std::uintmax_t db_empty = FileBytes(empty.cluster().state_path()) +
                                  FileBytes(empty.cluster().state_path() + "-wal");
  const std::uintmax_t db_big = FileBytes(big.cluster().state_path()) + FileBytes(big.cluster().state_path() + "-wal");
  std::printf("\n== params: empty vs a %ld-byte string param (encoded params %zu bytes), "
              "1 worker x %ld slots, %ld rounds of %ld jobs ==\n",
              o.params_bytes, padded.params.size(), o.slots, o.rounds, o.jobs);
  std::printf("%-44s %14s\n", "measure", "value");
  const std::string b = std::to_string(o.params_bytes) + " B params";
  PrintPaired("empty params", b.c_str(), p);
  std::printf("%-44s %14.1f\n", "state DB MiB (+wal), empty params", static_cast<double>(db_empty) / 1048576.0);
  std::printf("%-44s %14.1f\n", "state DB MiB (+wal), with params", static_cast<double>(db_big) / 1048576.0);
  nlohmann::json j = p.Json();
  j.update({{"params_bytes", o.params_bytes},
            {"params_encoded_bytes", padded.params.size()},
            {"db_bytes_empty", db_empty},
            {"db_bytes_params", db_big}});
  *out = std::move(j);
  return true;
}

// ---- api ------------------------------------------------------------------

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
  return v[i];
}

bool RunApi(const Options& o, Clock::time_point deadline, nlohmann::json* out) {
  Rig rig("api", o);
  TempDir files("sluice-bench-api");
  const std::string registry = files.path() + "/workflows.toml";
  std::ofstream(registry) << "[workflow.bench]\n[[workflow.bench.stage]]\nname = \"a\"\nkind = \"test.noop\"\n"
                             "[[workflow.bench.stage]]\nname = \"b\"\nkind = \"test.noop\"\ndepends_on = [\"a\"]\n";
  if (!rig.Start(o.slots, {"--http", "127.0.0.1:0", "--workflows", registry})) return false;
  const int port = LoggedHttpPort(*rig.cluster().broker());
  if (port <= 0) {
    std::cerr << "api: no HTTP port in the broker's log\n";
    rig.Fail();
    return false;
  }
  proto::JobSpec parked = Spec("test.noop");
  parked.queue = o.parked_queue;
  const std::vector<std::vector<proto::JobSpec>> templates{
      std::vector<proto::JobSpec>(static_cast<std::size_t>(o.batch), Spec("test.noop")),
      std::vector<proto::JobSpec>(static_cast<std::size_t>(o.batch), parked)};
  std::vector<long> counts{0, 0};
  std::cerr << "preloading " << o.preload << " jobs\n";
  const auto t0 = Clock::now();
  if (o.preload > 0 && !SubmitPipelined(*rig.Producers(1)[0], templates, o.preload, o.window, deadline, &counts)) {
    rig.Fail();
    return false;
  }
  // A few dead jobs and runs, early in the DB's life is the worst case for
  // a scan: here they come last, the newest; the dead jobs index finds
  // them wherever they are.
  std::vector<proto::JobSpec> dead(5, Spec("test.fail", {{"succeed_on", 99}}, 1));
  if (!SubmitPipelined(*rig.Producers(1)[0], {dead}, 5, 1, deadline)) {
    rig.Fail();
    return false;
  }
  for (int i = 0; i < 10; ++i) (void)rig.stats().Request(proto::Command::kRun, {{"workflow", "bench"}}, Ms(30000));
  Clock::time_point t_done;
  if (!WaitSucceeded(rig, counts[0] + 20, deadline, &t_done)) {
    rig.Fail();
    return false;
  }
  std::cerr << "  preloaded in " << Seconds(t_done - t0) << " s\n";

  // (a) latency of each route, one request at a time.
  struct Route {
    const char* name;
    std::string path;
  };
  const std::vector<Route> routes = {
      {"overview", "/api/overview"},
      {"stats", "/api/stats"},
      {"workers", "/api/workers"},
      {"jobs (newest 100)", "/api/jobs"},
      {"jobs?state=dead", "/api/jobs?state=dead"},
      {"jobs?state=queued", "/api/jobs?state=queued"},
      {"jobs/j1 (oldest, detail)", "/api/jobs/j1"},
      {"runs?workflow=bench", "/api/runs?workflow=bench"},
      {"schedules", "/api/schedules"},
      {"extractions", "/api/extractions"},
  };
  nlohmann::json lat = nlohmann::json::object();
  std::printf("\n== api: %ld jobs in the state DB, /api answered by the loop ==\n", o.preload);
  std::printf("%-30s %10s %10s %10s\n", "route", "median ms", "p99 ms", "bytes");
  double worst_median = 0;
  for (const Route& r : routes) {
    std::vector<double> ms;
    std::size_t bytes = 0;
    for (long i = 0; i < o.api_requests; ++i) {
      const auto a = Clock::now();
      auto res = HttpGet(port, r.path);
      const auto b = Clock::now();
      if (!res || res->status != 200) {
        std::cerr << "api: GET " << r.path << " failed: " << (res ? std::to_string(res->status) : "no answer") << "\n";
        rig.Fail();
        return false;
      }
      bytes = res->body.size();
      ms.push_back(Seconds(b - a) * 1000.0);
    }
    const double med = Median(ms), p99 = Percentile(ms, 0.99);
    worst_median = std::max(worst_median, med);
    std::printf("%-30s %10.2f %10.2f %10zu\n", r.name, med, p99, bytes);
    lat[r.name] = {{"median_ms", Num(med, 2)}, {"p99_ms", Num(p99, 2)}, {"bytes", bytes}};
  }

  // (b) throughput, the page open (a poller) or not, alternated.
  const std::vector<proto::JobSpec> batch(static_cast<std::size_t>(o.batch), Spec("test.noop"));
  std::vector<double> closed, open, ratio;
  std::atomic<long> polls{0};
  for (long r = 0; r < o.rounds; ++r) {
    double e2e[2] = {NAN, NAN};
    for (int k = 0; k < 2; ++k) {
      const bool with_page = (k == 0) == (r % 2 == 1);
      std::atomic<bool> stop{false};
      std::thread poller;
      if (with_page)
        poller = std::thread([&] {
          while (!stop) {
            if (auto res = HttpGet(port, "/api/overview"); res && res->status == 200) polls++;
            for (long waited = 0; waited < o.poll_ms && !stop; waited += 10)
              std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
        });
      Round round;
      const bool ok = MeasureRound(rig, batch, o.jobs, 1, o.window, deadline, &round);
      stop = true;
      if (poller.joinable()) poller.join();
      if (!ok) return false;
      e2e[with_page ? 1 : 0] = round.e2e_per_s;
      std::cerr << "  round " << r + 1 << (with_page ? " page open" : " no page") << ": e2e "
                << std::lround(round.e2e_per_s) << " jobs/s\n";
    }
    closed.push_back(e2e[0]);
    open.push_back(e2e[1]);
    ratio.push_back(e2e[1] / e2e[0]);
  }
  std::printf("%-30s %10.0f\n", "e2e jobs/s, no page (median)", Median(closed));
  std::printf("%-30s %10.0f\n", "e2e jobs/s, page open", Median(open));
  std::printf("%-30s %10.3f\n", "open / none (median ratio)", Median(ratio));
  std::printf("%-30s %10ld\n", "overview requests answered", polls.load());
  *out = {{"preload", o.preload},
          {"latency", std::move(lat)},
          {"worst_median_ms", Num(worst_median, 2)},
          {"poll_ms", o.poll_ms},
          {"e2e_no_page", Num(Median(closed))},
          {"e2e_page_open", Num(Median(open))},
          {"page_ratio", Num(Median(ratio), 3)},
          {"page_ratios", ratio}};
  return true;
}

int Main(int argc, char** argv) {
  Options o;
  if (int code = ParseArgs(argc, argv, &o); code >= 0) return code;
  const auto deadline = Clock::now() + std::chrono::seconds(o.deadline_s);
  std::printf("sluice-bench-scale: brokers with durable defaults, 127.0.0.1; modes:");
  for (const char* m : kModes)
    if (o.modes.count(m)) std::printf(" %s", m);
  std::printf("\n");
  std::fflush(stdout);

  nlohmann::json line{{"bench", "scale"}, {"jobs", o.jobs}, {"batch", o.batch}, {"window", o.window},
                      {"slots", o.slots}, {"rounds", o.rounds}};
  struct ModeFn {
    const char* name;
    bool (*run)(const Options&, Clock::time_point, nlohmann::json*);
  };
  const ModeFn fns[] = {{"preload", RunPreload}, {"sockets", RunSockets}, {"producers", RunProducers},
                        {"params", RunParams},   {"api", RunApi}};
  for (const ModeFn& f : fns) {
    if (!o.modes.count(f.name)) continue;
    std::cerr << "== " << f.name << " ==\n";
    const auto t0 = Clock::now();
    nlohmann::json j;
    if (!f.run(o, deadline, &j)) {
      std::cerr << "mode " << f.name << " failed\n";
      return 1;
    }
    j["mode_seconds"] = Num(Seconds(Clock::now() - t0));
    line[f.name] = std::move(j);
    std::fflush(stdout);
  }
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) { return sluice::bench::Main(argc, argv); }
