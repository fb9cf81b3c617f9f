// sluice-bench-load: raw loading of a gzip CSV landing file into the
// lakehouse, against the sqlite3 shell's own `.import` of the same CSV
// uncompressed.
//
//   (a) LoadRaw of data.csv.gz into a fresh lakehouse (WAL, synchronous=
//       NORMAL): inflate, parse, insert, ledger row, commit, close (the close
//       checkpoints the WAL into the database file, so the figure is for
//       rows in the database file, as for .import).
//   (b) `sqlite3 fresh.db ".import --csv data.csv t"` (/usr/bin/sqlite3;
//       skipped with a message when it is missing): the whole process.
//
// The CSV is generated deterministically: --rows (1,000,000) rows of 10
// columns (ints, decimals, dates, short strings, some quoted strings with
// commas and doubled quotes, some empty fields). Each measurement runs
// --runs (3) times, the two alternating; printed: median rows/s (wall
// clock) with min-max, median CPU seconds (user + system, all threads),
// and the ratios of the medians.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "pipeline/lakehouse/lakehouse_db.h"
#include "pipeline/lakehouse/raw_loader.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace sluice::lakehouse;

struct Options {
  long rows = 1000000;
  int runs = 3;
  bool keep = false;
};

// CPU seconds (user + system) of this process, or of its waited-for children.
double CpuSeconds(int who) {
  struct rusage ru;
  getrusage(who, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Timing {
  double wall = 0;  // seconds
  double cpu = 0;   // seconds, all threads
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// A small deterministic generator (xorshift), so every run loads the same bytes.
struct Rng {
  std::uint64_t s = 0x9E3779B97F4A7C15ull;
  std::uint64_t Next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  int Below(int n) { return static_cast<int>(Next() % static_cast<std::uint64_t>(n)); }
};

std::string MakeCsv(long rows) {
  static const char* kCountries[] = {"Argentina", "Brazil", "\"Korea, Republic of\"", "United States",
                                     "\"Congo, Democratic Republic of the\"", "India", "China", "European Union"};
  static const char* kCommodities[] = {"Wheat", "Corn", "Soybeans", "\"Rice, Milled\"", "Barley", "Sorghum"};
  static const char* kAttributes[] = {"Production", "Exports", "Imports", "Ending Stocks", "Domestic Consumption"};
  static const char* kNotes[] = {"", "", "", "revised", "\"estimate, preliminary\"", "\"said \"\"final\"\"\""};
  Rng rng;
  std::string out = "id,market_year,report_date,country,commodity,attribute,value,unit,month,note\n";
  out.reserve(static_cast<std::size_t>(rows) * 100);
  char buf[256];
  for (long i = 0; i < rows; ++i) {
    int year = 1990 + rng.Below(35);
    int month = 1 + rng.Below(12);
    int day = 1 + rng.Below(28);
    long cents = static_cast<long>(rng.Next() % 100000000);
    int n = std::snprintf(buf, sizeof buf, "%ld,%d,%04d-%02d-%02d,%s,%s,%s,%ld.%02ld,%s,%d,%s\n", i + 1, year, year,
                          month, day, kCountries[rng.Below(8)], kCommodities[rng.Below(6)],
                          kAttributes[rng.Below(5)], cents / 100, cents % 100,
                          rng.Below(2) ? "1000 MT" : "(1000 HA)", month, kNotes[rng.Below(6)]);
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!f) {
    std::cerr << "cannot write " << path << "\n";
    std::exit(1);
  }
}

std::string GzipOf(const std::string& data) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
    std::cerr << "deflate failed\n";
    std::exit(1);
  }
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

void RemoveDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path + suffix);
}

// One LoadRaw into a fresh lakehouse; wall < 0 on failure.
Timing RunLoadRaw(const std::string& landing, const std::string& db_path, long expect_rows) {
  RemoveDb(db_path);
  RawSource src;
  src.table = "raw_bench";
  src.glob = "bench/*.csv.gz";
  src.format = RawFormat::kCsv;
  sluice::Database db;
  const double cpu0 = CpuSeconds(RUSAGE_SELF);
  auto t0 = Clock::now();
  sluice::Status s = OpenLakehouse(db, db_path);
  if (!s.ok()) {
    std::cerr << s.ToString() << "\n";
    return {-1, 0};
  }
  auto r = LoadRaw(db, {src}, landing);
  db.Close();
  Timing t{std::chrono::duration<double>(Clock::now() - t0).count(), CpuSeconds(RUSAGE_SELF) - cpu0};
  if (!r.ok()) {
    std::cerr << "LoadRaw: " << r.status().ToString() << "\n";
    return {-1, 0};
  }
  if (r->rows_loaded != expect_rows) {
    std::cerr << "LoadRaw loaded " << r->rows_loaded << " rows, expected " << expect_rows << "\n";
    return {-1, 0};
  }
  return t;
}

