// sluice-bench-throughput: end-to-end throughput and latency of a real
// broker + worker, over TCP on 127.0.0.1.
//
// Starts sluice-broker (durable defaults, temp state dir) and one
// sluice-worker with 4 slots as real processes, then:
//
//  (a) throughput: one producer submits --jobs test.noop jobs in batches of
//      --batch, pipelined (--window SUBMITs in flight). Reports
//        submit  jobs/s = jobs / (last SUBMIT reply - first send)
//        e2e     jobs/s = jobs / (the last DONE received - first send)
//      Every SUBMIT says `notify`: the broker pushes DONE for each job after
//      the commit that records its result.
//
//  (b) latency at a fixed rate: --rate jobs/s for --latency-jobs jobs, sent
//      as a batch every --tick-ms (rate * tick / 1000 jobs per batch). For
//      each job, latency = its DONE's arrival - the batch's *scheduled* send
//      time, in us on this process's steady clock. Measuring from the
//      schedule, not the actual send, counts any time the producer fell
//      behind (no coordinated omission). Also reported: the broker-side
//      view jobs.finished_ms - jobs.created_ms (state DB, whole ms).
//
// Prints a table and one JSON line (prefix-free, last line of stdout).
// Exit code 0 on success, 1 when something did not work (broker did not
// start, a SUBMIT failed, jobs did not finish before --deadline-s).
#include <signal.h>
#include <sys/timerfd.h>
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
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/measure.h"
#include "bench/zmq_floor.h"
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

struct Options {
  long jobs = 100000;
  long batch = 1000;
  long window = 8;
  long slots = 4;
  long prefetch = -1;  // -1: the worker's default (adaptive); N: --prefetch N
  long rate = 5000;
  long latency_jobs = 25000;
  long tick_ms = 10;
  long tick_us = 0;  // --tick-us: overrides --tick-ms (a batch every this many µs)
  long deadline_s = 600;
  std::string sync;  // "" = broker default
  bool keep = false;
  bool curve = false;  // every connection with CURVE keys (sluice keygen)
  std::string latency_csv;  // --latency-csv: one line per latency job
  long scrape_ms = 0;       // --scrape-ms: the broker's --http on, /metrics fetched this often
  int floor = 1;            // --floor: the latency phase's pacing over a bare libzmq relay too
};

// The latency phase's period in µs: --tick-us, else --tick-ms.
long TickUs(const Options& o) { return o.tick_us > 0 ? o.tick_us : o.tick_ms * 1000; }

// Fills `o` from the command line (CLI11). -1: go on; otherwise the exit
// code (0 after --help, 2 on a bad argument).
int ParseArgs(int argc, char** argv, Options* o) {
  CLI::App app{"sluice-bench-throughput: end-to-end throughput and latency of a real broker and worker,\n"
               "over TCP on 127.0.0.1 (bench/README.md). Binaries from $SLUICE_BIN_DIR or the build's bin/."};
  app.add_option("--jobs", o->jobs, "jobs of the throughput phase")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--batch", o->batch, "jobs per SUBMIT")->check(CLI::Range(1, 10000))->capture_default_str();
  app.add_option("--window", o->window, "SUBMITs in flight")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--slots", o->slots, "the worker's --slots")->check(CLI::PositiveNumber)->capture_default_str();
  std::string prefetch = "auto";
  app.add_option("--prefetch", prefetch, "the worker's --prefetch: auto (adaptive, its default) or N")
      ->check([](const std::string& v) {
        return v == "auto" || (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos && v.size() < 6)
                   ? std::string()
                   : std::string("must be auto or a number");
      })
      ->capture_default_str();
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
  app.add_option("--sync", o->sync, "the broker's --sync (default: its own)")->check(CLI::IsMember({"normal", "full"}));
  app.add_option("--deadline-s", o->deadline_s, "give up after this long")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--latency-csv", o->latency_csv,
                 "write each latency job as `scheduled_us,latency_us,job` (scheduled: µs since the phase began)");
  app.add_option("--scrape-ms", o->scrape_ms,
                 "start the broker with HTTP on and GET /metrics this often all along, as a Prometheus "
                 "server or a status page would (0: the broker without HTTP)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--floor", o->floor,
                 "1: after the latency phase, the same pacing over a bare libzmq relay (producer -> relay -> "
                 "echo and back, no state): the transport's floor, floor_p50_us/floor_p99_us; 0: not")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  app.add_flag("--keep", o->keep, "keep the temp folder (state, logs)");
  app.add_flag("--curve", o->curve, "every connection with CURVE keys (sluice keygen)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  o->prefetch = prefetch == "auto" ? -1 : std::stol(prefetch);
  return -1;
}

