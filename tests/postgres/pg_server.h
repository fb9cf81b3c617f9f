// PgServer: a real PostgreSQL server for one test binary (or a benchmark),
// from Debian's binaries (postgresql-15: /usr/lib/postgresql/<N>/bin).
//
//   1. a fresh folder under $TMPDIR (or /tmp): `initdb` there (superuser
//      `sluice`, trust authentication, UTF8, no locale: byte order, as
//      SQLite's BINARY collation);
//   2. `postgres` listening on 127.0.0.1 and a free port only, its unix
//      socket in the same folder (never /var/run/postgresql);
//   3. ready when libpq's PQping says so (a generous deadline);
//   4. stopped by its PID: SIGINT (fast shutdown), waited for, then SIGKILL
//      to its process group if it has not gone; the folder removed (kept
//      with SLUICE_KEEP_TEMP).
//
// PostgreSQL refuses to run as root. When this process is root, initdb and
// the server run as the unprivileged user `postgres` (which the postgresql
// package creates), else `nobody`, with the folder chowned to it; as any
// other user they run as that user.
//
// Where no server can start for a reason of the machine (no binaries, no
// unprivileged user, a temp folder that user cannot reach), Start() returns
// nullptr with the reason; StartOrSkip() then prints "SKIPPED: <reason>"
// and exits 77, which ctest reports as skipped (SKIP_RETURN_CODE 77). A
// server that has binaries but fails to start is a test failure, not a skip.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace sluice::testing {

struct PgServerOptions {
  // Settings for speed in tests (fsync off and friends); the benchmark
  // turns them off to measure a durable server.
  bool fast = true;
};

class PgServer {
 public:
  using Options = PgServerOptions;

  static std::unique_ptr<PgServer> Start(const Options& options, std::string* why_not);
  static std::unique_ptr<PgServer> Start(std::string* why_not) { return Start(Options{}, why_not); }
  // Start(), or exit(77) with "SKIPPED: <reason>" on stderr. A server that
  // fails to start aborts the test binary with its log.
  static std::unique_ptr<PgServer> StartOrSkip(const Options& options = Options{});
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  const std::string& bin_dir() const { return bin_dir_; }
  static constexpr const char* kUser = "sluice";
  static constexpr const char* kHost = "127.0.0.1";

  // "PGHOST=127.0.0.1", "PGPORT=N", "PGUSER=sluice", "PGDATABASE=<database>"
  // and no PGPASSWORD/PGSERVICE: libpq's environment for a child process.
  std::vector<std::string> Env(const std::string& database = "postgres") const;
  // Sets the same variables in this process (and unsets PGSERVICE,
  // PGSERVICEFILE, PGPASSWORD, PGOPTIONS), so that code that connects from
  // libpq's environment reaches this server's `database`.
  void ExportEnv(const std::string& database = "postgres") const;
  // A libpq connection string for the test's own checks.
  std::string ConnInfo(const std::string& database = "postgres") const;
  // CREATE DATABASE <name> (a fresh one per test keeps tests apart). Empty
  // on success, else the error.
  std::string CreateDatabase(const std::string& name) const;
  // Runs `sql` and returns the first column of every row, joined by '\n'
  // (a test's view of what is there). Aborts the test binary with the
  // error on failure.
  std::string Query(const std::string& database, const std::string& sql) const;

  // The server's log so far (its stderr).
  std::string Log() const;
  // Fast shutdown by PID, as the destructor does. Idempotent.
  void Stop();

 private:
  PgServer() = default;

  std::string dir_;       // the temp folder (removed by Stop unless kept)
  std::string data_dir_;  // dir_/pg/data
  std::string bin_dir_;   // /usr/lib/postgresql/N/bin
  std::string log_path_;
  int port_ = 0;
  pid_t pid_ = -1;
  uid_t run_uid_ = 0;
  gid_t run_gid_ = 0;
  bool drop_privileges_ = false;
};

}  // namespace sluice::testing