Timing RunImport(const std::string& csv, const std::string& db_path) {
  RemoveDb(db_path);
  std::string cmd = ".import --csv " + csv + " t";
  const double cpu0 = CpuSeconds(RUSAGE_CHILDREN);
  auto t0 = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    execl("/usr/bin/sqlite3", "sqlite3", db_path.c_str(), cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Timing t{std::chrono::duration<double>(Clock::now() - t0).count(), CpuSeconds(RUSAGE_CHILDREN) - cpu0};
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "sqlite3 .import failed\n";
    return {-1, 0};
  }
  return t;
}

void Report(const char* name, const std::vector<Timing>& runs, long rows) {
  std::vector<double> rps, cpu;
  for (const Timing& t : runs) {
    rps.push_back(static_cast<double>(rows) / t.wall);
    cpu.push_back(t.cpu);
  }
  std::printf("%-30s %9.0f rows/s (%.0f-%.0f)   CPU %.2f s\n", name, Median(rps),
              *std::min_element(rps.begin(), rps.end()), *std::max_element(rps.begin(), rps.end()), Median(cpu));
}

double MedianRate(const std::vector<Timing>& runs, long rows) {
  std::vector<double> rps;
  for (const Timing& t : runs) rps.push_back(static_cast<double>(rows) / t.wall);
  return Median(rps);
}

double MedianCpu(const std::vector<Timing>& runs) {
  std::vector<double> cpu;
  for (const Timing& t : runs) cpu.push_back(t.cpu);
  return Median(cpu);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--rows") {
      opt.rows = std::atol(next());
    } else if (a == "--runs") {
      opt.runs = std::atoi(next());
    } else if (a == "--keep") {
      opt.keep = true;
    } else {
      std::cerr << "usage: sluice-bench-load [--rows 1000000] [--runs 3] [--keep]\n";
      return 2;
    }
  }
  if (opt.rows < 1 || opt.runs < 1) {
    std::cerr << "--rows and --runs must be positive\n";
    return 2;
  }

  std::string tmpl = (fs::temp_directory_path() / "sluice-bench-load-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = tmpl;
  const std::string landing = dir + "/landing";
  const std::string csv_path = dir + "/data.csv";
  fs::create_directories(landing + "/bench/2024/03");

  std::string csv = MakeCsv(opt.rows);
  std::string gz = GzipOf(csv);
  WriteFile(csv_path, csv);
  WriteFile(landing + "/bench/2024/03/data.csv.gz", gz);
  std::printf("%ld rows, 10 columns: CSV %.1f MB, gzip %.1f MB; %d runs each\n", opt.rows, csv.size() / 1e6,
              gz.size() / 1e6, opt.runs);
  csv = std::string();
  gz = std::string();

  int rc = 0;
  // Interleaved, so that a change in the machine's load hits both alike.
  std::vector<Timing> load_runs, import_runs;
  bool have_sqlite3 = access("/usr/bin/sqlite3", X_OK) == 0;
  if (!have_sqlite3) std::printf("/usr/bin/sqlite3 not found: skipping the .import comparison\n");
  for (int run = 0; run < opt.runs; ++run) {
    Timing t = RunLoadRaw(landing, dir + "/lakehouse.sqlite", opt.rows);
    if (t.wall < 0) {
      rc = 1;
      break;
    }
    load_runs.push_back(t);
    if (!have_sqlite3) continue;
    t = RunImport(csv_path, dir + "/import.sqlite");
    if (t.wall < 0) {
      rc = 1;
      break;
    }
    import_runs.push_back(t);
  }
  if (!load_runs.empty()) Report("LoadRaw (csv.gz)", load_runs, opt.rows);
  if (!import_runs.empty()) Report("sqlite3 .import --csv (csv)", import_runs, opt.rows);
  if (!load_runs.empty() && !import_runs.empty())
    std::printf("ratio LoadRaw / .import: %.2fx rows/s, %.2fx less CPU\n",
                MedianRate(load_runs, opt.rows) / MedianRate(import_runs, opt.rows),
                MedianCpu(import_runs) / MedianCpu(load_runs));

  if (opt.keep)
    std::printf("kept %s\n", dir.c_str());
  else
    fs::remove_all(dir);
  return rc;
}