// The processes under test; set once they run. The waits below give up as
// soon as one of them has died, instead of waiting for the deadline.
Cluster* g_cluster = nullptr;

bool ProcessesAlive() {
  if (g_cluster == nullptr) return true;
  bool ok = g_cluster->broker() != nullptr && g_cluster->broker()->Running();
  for (auto& w : g_cluster->workers()) ok = ok && w->Running();
  if (!ok) std::cerr << "a process under test has exited\n";
  return ok;
}

struct ThroughputResult {
  double submit_per_s = 0;
  double e2e_per_s = 0;
  double submit_s = 0;
  double e2e_s = 0;
};

bool RunThroughput(const Options& o, WireClient& producer, ThroughputResult* r, Clock::time_point deadline) {
  const std::vector<proto::JobSpec> batch(static_cast<std::size_t>(o.batch), Spec("test.noop"));
  long sent = 0, acked = 0, done = 0, in_flight = 0;
  const auto t0 = Clock::now();
  Clock::time_point t_submitted;
  // Every SUBMIT asks for DONE: the end is the last DONE, pushed after the
  // commit that records the last result (no polling on the side).
  while (acked < o.jobs || done < o.jobs) {
    while (sent < o.jobs && in_flight < o.window) {
      long n = std::min(o.batch, o.jobs - sent);
      if (n == o.batch) producer.SendSubmit(batch, true);
      else producer.SendSubmit(std::vector<proto::JobSpec>(batch.begin(), batch.begin() + n), true);
      sent += n;
      ++in_flight;
    }
    auto reply = producer.ReceiveSubmitReply(Ms(1000));
    if (!reply) {
      // Give up as soon as the broker or the worker has died; otherwise
      // wait for the deadline.
      if (ProcessesAlive() && Clock::now() < deadline) continue;
      std::cerr << "stopped waiting: " << acked << " submitted, " << done << " done of " << o.jobs << "\n";
      return false;
    }
    if (!reply->error.empty()) {
      std::cerr << "SUBMIT failed: " << reply->error << "\n";
      return false;
    }
    if (reply->done) {
      if (reply->done->state != JobState::kSucceeded) {
        std::cerr << "job " << reply->done->job << " ended " << JobStateName(reply->done->state) << "\n";
        return false;
      }
      ++done;
    } else {
      acked += static_cast<long>(reply->jobs.size());
      --in_flight;
      if (acked == o.jobs) t_submitted = Clock::now();
    }
    if (Clock::now() > deadline) return false;
  }
  const auto t_done = Clock::now();
  r->submit_s = Seconds(t_submitted - t0);
  r->e2e_s = Seconds(t_done - t0);
  r->submit_per_s = static_cast<double>(o.jobs) / r->submit_s;
  r->e2e_per_s = static_cast<double>(o.jobs) / r->e2e_s;
  return true;
}

struct LatencyResult {
  long jobs = 0;
  double achieved_rate = 0;
  // Microseconds from a batch's scheduled send time to the DONE the broker
  // pushes once the job's end is committed (steady clock of this process).
  double p50_us = NAN, p90_us = NAN, p99_us = NAN, max_us = NAN;
  double server_p50 = NAN, server_p99 = NAN;  // finished_ms - created_ms (the state DB, whole ms)
};

std::int64_t SteadyUs(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// The next reply or DONE on `c`, waiting no later than `due` (to the
// microsecond: zmq_poll counts whole milliseconds, so a timerfd on the
// steady clock wakes the wait). nullopt at `due`.
std::optional<WireClient::SubmitAnswer> ReceiveBefore(WireClient& c, int timer_fd, Clock::time_point due) {
  itimerspec at{};
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(due.time_since_epoch()).count();
  at.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
  at.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
  if (at.it_value.tv_sec == 0 && at.it_value.tv_nsec == 0) at.it_value.tv_nsec = 1;
  // Whatever is queued first, without arming the timer or polling.
  if (auto a = c.ReceiveSubmitReply(Ms(0))) return a;
  ::timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &at, nullptr);
  while (Clock::now() < due) {
    zmq_pollitem_t items[2] = {{c.socket().handle(), 0, ZMQ_POLLIN, 0}, {nullptr, timer_fd, ZMQ_POLLIN, 0}};
    if (zmq_poll(items, 2, 1000) < 0 && errno != EINTR) break;
    if (items[1].revents & ZMQ_POLLIN) {
      std::uint64_t expirations = 0;
      ssize_t ignored = ::read(timer_fd, &expirations, sizeof expirations);
      (void)ignored;
    }
    if (items[0].revents & ZMQ_POLLIN) {
      auto a = c.ReceiveSubmitReply(Ms(0));
      if (a) return a;
    }
  }
  return std::nullopt;
}

