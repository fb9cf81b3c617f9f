// sluice-bench-extract: the extract stage against a peer, in one run.
//
// A local nginx serves N small files (1 KiB CSVs). Then:
//   sluice   N extract.http jobs on 1 worker with --slots S (the source's
//            concurrency limit raised to S): files/s from first SUBMIT until
//            the broker has recorded the last result;
//   sluice   the same N again: every one is a conditional GET answered 304;
//   curl     `xargs -P S curl -o FILE URL` over the same N URLs;
//   curl     again with `-z FILE` (If-Modified-Since): all 304.
// Each measurement is repeated --rounds times (fresh landing dirs); the
// median is printed, with min–max. Start-up of the processes is not timed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

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

// Submits one extract job per URL and waits until `expect_total` jobs have
// succeeded. Returns files/s, or a negative number on failure.
double RunSluice(WireClient& client, const std::vector<std::string>& urls, const std::string& source,
                 int slots, std::int64_t expect_total) {
  std::vector<sluice::proto::JobSpec> specs;
  for (const auto& u : urls)
    specs.push_back(Spec("extract.http", {{"source", source}, {"url", u}, {"date", "2024-03"},
                                          {"concurrency_limit", slots}}));
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < specs.size(); i += 1000) {
    std::vector<sluice::proto::JobSpec> part(specs.begin() + static_cast<long>(i),
                                             specs.begin() + static_cast<long>(std::min(specs.size(), i + 1000)));
    std::vector<sluice::proto::SubmittedJob> out;
    if (!client.Submit(part, &out, Ms(60000)).ok()) return -1;
  }
  const auto deadline = t0 + std::chrono::minutes(10);
  while (Clock::now() < deadline) {
    if (client.CountInState("succeeded", Ms(30000)) >= expect_total) {
      return static_cast<double>(urls.size()) / std::chrono::duration<double>(Clock::now() - t0).count();
    }
    if (client.CountInState("dead", Ms(30000)) > 0) return -1;
    std::this_thread::sleep_for(Ms(5));
  }
  return -1;
}

double RunCurl(const std::vector<std::string>& urls, const fs::path& dir, int slots, bool conditional) {
  fs::create_directories(dir);
  const fs::path list = dir / "list.txt";
  {
    std::ofstream f(list);
    for (std::size_t i = 0; i < urls.size(); ++i) f << (dir / ("f" + std::to_string(i))).string() << ' ' << urls[i] << '\n';
  }
  std::string cmd = "xargs -P " + std::to_string(slots) + " -n 2 sh -c 'curl -sf " +
                    std::string(conditional ? "-z \"$0\" " : "") + "-o \"$0\" \"$1\"' < " + list.string();
  const auto t0 = Clock::now();
  int rc = std::system(cmd.c_str());
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return rc == 0 ? static_cast<double>(urls.size()) / s : -1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (a == "--files" && v > 0) o.files = v;
    else if (a == "--slots" && v > 0) o.slots = v;
    else if (a == "--rounds" && v > 0) o.rounds = v;
    else {
      std::cerr << "usage: sluice-bench-extract [--files N] [--slots S] [--rounds R]\n";
      return 2;
    }
  }
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

  std::vector<double> first, again, curl_first, curl_again;
  std::int64_t total = 0;
  for (int r = 0; r < o.rounds; ++r) {
    // A fresh broker, worker and landing zone per round (cursors start empty).
    fs::create_directories(dir.path() + "/round" + std::to_string(r));
    Cluster cluster(dir.path() + "/round" + std::to_string(r));
    if (!cluster.StartBroker().ok()) return 1;
    cluster.StartWorker(o.slots, {"--landing", dir.path() + "/round" + std::to_string(r) + "/landing"});
    WireClient client(cluster.endpoint());
    total = 0;
    double f = RunSluice(client, urls, "bench", o.slots, total += o.files);
    double a = RunSluice(client, urls, "bench", o.slots, total += o.files);
    double cf = RunCurl(urls, dir.path() + "/curl" + std::to_string(r), o.slots, false);
    double ca = RunCurl(urls, dir.path() + "/curl" + std::to_string(r), o.slots, true);
    if (f < 0 || a < 0 || cf < 0 || ca < 0) {
      std::cerr << "a run failed\n" << cluster.Describe();
      dir.Keep();
      return 1;
    }
    first.push_back(f);
    again.push_back(a);
    curl_first.push_back(cf);
    curl_again.push_back(ca);
  }
  std::printf("sluice-bench-extract: %d files of ~1 KiB from a local nginx, %d slots, %d rounds (median, min-max)\n",
              o.files, o.slots, o.rounds);
  std::printf("%-40s %10s %14s\n", "measure", "files/s", "range");
  std::printf("%-40s %10.0f %14s\n", "sluice extract.http, first run", Median(first), Range(first).c_str());
  std::printf("%-40s %10.0f %14s\n", "sluice extract.http, again (all 304)", Median(again), Range(again).c_str());
  std::printf("%-40s %10.0f %14s\n", "xargs -P curl, first run", Median(curl_first), Range(curl_first).c_str());
  std::printf("%-40s %10.0f %14s\n", "xargs -P curl -z, again (all 304)", Median(curl_again), Range(curl_again).c_str());
  std::printf("{\"bench\":\"extract\",\"files\":%d,\"slots\":%d,\"sluice_first\":%.0f,\"sluice_again\":%.0f,"
              "\"curl_first\":%.0f,\"curl_again\":%.0f}\n",
              o.files, o.slots, Median(first), Median(again), Median(curl_first), Median(curl_again));
  return 0;
}
