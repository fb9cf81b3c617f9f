// sluice-bench-extract: the extract stage against a peer, in one run.
//
// A local nginx serves N small files (1 KiB CSVs). Then:
//   sluice   N extract.http jobs on 1 worker with --slots S (the source's
//            concurrency limit raised to S): files/s from first SUBMIT until
//            the broker has recorded the last result;
//   sluice   the same N again: every one is a conditional GET answered 304;
//   curl     `xargs -P S curl -R -o FILE URL` over the same N URLs (a
//            process per file);
//   curl     again with `-z FILE` (If-Modified-Since; -R gave each file the
//            server's Last-Modified, which nginx wants exactly): all 304;
//   curl -Z  one `curl -Z --parallel-max S -K CONFIG` process fetching the
//            same N URLs with -R (kept-alive connections, no process per
//            file);
//   curl -Z  again, `time-cond = FILE` per URL (If-Modified-Since): all 304;
//   floor    the landing steps alone (bench/landing_floor.h): N files of the
//            same size landed by S threads, as durably as sluice lands them,
//            with no fetch, gzip, hash, broker or worker;
//   handler  extract.http's handler called directly for the same N URLs on
//            S threads (bench/handler_floor.h): the stage's whole work with
//            no job system; every request must get a 200.
// Each measurement is repeated --rounds times (fresh landing dirs); the
// median is printed, with min–max, and the median of the per-round ratios
// sluice / curl -Z (same round, so machine noise mostly cancels). The
// "again" rounds are checked against nginx's access log: every answer 304.
// Start-up of the processes is not timed. `--peers 0` runs sluice only (for
// profiling).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/handler_floor.h"
#include "bench/landing_floor.h"
#include "bench/measure.h"
#include "tests/integration/cluster.h"
#include "tests/integration/temp_dir.h"
#include "tests/integration/wire_client.h"
#include "tests/workers/nginx_server.h"

namespace {

using namespace sluice::testing;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  int files = 1000;
  int slots = 8;
  int rounds = 3;
  int peers = 1;  // 0: sluice only
  int prefetch = -1;  // the worker's --prefetch; -1: its default (auto, adaptive)
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string Range(const std::vector<double>& v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f-%.0f", *std::min_element(v.begin(), v.end()),
                *std::max_element(v.begin(), v.end()));
  return buf;
}


// CPU seconds of the finished children this process has waited for (the
// curl runs: sh, xargs and curl).
double ChildrenCpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_CHILDREN, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

// Submits one extract job per URL (SUBMIT `notify`) and waits for a DONE of
// each: pushed by the broker when a job ends, so the bench adds no polling
// to the broker's work (STATS every 5 ms was ~a quarter of its CPU per
// file). Returns files/s, or a negative number when a job did not succeed.
double RunSluice(WireClient& client, const std::vector<std::string>& urls, const std::string& source,
                 int slots) {
  std::vector<sluice::proto::JobSpec> specs;
  for (const auto& u : urls)
    specs.push_back(Spec("extract.http", {{"source", source}, {"url", u}, {"date", "2024-03"},
                                          {"concurrency_limit", slots}}));
  const auto t0 = Clock::now();
  std::size_t replies_due = 0;
  for (std::size_t i = 0; i < specs.size(); i += 1000) {
    std::vector<sluice::proto::JobSpec> part(specs.begin() + static_cast<long>(i),
                                             specs.begin() + static_cast<long>(std::min(specs.size(), i + 1000)));
    client.SendSubmit(part, /*notify=*/true);
    ++replies_due;
  }
  const auto deadline = t0 + std::chrono::minutes(10);
  std::size_t done = 0;
  while (done < urls.size() || replies_due > 0) {
    const auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now());
    if (left <= Ms(0)) return -1;
    std::optional<WireClient::SubmitAnswer> a = client.ReceiveSubmitReply(std::min(left, Ms(30000)));
    if (!a) return -1;
    if (a->done) {
      if (a->done->state != sluice::JobState::kSucceeded) return -1;
      ++done;
    } else {
      if (!a->error.empty()) return -1;
      --replies_due;
    }
  }
  return static_cast<double>(urls.size()) / std::chrono::duration<double>(Clock::now() - t0).count();
}

// xargs -P: a curl process per file. The first run keeps the server's
// Last-Modified as each file's mtime (-R), so that `-z FILE` sends exactly
// that date again (nginx's if_modified_since is `exact` by default).
double RunCurl(const std::vector<std::string>& urls, const fs::path& dir, int slots, bool conditional) {
  fs::create_directories(dir);
  const fs::path list = dir / "list.txt";
  {
    std::ofstream f(list);
    for (std::size_t i = 0; i < urls.size(); ++i) f << (dir / ("f" + std::to_string(i))).string() << ' ' << urls[i] << '\n';
  }
  std::string cmd = "xargs -P " + std::to_string(slots) + " -n 2 sh -c 'curl -sf " +
                    std::string(conditional ? "-z \"$0\" " : "-R ") + "-o \"$0\" \"$1\"' < " + list.string();
  const auto t0 = Clock::now();
  int rc = std::system(cmd.c_str());
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return rc == 0 ? static_cast<double>(urls.size()) / s : -1;
}

