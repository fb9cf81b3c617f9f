// sluice-bench-s3: uploading landing files to S3, beside `aws s3 cp`.
//
// The test S3 store (tests/s3/s3_front.py: s3rver behind a Python front that
// verifies every request's SigV4 signature and payload SHA-256) runs on
// 127.0.0.1 with one bucket, sluice-bench. The bench writes landing-like
// files to a temp folder:
//   small/{source}/{YYYY}/{MM}/{name}.csv.gz   --files (500) of ~--size
//                                              (16 KiB) each: gzipped CSV
//                                              with random-ish fields, so
//                                              gzip does not shrink it away
//   big/{source}/{YYYY}/{MM}/{name}.csv.gz     --big (4) of ~--big-size
//                                              (24 MiB): multipart uploads
// and then, --rounds (3) times, two phases (small files, then big files),
// each one run of:
//   sluice  --threads (8) threads, one s3::Client each, taking the next file
//           from a shared index: open, PutFile(if_absent, application/gzip),
//           close; into sluice/roundR/{small,big}/...
//   aws     `aws s3 cp --recursive DIR s3://sluice-bench/aws/roundR/{small,
//           big}/` (awscli's defaults: 10 concurrent requests, multipart from
//           8 MiB in 8 MiB parts), the whole process timed
// the order alternating per round (sluice first in even rounds). Wall clock
// (steady_clock) per run; files/s and MB/s (10^6 bytes) per run; medians with
// min-max, and the median of the per-round ratios sluice / aws. After each
// run a listing of its prefix (Client::List) must show exactly the files
// uploaded, with their sizes. Also timed, once a round: `aws s3api
// head-bucket` (awscli's start-up plus one request), which every aws run pays
// ("aws less start-up" subtracts it). CPU seconds per run: the uploading
// side's (this process, RUSAGE_SELF; aws, RUSAGE_CHILDREN) and the store's
// (the front and s3rver, /proc/PID/stat). Before round 0, sluice uploads the
// first 50 files of the first phase to warmup/, untimed (a fresh store's
// first requests were slower in trial runs).
//
// Exit status: 0; 1 when a run failed; 2 on bad usage; 77 (with the reason)
// when node, s3rver, botocore or /usr/bin/aws is missing.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/measure.h"
#include "schemas/s3_client.h"
#include "tests/integration/process.h"
#include "tests/integration/s3_front.h"
#include "tests/integration/temp_dir.h"

namespace {

using namespace sluice::testing;
namespace fs = std::filesystem;
namespace s3 = sluice::s3;
using Clock = std::chrono::steady_clock;

constexpr const char* kBucket = "sluice-bench";

struct Options {
  int files = 500;
  std::uint64_t size = 16 * 1024;
  int big = 4;
  std::uint64_t big_size = std::uint64_t{24} << 20;
  int threads = 8;
  int rounds = 3;
  int peers = 1;  // 0: sluice only
  int if_absent = 1;  // sluice's PutOptions::if_absent (If-None-Match: *)
  int deadline_s = 600;  // per run
  bool keep = false;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// "min-max" of `v` with `decimals` digits.
std::string Range(const std::vector<double>& v, int decimals) {
  if (v.empty()) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f-%.*f", decimals, *std::min_element(v.begin(), v.end()), decimals,
                *std::max_element(v.begin(), v.end()));
  return buf;
}


// The store's CPU seconds: the front and its children (s3rver).
double StoreCpu(pid_t front) {
  double cpu = sluice::bench::CpuSeconds(front);
  std::ifstream children("/proc/" + std::to_string(front) + "/task/" + std::to_string(front) + "/children");
  for (pid_t child; children >> child;) cpu += sluice::bench::CpuSeconds(child);
  return cpu;
}

double Sec(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; }

// CPU seconds of this process (all threads) / of its reaped children (aws).
double SelfCpu() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return Sec(u.ru_utime) + Sec(u.ru_stime);
}
double ChildrenCpu() {
  rusage u{};
  ::getrusage(RUSAGE_CHILDREN, &u);
  return Sec(u.ru_utime) + Sec(u.ru_stime);
}

// ---- the files ----