bool RunLatency(const Options& o, WireClient& producer, const std::string& state_path, LatencyResult* r,
                Clock::time_point deadline) {
  if (o.latency_jobs == 0 || o.rate == 0) return true;
  const long per_tick = std::max<long>(1, o.rate * TickUs(o) / 1000000);
  const std::vector<proto::JobSpec> batch(static_cast<std::size_t>(per_tick), Spec("test.noop"));
  std::map<std::uint64_t, std::int64_t> scheduled_by_req;   // req -> scheduled steady us
  std::map<std::string, std::int64_t> scheduled_by_job;     // job id -> scheduled steady us
  std::map<std::string, std::int64_t> done_at;              // job id -> DONE received, steady us
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(o.latency_jobs));

  const auto start = Clock::now();
  long sent = 0, acked = 0, done = 0, tick = 0;
  auto handle = [&](const WireClient::SubmitAnswer& a) {
    if (!a.error.empty()) return false;
    if (a.done) {
      if (a.done->state != JobState::kSucceeded) return false;
      done_at[a.done->job] = SteadyUs(Clock::now());
      ++done;
      return true;
    }
    std::int64_t at = scheduled_by_req[a.req];
    scheduled_by_req.erase(a.req);
    for (const auto& j : a.jobs) {
      scheduled_by_job[j.id] = at;
      ids.push_back(j.id);
    }
    acked += static_cast<long>(a.jobs.size());
    return true;
  };
  const int timer_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (timer_fd < 0) {
    std::perror("timerfd_create");
    return false;
  }
  struct CloseFd {
    int fd;
    ~CloseFd() { ::close(fd); }
  } close_timer{timer_fd};
  while (sent < o.latency_jobs) {
    const auto due = start + std::chrono::microseconds(tick * TickUs(o));
    // Take replies and DONEs until the batch is due.
    while (Clock::now() < due) {
      auto a = ReceiveBefore(producer, timer_fd, due);
      if (a && !handle(*a)) {
        std::cerr << "SUBMIT failed or a job did not succeed: " << a->error << "\n";
        return false;
      }
    }
    long n = std::min(per_tick, o.latency_jobs - sent);
    std::uint64_t req =
        n == per_tick ? producer.SendSubmit(batch, true)
                      : producer.SendSubmit(std::vector<proto::JobSpec>(batch.begin(), batch.begin() + n), true);
    scheduled_by_req[req] = SteadyUs(due);
    sent += n;
    ++tick;
    if (Clock::now() > deadline) return false;
  }
  const auto end_send = Clock::now();
  while (acked < o.latency_jobs || done < o.latency_jobs) {
    auto a = producer.ReceiveSubmitReply(std::chrono::duration_cast<Ms>(
        std::max(Clock::duration::zero(), deadline - Clock::now())));
    if (!a || !handle(*a)) {
      std::cerr << "missing SUBMIT replies or DONEs in the latency run (" << acked << " replies, " << done
                << " done of " << o.latency_jobs << ")\n";
      return false;
    }
  }
  r->jobs = o.latency_jobs;
  r->achieved_rate = static_cast<double>(o.latency_jobs) / std::max(1e-9, Seconds(end_send - start));
  std::vector<std::int64_t> lat;
  lat.reserve(ids.size());
  for (const std::string& id : ids) lat.push_back(done_at.at(id) - scheduled_by_job.at(id));
  if (!o.latency_csv.empty()) {
    std::ofstream csv(o.latency_csv);
    const std::int64_t t0 = SteadyUs(start);
    for (std::size_t i = 0; i < ids.size(); ++i)
      csv << scheduled_by_job.at(ids[i]) - t0 << ',' << lat[i] << ',' << ids[i] << '\n';
    if (!csv) std::cerr << "cannot write " << o.latency_csv << "\n";
  }
  std::sort(lat.begin(), lat.end());
  r->p50_us = Quantile(lat, 0.50);
  r->p90_us = Quantile(lat, 0.90);
  r->p99_us = Quantile(lat, 0.99);
  r->max_us = lat.empty() ? NAN : static_cast<double>(lat.back());

  // The broker's own view, from the state DB (whole milliseconds).
  StateDb db(state_path);
  if (!db.ok()) {
    std::cerr << db.error() << "\n";
    return false;
  }
  long long lo = std::atoll(ids.front().c_str() + 1), hi = std::atoll(ids.back().c_str() + 1);
  std::vector<std::int64_t> server;
  for (const auto& row : db.Query("SELECT finished_ms - created_ms AS d FROM jobs WHERE seq BETWEEN " +
                                  std::to_string(lo) + " AND " + std::to_string(hi) +
                                  " AND finished_ms IS NOT NULL"))
    server.push_back(row["d"].get<std::int64_t>());
  std::sort(server.begin(), server.end());
  r->server_p50 = Quantile(server, 0.50);
  r->server_p99 = Quantile(server, 0.99);
  return true;
}