// One curl process: `curl -s -Z --parallel-max S -K CONFIG`. The first run's
// config is one list of url/output pairs with `remote-time` (each file gets
// the server's Last-Modified as its mtime, as with xargs above); the again
// run's needs a condition per file, so a group per file (url, output,
// `time-cond = FILE`) separated by `next`. Either way one process, its
// connections kept alive and reused.
double RunCurlParallel(const std::vector<std::string>& urls, const fs::path& dir, int slots,
                       bool conditional) {
  fs::create_directories(dir);
  const fs::path config = dir / (conditional ? "again.curlrc" : "first.curlrc");
  {
    std::ofstream f(config);
    if (!conditional) f << "remote-time\nfail\n";
    for (std::size_t i = 0; i < urls.size(); ++i) {
      const std::string out = (dir / ("f" + std::to_string(i))).string();
      if (conditional && i > 0) f << "next\n";
      f << "url = \"" << urls[i] << "\"\noutput = \"" << out << "\"\n";
      if (conditional) f << "fail\ntime-cond = \"" << out << "\"\n";
    }
  }
  // The progress meter of -Z ignores -s in curl 7.88: stderr to a file.
  const std::string cmd = "curl -s -Z --parallel-max " + std::to_string(slots) + " -K " + config.string() +
                          " 2>" + (dir / "curl.err").string();
  const auto t0 = Clock::now();
  int rc = std::system(cmd.c_str());
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return rc == 0 ? static_cast<double>(urls.size()) / s : -1;
}

// How many of nginx's last `n` access-log lines (of `total` so far) are not
// `status`: 0 when every request of the last run got it.
std::size_t NotStatus(const sluice::worker::testing::NginxServer& origin, std::size_t total, std::size_t n,
                      const std::string& status) {
  const std::vector<std::string> log = origin.AccessLog(total);
  if (log.size() < n) return n;
  std::size_t bad = 0;
  for (std::size_t i = log.size() - n; i < log.size(); ++i)
    if (!log[i].starts_with(status + " ")) ++bad;
  return bad;
}