struct File {
  std::string rel;   // under the phase's folder: {source}/{YYYY}/{MM}/{name}.csv.gz
  std::string path;  // absolute
  std::uint64_t size = 0;
};

// `bytes` of CSV rows (at least; whole rows) from `rng`: an id, a time, a
// customer, an amount, a SKU and a note, random enough that gzip -6 keeps
// about half of it.
std::string Csv(std::mt19937_64& rng, std::size_t bytes) {
  static constexpr char kAlnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out = "id,ts,customer,amount,sku,note\n";
  out.reserve(bytes + 128);
  // `n` characters of kAlnum, 10 from each 64-bit draw.
  auto chars = [&rng](char* dst, int n) {
    std::uint64_t bits = 0;
    for (int i = 0; i < n; ++i, bits >>= 6) {
      if (i % 10 == 0) bits = rng();
      dst[i] = kAlnum[(bits & 63) % 62];
    }
    dst[n] = '\0';
  };
  char row[160], sku[11], note[25];
  for (std::uint64_t id = 1; out.size() < bytes; ++id) {
    const std::uint64_t r = rng();
    chars(sku, 10);
    chars(note, 24);
    const int n = std::snprintf(row, sizeof row, "%llu,2025-%02u-%02uT%02u:%02u:%02uZ,c%08llx,%llu.%02u,%s,%s\n",
                                static_cast<unsigned long long>(id), static_cast<unsigned>(1 + r % 12),
                                static_cast<unsigned>(1 + (r >> 4) % 28), static_cast<unsigned>((r >> 9) % 24),
                                static_cast<unsigned>((r >> 14) % 60), static_cast<unsigned>((r >> 20) % 60),
                                static_cast<unsigned long long>((r >> 26) & 0xffffffffULL),
                                static_cast<unsigned long long>((r >> 40) % 100000),
                                static_cast<unsigned>((r >> 57) % 100), sku, note);
    out.append(row, static_cast<std::size_t>(n));
  }
  return out;
}

// gzip of `text` at `level`; empty on a zlib failure.
std::string Gzip(const std::string& text, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&z, static_cast<uLong>(text.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END ? out : std::string();
}

// A .csv.gz of about `target` bytes (within a few per cent): the ratio is
// measured on a sample, then as much CSV as that ratio needs is compressed.
// Level 6 (gzip's default); level 1 from 1 MiB, only to write the big files
// sooner (the bytes are as random either way).
std::string LandingFile(std::uint64_t seed, std::uint64_t target) {
  const int level = target >= (1 << 20) ? 1 : 6;
  const std::size_t sample = static_cast<std::size_t>(std::min<std::uint64_t>(2 * target, 1 << 20));
  std::mt19937_64 probe(seed);
  const std::string text = Csv(probe, sample);
  const double ratio = static_cast<double>(Gzip(text, level).size()) / static_cast<double>(text.size());
  std::mt19937_64 rng(seed);
  return Gzip(Csv(rng, static_cast<std::size_t>(static_cast<double>(target) / ratio)), level);
}

// Writes `n` files of ~`size` under `dir`, laid out as a landing zone.
bool MakeFiles(const fs::path& dir, int n, std::uint64_t size, std::uint64_t seed, std::vector<File>* out) {
  static constexpr const char* kSources[] = {"orders", "clicks", "payments", "inventory"};
  for (int i = 0; i < n; ++i) {
    const auto u = static_cast<unsigned>(i);
    const std::string source = kSources[u % 4];
    char part[32];
    std::snprintf(part, sizeof part, "%04u/%02u", 2025 + (u / 48) % 2, 1 + (u / 4) % 12);
    char name[64];
    std::snprintf(name, sizeof name, "%s-%06u.csv.gz", source.c_str(), u);
    File f;
    f.rel = source + "/" + part + "/" + name;
    f.path = (dir / f.rel).string();
    const std::string bytes = LandingFile(seed + u, size);
    if (bytes.empty()) return false;
    fs::create_directories(fs::path(f.path).parent_path());
    std::ofstream w(f.path, std::ios::binary | std::ios::trunc);
    w.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!w.flush()) return false;
    f.size = bytes.size();
    out->push_back(std::move(f));
  }
  return true;
}

