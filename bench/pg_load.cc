// sluice-bench-pg-load: raw loading of a gzip CSV landing file into
// PostgreSQL with COPY FROM STDIN (pipeline/postgres/pg_raw_loader.h),
// against psql's own `\copy` of the same CSV uncompressed, in the same run,
// on the same server.
//
//   (a) postgres::LoadRaw of data.csv.gz into an empty database: connect,
//       create the schemas and state tables, inflate, parse, COPY, ledger
//       row, commit.
//   (b) `psql -c "CREATE TABLE t (10 text columns)" -c "\copy t FROM
//       data.csv WITH (FORMAT csv, HEADER true)"`: the whole process
//       (/usr/bin/psql; skipped with a message when it is missing).
//
// The server is a real one started for the run (tests/postgres/pg_server.h:
// initdb in a temp folder, 127.0.0.1, a free port), durable (fsync on, as
// a production server). The CSV is bench/load.cc's: --rows (1,000,000) rows
// of 10 columns. Each measurement runs --runs (3) times, alternating, each
// into a fresh database; printed: median rows/s (wall clock) with min-max,
// median client CPU seconds (this process's for (a), psql's for (b); the
// server's work is not in either), and the ratios of the medians.
// Exits 77 when no PostgreSQL server can be started (pg_server.h).
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

#include "pipeline/postgres/pg_connection.h"
#include "pipeline/postgres/pg_raw_loader.h"
#include "tests/postgres/pg_server.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using sluice::testing::PgServer;

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

// A fresh database for one run, with libpq's environment pointing at it.
void FreshDatabase(PgServer& server, const std::string& name) {
  server.Query("postgres", "DROP DATABASE IF EXISTS " + name);
  std::string e = server.CreateDatabase(name);
  if (!e.empty()) {
    std::cerr << "CREATE DATABASE " << name << ": " << e << "\n";
    std::exit(1);
  }
  server.ExportEnv(name);
}

Timing RunLoadRaw(PgServer& server, const std::string& landing, long expect_rows, int run) {
  FreshDatabase(server, "bench_copy_" + std::to_string(run));
  sluice::lakehouse::RawSource src;
  src.table = "raw_bench";
  src.glob = "bench/*.csv.gz";
  src.format = sluice::lakehouse::RawFormat::kCsv;
  const double cpu0 = CpuSeconds(RUSAGE_SELF);
  auto t0 = Clock::now();
  auto c = sluice::postgres::PgConnection::FromEnvironment();
  if (!c.ok()) {
    std::cerr << c.status().ToString() << "\n";
    return {-1, 0};
  }
  sluice::lakehouse::FolderLandingFiles files(landing);
  auto r = sluice::postgres::LoadRaw(**c, {src}, files);
  c->reset();
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

Timing RunPsqlCopy(PgServer& server, const std::string& csv, int run) {
  FreshDatabase(server, "bench_psql_" + std::to_string(run));
  const std::string create =
      "CREATE TABLE t (id text, market_year text, report_date text, country text, commodity text, "
      "attribute text, value text, unit text, month text, note text)";
  const std::string copy = "\\copy t FROM '" + csv + "' WITH (FORMAT csv, HEADER true)";
  const double cpu0 = CpuSeconds(RUSAGE_CHILDREN);
  auto t0 = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    execl("/usr/bin/psql", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", create.c_str(), "-c", copy.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Timing t{std::chrono::duration<double>(Clock::now() - t0).count(), CpuSeconds(RUSAGE_CHILDREN) - cpu0};
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "psql \\copy failed\n";
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
  std::printf("%-32s %9.0f rows/s (%.0f-%.0f)   client CPU %.2f s\n", name, Median(rps),
              *std::min_element(rps.begin(), rps.end()), *std::max_element(rps.begin(), rps.end()), Median(cpu));
}

double MedianRate(const std::vector<Timing>& runs, long rows) {
  std::vector<double> rps;
  for (const Timing& t : runs) rps.push_back(static_cast<double>(rows) / t.wall);
  return Median(rps);
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
      std::cerr << "usage: sluice-bench-pg-load [--rows 1000000] [--runs 3] [--keep]\n";
      return 2;
    }
  }
  if (opt.rows < 1 || opt.runs < 1) {
    std::cerr << "--rows and --runs must be positive\n";
    return 2;
  }
  sluice::testing::PgServerOptions server_options;
  server_options.fast = false;  // durable, as in production
  auto server = PgServer::StartOrSkip(server_options);

  std::string tmpl = (fs::temp_directory_path() / "sluice-bench-pg-load-XXXXXX").string();
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
  std::printf("%ld rows, 10 columns: CSV %.1f MB, gzip %.1f MB; %d runs each; PostgreSQL on 127.0.0.1:%d\n",
              opt.rows, csv.size() / 1e6, gz.size() / 1e6, opt.runs, server->port());
  csv = std::string();
  gz = std::string();

  int rc = 0;
  std::vector<Timing> load_runs, psql_runs;
  const bool have_psql = access("/usr/bin/psql", X_OK) == 0;
  if (!have_psql) std::printf("/usr/bin/psql not found: skipping the \\copy comparison\n");
  // Interleaved, so that a change in the machine's load hits both alike.
  for (int run = 0; run < opt.runs; ++run) {
    Timing t = RunLoadRaw(*server, landing, opt.rows, run);
    if (t.wall < 0) {
      rc = 1;
      break;
    }
    load_runs.push_back(t);
    if (!have_psql) continue;
    t = RunPsqlCopy(*server, csv_path, run);
    if (t.wall < 0) {
      rc = 1;
      break;
    }
    psql_runs.push_back(t);
  }
  if (!load_runs.empty()) Report("LoadRaw, COPY (csv.gz)", load_runs, opt.rows);
  if (!psql_runs.empty()) Report("psql \\copy (csv)", psql_runs, opt.rows);
  if (!load_runs.empty() && !psql_runs.empty())
    std::printf("ratio LoadRaw / psql \\copy: %.2fx rows/s\n",
                MedianRate(load_runs, opt.rows) / MedianRate(psql_runs, opt.rows));

  if (opt.keep)
    std::printf("kept %s\n", dir.c_str());
  else
    fs::remove_all(dir);
  return rc;
}