// Files landed under `landing` (all sources and partitions).
std::size_t CountLanded(const fs::path& landing) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(landing, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file() && it->path().extension() == ".gz") ++n;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"sluice-bench-extract: extract.http against curl (xargs, and curl -Z) on files from a local nginx "
               "(bench/README.md)"};
  app.add_option("--files", o.files, "files to fetch")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--slots", o.slots, "the worker's --slots and curl's parallelism")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--rounds", o.rounds, "rounds (medians are printed)")->check(CLI::PositiveNumber)->capture_default_str();
  std::string prefetch = "auto";
  app.add_option("--prefetch", prefetch, "the worker's --prefetch: auto (its default) or N")
      ->check([](const std::string& v) {
        return v == "auto" || (!v.empty() && v.size() < 6 && v.find_first_not_of("0123456789") == std::string::npos)
                   ? std::string()
                   : std::string("must be auto or a number");
      })
      ->capture_default_str();
  app.add_option("--peers", o.peers, "1: also curl; 0: sluice only (for profiling)")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  o.prefetch = prefetch == "auto" ? -1 : std::stoi(prefetch);
  if (!sluice::worker::testing::NginxInstalled()) {
    std::cerr << "sluice-bench-extract: nginx is not installed\n";
    return 77;
  }
  TempDir dir("sluice-bench-extract");
  sluice::worker::testing::NginxServer origin;
  if (!origin.ok()) {
    std::cerr << "nginx: " << origin.error() << "\n";
    return 1;
  }
  std::vector<std::string> urls;
  std::string row(1000, 'x');
  for (int i = 0; i < o.files; ++i) {
    std::string name = "files/f" + std::to_string(i) + ".csv";
    origin.WriteFile(name, "id,value\n" + std::to_string(i) + "," + row + "\n");
    urls.push_back(origin.Url("/" + name));
  }

  std::vector<double> first, again, curl_first, curl_again, curlz_first, curlz_again, ratio_first, ratio_again;
  std::vector<double> landing_floor, floor_ratio;  // the landing floor; floor / curl -Z per round
  // The handler floor; it ÷ curl -Z, and sluice's first run ÷ it, per round.
  std::vector<double> handler_floor, handler_ratio, sluice_of_handler;
  // CPU microseconds per file: broker, worker (sluice runs), curl -Z.
  std::vector<double> cpu_broker_first, cpu_worker_first, cpu_broker_again, cpu_worker_again, cpu_curlz_first,
      cpu_curlz_again, cpu_floor, cpu_handler;
  std::size_t logged = 0;  // nginx access-log lines so far
  const std::size_t n = static_cast<std::size_t>(o.files);
  for (int r = 0; r < o.rounds; ++r) {
    // A fresh broker, worker and landing zone per round (cursors start empty).
    const std::string round = dir.path() + "/round" + std::to_string(r);
    fs::create_directories(round);
    Cluster cluster(round);
    if (!cluster.StartBroker().ok()) return 1;
    std::vector<std::string> worker_args = {"--landing", round + "/landing"};
    if (o.prefetch >= 0) worker_args.insert(worker_args.end(), {"--prefetch", std::to_string(o.prefetch)});
    const pid_t worker = cluster.StartWorker(o.slots, worker_args).pid();
    const pid_t broker = cluster.broker()->pid();
    const double per_file_us = 1e6 / static_cast<double>(o.files);
    WireClient client(cluster.endpoint());
    std::string failed;
    // The worker has connected once a job ran: its start-up is outside the
    // figures (a warm-up file would prime the origin's cache too, so none).
    const double b0 = sluice::bench::CpuSeconds(broker), w0 = sluice::bench::CpuSeconds(worker);
    double f = RunSluice(client, urls, "bench", o.slots);
    const double b1 = sluice::bench::CpuSeconds(broker), w1 = sluice::bench::CpuSeconds(worker);
    if (f < 0) failed = "sluice first run";
    else if (std::size_t landed = CountLanded(round + "/landing"); landed != n)
      failed = "sluice first run: " + std::to_string(landed) + " files landed";
    logged += n;
    double a = failed.empty() ? RunSluice(client, urls, "bench", o.slots) : -1;
    const double b2 = sluice::bench::CpuSeconds(broker), w2 = sluice::bench::CpuSeconds(worker);
    cpu_broker_first.push_back((b1 - b0) * per_file_us);
    cpu_worker_first.push_back((w1 - w0) * per_file_us);
    cpu_broker_again.push_back((b2 - b1) * per_file_us);
    cpu_worker_again.push_back((w2 - w1) * per_file_us);
    logged += n;
    if (failed.empty() && a < 0) failed = "sluice again";
    else if (failed.empty() && NotStatus(origin, logged, n, "304") != 0) failed = "sluice again: not all 304";
    double cf = 0, ca = 0, zf = 0, za = 0;
    if (o.peers && failed.empty()) {
      const std::string xdir = dir.path() + "/curl" + std::to_string(r), zdir = dir.path() + "/curlz" + std::to_string(r);
      if ((cf = RunCurl(urls, xdir, o.slots, false)) < 0) failed = "xargs curl first run";
      logged += n;
      if (failed.empty() && (ca = RunCurl(urls, xdir, o.slots, true)) < 0) failed = "xargs curl -z";
      logged += n;
      if (failed.empty() && NotStatus(origin, logged, n, "304") != 0) failed = "xargs curl -z: not all 304";
      const double c0 = ChildrenCpuSeconds();
      if (failed.empty() && (zf = RunCurlParallel(urls, zdir, o.slots, false)) < 0) failed = "curl -Z first run";
      const double c1 = ChildrenCpuSeconds();
      logged += n;
      if (failed.empty() && (za = RunCurlParallel(urls, zdir, o.slots, true)) < 0) failed = "curl -Z again";
      const double c2 = ChildrenCpuSeconds();
      cpu_curlz_first.push_back((c1 - c0) * per_file_us);
      cpu_curlz_again.push_back((c2 - c1) * per_file_us);
      logged += n;
      if (failed.empty() && NotStatus(origin, logged, n, "304") != 0) failed = "curl -Z again: not all 304";
    }
    // The landing floor, in a folder of its own, files the size nginx serves.
    const double fc0 = sluice::bench::CpuSeconds(::getpid());
    const double lf = failed.empty()
                          ? sluice::bench::MeasureLandingFloor(round + "/floor", o.files, o.slots, row.size() + 15)
                          : 0;
    cpu_floor.push_back((sluice::bench::CpuSeconds(::getpid()) - fc0) * per_file_us);
    if (failed.empty() && lf < 0) failed = "the landing floor";
    // The handler floor: the same URLs into a landing zone of its own, by
    // extract.http's handler called directly (first-run requests: 200s).
    const double hc0 = sluice::bench::CpuSeconds(::getpid());
    const double hf =
        failed.empty() ? sluice::bench::MeasureHandlerFloor(round + "/handler", urls, "bench", "2024-03", o.slots) : 0;
    cpu_handler.push_back((sluice::bench::CpuSeconds(::getpid()) - hc0) * per_file_us);
    logged += n;
    if (failed.empty() && hf < 0) failed = "the handler floor";
    else if (failed.empty() && NotStatus(origin, logged, n, "200") != 0) failed = "the handler floor: not all 200";
    if (!failed.empty()) {
      std::cerr << "a run failed: " << failed << "\n" << cluster.Describe();
      dir.Keep();
      return 1;
    }
    first.push_back(f);
    again.push_back(a);
    landing_floor.push_back(lf);
    handler_floor.push_back(hf);
    sluice_of_handler.push_back(f / hf);
    if (o.peers) {
      curl_first.push_back(cf);
      curl_again.push_back(ca);
      curlz_first.push_back(zf);
      curlz_again.push_back(za);
      ratio_first.push_back(f / zf);
      ratio_again.push_back(a / za);
      floor_ratio.push_back(lf / zf);
      handler_ratio.push_back(hf / zf);
    }
  }
  std::printf("sluice-bench-extract: %d files of ~1 KiB from a local nginx, %d slots, %d rounds (median, min-max)\n",
              o.files, o.slots, o.rounds);
  std::printf("%-40s %10s %14s\n", "measure", "files/s", "range");
  std::printf("%-40s %10.0f %14s\n", "sluice extract.http, first run", Median(first), Range(first).c_str());
  std::printf("%-40s %10.0f %14s\n", "sluice extract.http, again (all 304)", Median(again), Range(again).c_str());
  std::printf("%-40s %10.0f %14s\n", "landing floor (landing steps alone)", Median(landing_floor),
              Range(landing_floor).c_str());
  std::printf("%-40s %10.0f %14s\n", "handler floor (extract.http, no broker)", Median(handler_floor),
              Range(handler_floor).c_str());
  std::printf("%-40s %10.2f\n", "sluice / handler floor, first run", Median(sluice_of_handler));
  std::printf("CPU us per file (median): first run broker %.0f + worker %.0f; again broker %.0f + worker %.0f",
              Median(cpu_broker_first), Median(cpu_worker_first), Median(cpu_broker_again), Median(cpu_worker_again));
  std::printf("; landing floor %.0f; handler floor %.0f", Median(cpu_floor), Median(cpu_handler));
  if (o.peers)
    std::printf("; curl -Z %.0f first, %.0f again", Median(cpu_curlz_first), Median(cpu_curlz_again));
  std::printf("\n");
  if (!o.peers) {
    std::printf("{\"bench\":\"extract\",\"files\":%d,\"slots\":%d,\"sluice_first\":%.0f,\"sluice_again\":%.0f,"
                "\"landing_floor\":%.0f,\"handler_floor\":%.0f,\"ratio_sluice_handler\":%.2f}\n",
                o.files, o.slots, Median(first), Median(again), Median(landing_floor), Median(handler_floor),
                Median(sluice_of_handler));
    return 0;
  }
  std::printf("%-40s %10.0f %14s\n", "xargs -P curl, first run", Median(curl_first), Range(curl_first).c_str());
  std::printf("%-40s %10.0f %14s\n", "xargs -P curl -z, again (all 304)", Median(curl_again), Range(curl_again).c_str());
  std::printf("%-40s %10.0f %14s\n", "curl -Z --parallel-max, first run", Median(curlz_first),
              Range(curlz_first).c_str());
  std::printf("%-40s %10.0f %14s\n", "curl -Z -z, again (all 304)", Median(curlz_again),
              Range(curlz_again).c_str());
  std::printf("%-40s %10.2f\n", "sluice / curl -Z, first run (per round)", Median(ratio_first));
  std::printf("%-40s %10.2f\n", "sluice / curl -Z, again (per round)", Median(ratio_again));
  std::printf("%-40s %10.2f\n", "landing floor / curl -Z (per round)", Median(floor_ratio));
  std::printf("%-40s %10.2f\n", "handler floor / curl -Z (per round)", Median(handler_ratio));
  std::printf("{\"bench\":\"extract\",\"files\":%d,\"slots\":%d,\"sluice_first\":%.0f,\"sluice_again\":%.0f,"
              "\"curl_first\":%.0f,\"curl_again\":%.0f,\"curl_parallel_first\":%.0f,\"curl_parallel_again\":%.0f,"
              "\"ratio_first\":%.2f,\"ratio_again\":%.2f,\"landing_floor\":%.0f,\"ratio_floor\":%.2f,"
              "\"handler_floor\":%.0f,\"ratio_handler\":%.2f,\"ratio_sluice_handler\":%.2f}\n",
              o.files, o.slots, Median(first), Median(again), Median(curl_first), Median(curl_again),
              Median(curlz_first), Median(curlz_again), Median(ratio_first), Median(ratio_again), Median(landing_floor),
              Median(floor_ratio), Median(handler_floor), Median(handler_ratio), Median(sluice_of_handler));
  return 0;
}