// ---- the runs ----

struct Run {
  double seconds = 0;
  double client_cpu = 0;  // CPU seconds of the uploading side
  double store_cpu = 0;   // CPU seconds of the store (front + s3rver)
  std::string error;      // "" when it went well
};

// `files` into s3://kBucket/`prefix`/{rel} with `threads` threads, one Client
// each, a shared index handing out the next file.
Run UploadSluice(const s3::Config& config, const std::vector<File>& files, const std::string& prefix,
                 int threads, bool if_absent) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::string error;
  auto fail = [&](std::string why) {
    std::lock_guard<std::mutex> lock(mu);
    if (error.empty()) error = std::move(why);
    failed = true;
  };
  const s3::PutOptions put{.if_absent = if_absent, .content_type = "application/gzip"};
  const double c0 = SelfCpu();
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      s3::Client client(config);
      for (std::size_t i = next++; i < files.size() && !failed; i = next++) {
        const File& f = files[i];
        const int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return fail("open " + f.path);
        auto r = client.PutFile(kBucket, prefix + "/" + f.rel, fd, f.size, put);
        ::close(fd);
        if (!r.ok()) return fail(r.status().ToString());
        if (r.value() != s3::PutOutcome::kCreated) return fail(prefix + "/" + f.rel + ": exists already");
      }
    });
  }
  for (auto& t : pool) t.join();
  Run run;
  run.seconds = sluice::bench::Seconds(Clock::now() - t0);
  run.client_cpu = SelfCpu() - c0;
  run.error = error;
  return run;
}

// awscli against the front, with the bench's own time limit.
CommandResult Aws(const S3Front& front, const std::vector<std::string>& args, const std::string& log_dir,
                  int timeout_s) {
  return RunAwsCli(front, args, log_dir, std::chrono::seconds(timeout_s));
}

Run UploadAws(const S3Front& front, const fs::path& dir, const std::string& prefix, const std::string& log_dir,
              int timeout_s) {
  const double c0 = ChildrenCpu();
  const auto t0 = Clock::now();
  const CommandResult r =
      Aws(front,
          {"s3", "cp", "--recursive", "--only-show-errors", "--content-type", "application/gzip", dir.string(),
           std::string("s3://") + kBucket + "/" + prefix + "/"},
          log_dir, timeout_s);
  Run run;
  run.seconds = sluice::bench::Seconds(Clock::now() - t0);
  run.client_cpu = ChildrenCpu() - c0;
  if (r.timed_out || !r.status.exited || r.status.code != 0) run.error = "aws s3 cp: " + r.Describe();
  return run;
}

// "" when s3://kBucket/`prefix`/ holds exactly `files`, with their sizes.
std::string Verify(s3::Client& client, const std::vector<File>& files, const std::string& prefix) {
  auto listed = client.List(kBucket, prefix + "/", files.size() + 100);
  if (!listed.ok()) return "listing " + prefix + "/: " + listed.status().ToString();
  if (listed->size() != files.size())
    return "listing " + prefix + "/: " + std::to_string(listed->size()) + " objects, " +
           std::to_string(files.size()) + " uploaded";
  std::vector<std::pair<std::string, std::uint64_t>> want, got;
  for (const File& f : files) want.emplace_back(prefix + "/" + f.rel, f.size);
  for (const s3::ObjectInfo& o : listed.value()) got.emplace_back(o.key, o.size);
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  for (std::size_t i = 0; i < want.size(); ++i)
    if (want[i] != got[i])
      return "listing " + prefix + "/: " + got[i].first + " (" + std::to_string(got[i].second) +
             " bytes) where " + want[i].first + " (" + std::to_string(want[i].second) + " bytes) was uploaded";
  return "";
}

// One phase's figures over the rounds.
struct Phase {
  std::string name;
  std::vector<File> files;
  fs::path dir;
  std::uint64_t bytes = 0;
  std::vector<double> sluice_fps, sluice_mbps, aws_fps, aws_mbps, ratio;
  std::vector<double> aws_net_fps, aws_net_mbps;  // aws less its start-up (that round's head-bucket)
  std::vector<double> sluice_cpu, aws_cpu, sluice_store_cpu, aws_store_cpu;  // CPU seconds per run
};