int Main(int argc, char** argv) {
  Options o;
  if (int code = ParseArgs(argc, argv, &o); code >= 0) return code;
  TempDir dir("sluice-bench");
  if (o.keep) dir.Keep();
  Cluster cluster(dir.path());
  std::vector<std::string> broker_args;
  if (!o.sync.empty()) broker_args = {"--sync", o.sync};
  // --curve: keys made as a user would, the worker and the bench's clients
  // authorized (the clients as admins).
  const std::string keys = dir.path() + "/keys", auth = dir.path() + "/authorized";
  curve::ClientKeys client_keys;
  std::vector<std::string> worker_curve;
  if (o.curve) {
    for (const char* name : {"broker", "worker", "bench"}) {
      CommandResult r = cluster.Cli({"keygen", name, "--out", keys}, Ms(30000), false);
      if (!r.status.exited || r.status.code != 0) {
        std::cerr << "keygen: " << r.Describe() << "\n";
        return 1;
      }
    }
    std::filesystem::create_directories(auth + "/workers");
    std::filesystem::create_directories(auth + "/admins");
    std::filesystem::copy_file(keys + "/worker.pub", auth + "/workers/worker.pub");
    std::filesystem::copy_file(keys + "/bench.pub", auth + "/admins/bench.pub");
    broker_args.insert(broker_args.end(), {"--curve-key", keys + "/broker.key", "--authorized", auth});
    worker_curve = {"--curve-key", keys + "/worker.key", "--broker-key", keys + "/broker.pub"};
    auto loaded = curve::LoadClientKeys(keys + "/bench.key", keys + "/broker.pub");
    if (!loaded.ok()) {
      std::cerr << loaded.status().ToString() << "\n";
      return 1;
    }
    client_keys = *loaded;
  }
  if (o.scrape_ms > 0) broker_args.insert(broker_args.end(), {"--http", "127.0.0.1:0"});
  Status s = cluster.StartBroker(broker_args);
  if (!s.ok()) {
    std::cerr << "broker: " << s.ToString() << "\n";
    dir.Keep();
    return 1;
  }
  // --scrape-ms: a scraper thread for the whole run; scrapes that got 200.
  std::atomic<bool> scraping{o.scrape_ms > 0};
  std::atomic<long> scrapes{0};
  std::thread scraper;
  if (o.scrape_ms > 0) {
    const int port = LoggedHttpPort(*cluster.broker());
    if (port <= 0) {
      std::cerr << "the broker logged no HTTP port\n" << cluster.Describe();
      return 1;
    }
    scraper = std::thread([&, port] {
      while (scraping.load()) {
        auto r = HttpGet(port, "/metrics");
        if (r && r->status == 200) ++scrapes;
        std::this_thread::sleep_for(std::chrono::milliseconds(o.scrape_ms));
      }
    });
  }
  struct StopScraper {
    std::atomic<bool>& flag;
    std::thread& t;
    ~StopScraper() {
      flag = false;
      if (t.joinable()) t.join();
    }
  } stop_scraper{scraping, scraper};
  std::vector<std::string> worker_args;
  if (o.prefetch >= 0) worker_args = {"--prefetch", std::to_string(o.prefetch)};
  worker_args.insert(worker_args.end(), worker_curve.begin(), worker_curve.end());
  cluster.StartWorker(static_cast<int>(o.slots), worker_args);
  g_cluster = &cluster;
  WireClient producer(cluster.endpoint(), client_keys);
  WireClient stats(cluster.endpoint(), client_keys);
  // Wait for the worker, so the clock measures the pipeline, not start-up.
  bool worker_up = WaitUntil(
      [&] {
        Answer a = stats.Workers(Ms(10000));
        return a.ok() && a.body.contains("workers") && a.body["workers"].is_array() &&
               !a.body["workers"].empty();
      },
      Ms(60000));
  if (!worker_up) {
    std::cerr << "the worker never connected\n" << cluster.Describe();
    dir.Keep();
    return 1;
  }
  const auto deadline = Clock::now() + std::chrono::seconds(o.deadline_s);

  ThroughputResult tr;
  if (o.jobs > 0 && !RunThroughput(o, producer, &tr, deadline)) {
    std::cerr << cluster.Describe();
    dir.Keep();
    return 1;
  }
  LatencyResult lr;
  if (!RunLatency(o, producer, cluster.state_path(), &lr, deadline)) {
    std::cerr << cluster.Describe();
    dir.Keep();
    return 1;
  }
  // The transport's floor, paced the same, while the cluster is idle.
  FloorResult fr;
  const bool floor = o.floor && lr.jobs > 0;
  if (floor && !MeasureZmqFloor(lr.jobs, std::max<long>(1, o.rate * TickUs(o) / 1000000), TickUs(o),
                                std::max<long>(60, o.deadline_s), &fr))
    return 1;

  std::printf("sluice-bench-throughput: 1 broker (durable defaults%s), 1 worker x %ld slots "
              "(prefetch %s), 127.0.0.1%s\n",
              o.sync.empty() ? "" : (", --sync " + o.sync).c_str(), o.slots,
              o.prefetch < 0 ? "auto" : std::to_string(o.prefetch).c_str(),
              o.curve ? ", CURVE" : "");
  std::printf("%-34s %14s\n", "measure", "value");
  std::printf("%-34s %14ld\n", "throughput jobs (test.noop)", o.jobs);
  std::printf("%-34s %14.0f\n", "submit jobs/s", tr.submit_per_s);
  std::printf("%-34s %14.0f\n", "end-to-end jobs/s", tr.e2e_per_s);
  std::printf("%-34s %14.3f\n", "end-to-end seconds", tr.e2e_s);
  std::printf("%-34s %14ld\n", "latency jobs", lr.jobs);
  std::printf("%-34s %14.0f\n", "latency target jobs/s", static_cast<double>(o.rate));
  std::printf("%-34s %14.0f\n", "latency achieved send jobs/s", lr.achieved_rate);
  std::printf("%-34s %14.0f\n", "latency p50 us (sched->DONE)", lr.p50_us);
  std::printf("%-34s %14.0f\n", "latency p90 us", lr.p90_us);
  std::printf("%-34s %14.0f\n", "latency p99 us", lr.p99_us);
  std::printf("%-34s %14.0f\n", "latency max us", lr.max_us);
  if (floor) {
    std::printf("%-34s %14.0f\n", "floor p50 us (bare zmq relay)", fr.p50_us);
    std::printf("%-34s %14.0f\n", "floor p99 us", fr.p99_us);
  }
  std::printf("%-34s %14.1f\n", "broker-side p50 ms (created->fin)", lr.server_p50);
  std::printf("%-34s %14.1f\n", "broker-side p99 ms", lr.server_p99);

  auto num = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(std::round(v * 10) / 10); };
  nlohmann::json line{{"bench", "throughput"},
                      {"jobs", o.jobs},
                      {"batch", o.batch},
                      {"window", o.window},
                      {"slots", o.slots},
                      {"prefetch", o.prefetch < 0 ? json("auto") : json(o.prefetch)},
                      {"sync", o.sync.empty() ? "default" : o.sync},
                      {"curve", o.curve},
                      {"submit_jobs_per_s", num(tr.submit_per_s)},
                      {"e2e_jobs_per_s", num(tr.e2e_per_s)},
                      {"latency_rate", o.rate},
                      {"latency_jobs", lr.jobs},
                      {"latency_achieved_rate", num(lr.achieved_rate)},
                      {"p50_us", num(lr.p50_us)},
                      {"p90_us", num(lr.p90_us)},
                      {"p99_us", num(lr.p99_us)},
                      {"max_us", num(lr.max_us)},
                      {"p50_ms", num(lr.p50_us / 1000)},
                      {"p90_ms", num(lr.p90_us / 1000)},
                      {"p99_ms", num(lr.p99_us / 1000)},
                      {"max_ms", num(lr.max_us / 1000)},
                      {"server_p50_ms", num(lr.server_p50)},
                      {"server_p99_ms", num(lr.server_p99)},
                      {"floor_p50_us", floor ? num(fr.p50_us) : json()},
                      {"floor_p90_us", floor ? num(fr.p90_us) : json()},
                      {"floor_p99_us", floor ? num(fr.p99_us) : json()},
                      {"scrape_ms", o.scrape_ms},
                      {"scrapes", scrapes.load()}};
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
  // A clean stop, so the numbers are not followed by a kill in the logs.
  cluster.StopBroker(SIGTERM, Ms(30000));
  return 0;
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) { return sluice::bench::Main(argc, argv); }