double Mb(std::uint64_t bytes) { return static_cast<double>(bytes) / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"sluice-bench-s3: uploading landing files with sluice's S3 client beside `aws s3 cp`, against "
               "the test S3 store (bench/README.md)"};
  app.add_option("--files", o.files, "small files")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--size", o.size, "bytes of each small file (about: gzip decides)")
      ->check(CLI::Range(std::uint64_t{64}, std::uint64_t{1} << 30))
      ->capture_default_str();
  app.add_option("--big", o.big, "big files (multipart uploads)")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--big-size", o.big_size, "bytes of each big file (about)")
      ->check(CLI::Range(std::uint64_t{64}, std::uint64_t{1} << 30))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "sluice's upload threads (a worker's slots)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--rounds", o.rounds, "rounds (medians are printed)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--peers", o.peers, "1: also aws s3 cp; 0: sluice only (for profiling)")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  app.add_option("--if-absent", o.if_absent,
                 "1: sluice sends If-None-Match: * (as the landing zone does; the test store then asks s3rver "
                 "whether the key exists first); 0: plain PUTs, as aws s3 cp")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  app.add_option("--deadline-s", o.deadline_s, "time limit of one aws run, seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--keep", o.keep, "keep the temp folder (files, the store's data, logs)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (o.files == 0 && o.big == 0) {
    std::cerr << "sluice-bench-s3: nothing to upload (--files 0 --big 0)\n";
    return 2;
  }
  if (o.peers && !AwsCliInstalled()) {
    std::cerr << "SKIPPED: /usr/bin/aws is not installed (Debian: awscli); --peers 0 runs sluice only\n";
    return 77;
  }

  TempDir dir("sluice-bench-s3");
  if (o.keep) dir.Keep();
  S3Front::Options front_options;
  front_options.buckets = {kBucket};
  S3Front front(dir.path(), front_options);
  if (front.skipped()) {
    std::cerr << "SKIPPED: the test S3 store cannot run here: " << front.error() << "\n";
    return 77;
  }
  if (!front.ok()) {
    std::cerr << "sluice-bench-s3: the test S3 store did not start: " << front.error() << "\n";
    dir.Keep();
    return 1;
  }
  s3::Config config;
  config.access_key_id = S3Front::kAccessKey;
  config.secret_access_key = S3Front::kSecretKey;
  config.region = S3Front::kRegion;
  config.endpoint = front.endpoint();

  // The files (not timed).
  std::vector<Phase> phases;
  const auto g0 = Clock::now();
  for (int p = 0; p < 2; ++p) {
    const int n = p == 0 ? o.files : o.big;
    if (n == 0) continue;
    Phase ph;
    ph.name = p == 0 ? "small" : "big";
    ph.dir = fs::path(dir.path()) / "files" / ph.name;
    if (!MakeFiles(ph.dir, n, p == 0 ? o.size : o.big_size, p == 0 ? 1 : 1'000'000, &ph.files)) {
      std::cerr << "sluice-bench-s3: could not write the files under " << ph.dir << "\n";
      return 1;
    }
    for (const File& f : ph.files) ph.bytes += f.size;
    phases.push_back(std::move(ph));
  }
  std::fprintf(stderr, "sluice-bench-s3: files written in %.1f s; the store at %s\n",
               sluice::bench::Seconds(Clock::now() - g0), front.endpoint().c_str());

  const std::string logs = dir.path() + "/logs";
  fs::create_directories(logs);
  s3::Client checker(config);
  // Warm-up, not timed: the store's first requests into a fresh bucket are
  // slower (round 0 was the slowest of every trial run without it).
  {
    const Phase& first = phases.front();
    const std::vector<File> some(first.files.begin(),
                                 first.files.begin() + static_cast<long>(std::min<std::size_t>(first.files.size(), 50)));
    const Run w = UploadSluice(config, some, "warmup", o.threads, o.if_absent != 0);
    if (!w.error.empty()) {
      std::cerr << "sluice-bench-s3: warm-up: " << w.error << "\n";
      dir.Keep();
      return 1;
    }
  }
  const pid_t store = front.pid();
  std::vector<double> aws_startup;
  std::printf("%-6s %-6s %-7s %8s %10s %10s %9s %11s %10s\n", "round", "phase", "client", "seconds", "files/s", "MB/s",
              "ratio", "client CPU", "store CPU");
  for (int r = 0; r < o.rounds; ++r) {
    double startup = 0;
    if (o.peers) {
      const auto t0 = Clock::now();
      const CommandResult hb = Aws(front, {"s3api", "head-bucket", "--bucket", kBucket}, logs, 120);
      if (hb.timed_out || !hb.status.exited || hb.status.code != 0) {
        std::cerr << "aws s3api head-bucket failed: " << hb.Describe() << "\n";
        dir.Keep();
        return 1;
      }
      startup = sluice::bench::Seconds(Clock::now() - t0);
      aws_startup.push_back(startup);
    }
    for (Phase& ph : phases) {
      const std::string round = "round" + std::to_string(r) + "/" + ph.name;
      const std::string sluice_prefix = "sluice/" + round, aws_prefix = "aws/" + round;
      Run s, a;
      std::string failed;
      for (int k = 0; k < 2 && failed.empty(); ++k) {
        const bool sluice_turn = (k == 0) == (r % 2 == 0);
        const double store0 = StoreCpu(store);
        if (sluice_turn) {
          s = UploadSluice(config, ph.files, sluice_prefix, o.threads, o.if_absent != 0);
          s.store_cpu = StoreCpu(store) - store0;
          failed = !s.error.empty() ? "sluice: " + s.error : Verify(checker, ph.files, sluice_prefix);
        } else if (o.peers) {
          a = UploadAws(front, ph.dir, aws_prefix, logs, o.deadline_s);
          a.store_cpu = StoreCpu(store) - store0;
          failed = !a.error.empty() ? a.error : Verify(checker, ph.files, aws_prefix);
        }
      }
      if (!failed.empty()) {
        std::cerr << "round " << r << ", " << ph.name << " files: " << failed << "\n";
        dir.Keep();
        return 1;
      }
      const double n = static_cast<double>(ph.files.size());
      ph.sluice_fps.push_back(n / s.seconds);
      ph.sluice_mbps.push_back(Mb(ph.bytes) / s.seconds);
      ph.sluice_cpu.push_back(s.client_cpu);
      ph.sluice_store_cpu.push_back(s.store_cpu);
      std::printf("%-6d %-6s %-7s %8.2f %10.1f %10.1f %9s %11.2f %10.2f\n", r, ph.name.c_str(), "sluice", s.seconds,
                  n / s.seconds, Mb(ph.bytes) / s.seconds, "", s.client_cpu, s.store_cpu);
      if (o.peers) {
        ph.aws_fps.push_back(n / a.seconds);
        ph.aws_mbps.push_back(Mb(ph.bytes) / a.seconds);
        const double net = std::max(a.seconds - startup, 1e-3);
        ph.aws_net_fps.push_back(n / net);
        ph.aws_net_mbps.push_back(Mb(ph.bytes) / net);
        ph.aws_cpu.push_back(a.client_cpu);
        ph.aws_store_cpu.push_back(a.store_cpu);
        ph.ratio.push_back(a.seconds / s.seconds);  // = sluice rate / aws rate
        std::printf("%-6d %-6s %-7s %8.2f %10.1f %10.1f %9.2f %11.2f %10.2f\n", r, ph.name.c_str(), "aws", a.seconds,
                    n / a.seconds, Mb(ph.bytes) / a.seconds, a.seconds / s.seconds, a.client_cpu, a.store_cpu);
      }
      std::fflush(stdout);
    }
  }

  std::printf("\nsluice-bench-s3: %d rounds, sluice %d threads%s%s (median, min-max; CPU in seconds)\n", o.rounds,
              o.threads, o.if_absent ? " with If-None-Match: *" : " without If-None-Match",
              o.peers ? ", aws s3 cp --recursive (awscli defaults)" : "");
  for (const Phase& ph : phases) {
    std::printf("%s: %zu files, %.1f MB (%.0f bytes each on average)\n", ph.name.c_str(), ph.files.size(),
                Mb(ph.bytes), static_cast<double>(ph.bytes) / static_cast<double>(ph.files.size()));
  }
  std::printf("%-6s %-18s %22s %22s %11s %10s\n", "phase", "client", "files/s", "MB/s", "client CPU", "store CPU");
  auto row = [](const std::string& phase, const char* client, const std::vector<double>& fps,
                const std::vector<double>& mbps, const std::vector<double>* cpu, const std::vector<double>* store_cpu) {
    const int d = Median(fps) < 10 ? 2 : 1;
    char a[64], b[64];
    std::snprintf(a, sizeof a, "%.*f (%s)", d, Median(fps), Range(fps, d).c_str());
    std::snprintf(b, sizeof b, "%.1f (%s)", Median(mbps), Range(mbps, 1).c_str());
    std::printf("%-6s %-18s %22s %22s", phase.c_str(), client, a, b);
    if (cpu != nullptr) std::printf(" %11.2f %10.2f", Median(*cpu), Median(*store_cpu));
    std::printf("\n");
  };
  for (const Phase& ph : phases) {
    row(ph.name, "sluice", ph.sluice_fps, ph.sluice_mbps, &ph.sluice_cpu, &ph.sluice_store_cpu);
    if (o.peers) {
      row(ph.name, "aws", ph.aws_fps, ph.aws_mbps, &ph.aws_cpu, &ph.aws_store_cpu);
      row(ph.name, "aws less start-up", ph.aws_net_fps, ph.aws_net_mbps, nullptr, nullptr);
      char ratio[64];
      std::snprintf(ratio, sizeof ratio, "%.2f (%s)", Median(ph.ratio), Range(ph.ratio, 2).c_str());
      std::printf("%-6s %-18s %22s   (sluice / aws, per round)\n", ph.name.c_str(), "ratio", ratio);
    }
  }
  if (o.peers)
    std::printf("aws start-up (s3api head-bucket), median: %.2f s (%s)\n", Median(aws_startup),
                Range(aws_startup, 2).c_str());

  // One JSON line, last: the small-files phase unprefixed, the big one with big_.
  std::string json = "{\"bench\":\"s3\",\"files\":" + std::to_string(o.files) + ",\"big\":" + std::to_string(o.big) +
                     ",\"threads\":" + std::to_string(o.threads) + ",\"rounds\":" + std::to_string(o.rounds) +
                     ",\"if_absent\":" + std::to_string(o.if_absent);
  char buf[512];
  for (const Phase& ph : phases) {
    const char* p = ph.name == "small" ? "" : "big_";
    std::snprintf(buf, sizeof buf,
                  ",\"%sbytes\":%llu,\"%ssluice_files_per_s\":%.2f,\"%ssluice_mb_per_s\":%.2f,"
                  "\"%ssluice_cpu_s\":%.2f,\"%ssluice_store_cpu_s\":%.2f",
                  p, static_cast<unsigned long long>(ph.bytes), p, Median(ph.sluice_fps), p, Median(ph.sluice_mbps),
                  p, Median(ph.sluice_cpu), p, Median(ph.sluice_store_cpu));
    json += buf;
    if (o.peers) {
      // Within a round both ratios are the same number (same files, same bytes).
      std::snprintf(buf, sizeof buf,
                    ",\"%saws_files_per_s\":%.2f,\"%saws_mb_per_s\":%.2f,\"%sratio_files\":%.3f,\"%sratio_mb\":%.3f,"
                    "\"%saws_less_startup_files_per_s\":%.2f,\"%saws_cpu_s\":%.2f,\"%saws_store_cpu_s\":%.2f",
                    p, Median(ph.aws_fps), p, Median(ph.aws_mbps), p, Median(ph.ratio), p, Median(ph.ratio), p,
                    Median(ph.aws_net_fps), p, Median(ph.aws_cpu), p, Median(ph.aws_store_cpu));
      json += buf;
    }
  }
  if (o.peers) {
    std::snprintf(buf, sizeof buf, ",\"aws_startup_s\":%.3f", Median(aws_startup));
    json += buf;
  }
  std::printf("%s}\n", json.c_str());
  return 0;
}
