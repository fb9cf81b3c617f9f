#include "tests/postgres/pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The newest /usr/lib/postgresql/N/bin holding initdb and postgres.
std::string FindBinDir() {
  std::error_code ec;
  int best = -1;
  std::string found;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = e.path().filename().string();
    char* end = nullptr;
    const long v = std::strtol(name.c_str(), &end, 10);
    if (end == name.c_str() || *end != '\0') continue;
    const fs::path bin = e.path() / "bin";
    if (::access((bin / "initdb").c_str(), X_OK) != 0 || ::access((bin / "postgres").c_str(), X_OK) != 0) continue;
    if (v > best) {
      best = static_cast<int>(v);
      found = bin.string();
    }
  }
  return found;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Starts argv in its own process group, stdout and stderr appended to
// `log`, as `uid`/`gid` when `drop`. Returns the child's PID, or -1.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log, const std::string& cwd, bool drop,
            uid_t uid, gid_t gid) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The child: only async-signal-safe calls until exec.
  ::setpgid(0, 0);
  int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || in < 0) ::_exit(126);
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(out, 2);
  if (drop) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) {
      static const char msg[] = "pg_server: cannot drop privileges\n";
      (void)!::write(2, msg, sizeof msg - 1);
      ::_exit(126);
    }
  }
  // After the credential change, which clears it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(126);
  if (::chdir(cwd.c_str()) != 0) ::_exit(126);
  ::execv(args[0], args.data());
  static const char msg[] = "pg_server: exec failed\n";
  (void)!::write(2, msg, sizeof msg - 1);
  ::_exit(127);
}

// Waits for `pid` until `deadline`; the exit status, or -1 on timeout.
int WaitUntil(pid_t pid, Clock::time_point deadline) {
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return 0;
    if (Clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "pg_server: " << what << "\n";
  std::abort();
}

}  // namespace

std::unique_ptr<PgServer> PgServer::Start(const Options& options, std::string* why_not) {
  std::unique_ptr<PgServer> server(new PgServer());
  server->bin_dir_ = FindBinDir();
  if (server->bin_dir_.empty()) {
    *why_not = "no PostgreSQL server binaries (/usr/lib/postgresql/N/bin/{initdb,postgres}; Debian: postgresql-15)";
    return nullptr;
  }
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) pw = ::getpwnam("nobody");
    if (pw == nullptr || pw->pw_uid == 0) {
      *why_not = "running as root, and no unprivileged user (postgres or nobody) to run PostgreSQL as";
      return nullptr;
    }
    server->drop_privileges_ = true;
    server->run_uid_ = pw->pw_uid;
    server->run_gid_ = pw->pw_gid;
  }

  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/sluice-pg-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) Die(std::string("mkdtemp: ") + std::strerror(errno));
  server->dir_ = buf.data();
  const std::string pg = server->dir_ + "/pg";
  server->data_dir_ = pg + "/data";
  server->log_path_ = pg + "/server.log";
  ::chmod(server->dir_.c_str(), 0755);
  if (::mkdir(pg.c_str(), 0700) != 0) Die("mkdir " + pg + ": " + std::strerror(errno));
  if (server->drop_privileges_) {
    if (::chown(pg.c_str(), server->run_uid_, server->run_gid_) != 0) Die("chown " + pg + ": " + std::strerror(errno));
    // The user must reach the folder through every parent.
    for (fs::path p = fs::path(server->dir_); !p.empty() && p != p.root_path(); p = p.parent_path()) {
      struct stat st;
      if (::stat(p.c_str(), &st) != 0 || (st.st_mode & S_IXOTH) == 0) {
        *why_not = "the user PostgreSQL runs as cannot enter " + p.string() + " (set TMPDIR to a folder it can)";
        return nullptr;  // the destructor removes the folder
      }
    }
  }

  const std::string initdb_log = pg + "/initdb.log";
  pid_t init = Spawn({server->bin_dir_ + "/initdb", "-D", server->data_dir_, "-U", kUser, "-A", "trust", "-E",
                      "UTF8", "--no-locale", "--no-sync", "--no-instructions"},
                     initdb_log, pg, server->drop_privileges_, server->run_uid_, server->run_gid_);
  if (init < 0) Die(std::string("fork: ") + std::strerror(errno));
  const int st = WaitUntil(init, Clock::now() + std::chrono::seconds(120));
  if (st == -1) {
    ::kill(-init, SIGKILL);
    WaitUntil(init, Clock::now() + std::chrono::seconds(10));
    Die("initdb did not finish in 120 s:\n" + ReadFile(initdb_log));
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) Die("initdb failed:\n" + ReadFile(initdb_log));

  for (int attempt = 0; attempt < 5; ++attempt) {
    server->port_ = FreePort();
    if (server->port_ == 0) Die("no free port on 127.0.0.1");
    std::vector<std::string> argv = {server->bin_dir_ + "/postgres",
                                     "-D", server->data_dir_,
                                     "-p", std::to_string(server->port_),
                                     "-c", std::string("listen_addresses=") + kHost,
                                     "-c", "unix_socket_directories=" + pg,
                                     "-c", "max_connections=40"};
    if (options.fast) {
      for (const char* s : {"fsync=off", "synchronous_commit=off", "full_page_writes=off"}) {
        argv.push_back("-c");
        argv.push_back(s);
      }
    }
    const std::size_t log_before = ReadFile(server->log_path_).size();
    server->pid_ = Spawn(argv, server->log_path_, pg, server->drop_privileges_, server->run_uid_, server->run_gid_);
    if (server->pid_ < 0) Die(std::string("fork: ") + std::strerror(errno));
    const std::string conninfo = server->ConnInfo() + " connect_timeout=5";
    const auto deadline = Clock::now() + std::chrono::seconds(90);
    bool exited = false;
    for (;;) {
      if (PQping(conninfo.c_str()) == PQPING_OK) return server;
      int status = 0;
      if (::waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
        exited = true;
        break;
      }
      if (Clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    const std::string log = ReadFile(server->log_path_).substr(log_before);
    if (!exited) {
      server->Stop();
      Die("PostgreSQL did not answer within 90 s:\n" + log);
    }
    server->pid_ = -1;
    // Another process took the port between the probe and the bind: again.
    if (log.find("could not bind") == std::string::npos && log.find("could not create listen socket") == std::string::npos)
      Die("PostgreSQL exited at start:\n" + log);
  }
  Die("PostgreSQL found no free port in 5 attempts:\n" + server->Log());
}

std::unique_ptr<PgServer> PgServer::StartOrSkip(const Options& options) {
  std::string why;
  auto server = Start(options, &why);
  if (!server) {
    std::cerr << "SKIPPED: " << why << "\n";
    std::exit(77);
  }
  return server;
}

PgServer::~PgServer() {
  Stop();
  if (dir_.empty()) return;
  if (std::getenv("SLUICE_KEEP_TEMP") != nullptr) {
    std::fprintf(stderr, "[temp dir kept: %s]\n", dir_.c_str());
    return;
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void PgServer::Stop() {
  if (pid_ <= 0) return;
  const pid_t pid = pid_;
  pid_ = -1;
  ::kill(pid, SIGINT);  // fast shutdown: roll back sessions, checkpoint, exit
  if (WaitUntil(pid, Clock::now() + std::chrono::seconds(60)) != -1) return;
  std::cerr << "pg_server: PostgreSQL (pid " << pid << ") did not stop in 60 s; SIGKILL\n";
  ::kill(-pid, SIGKILL);
  WaitUntil(pid, Clock::now() + std::chrono::seconds(30));
}

std::vector<std::string> PgServer::Env(const std::string& database) const {
  return {std::string("PGHOST=") + kHost, "PGPORT=" + std::to_string(port_), std::string("PGUSER=") + kUser,
          "PGDATABASE=" + database};
}

void PgServer::ExportEnv(const std::string& database) const {
  for (const char* v : {"PGSERVICE", "PGSERVICEFILE", "PGPASSWORD", "PGOPTIONS", "PGHOSTADDR", "PGSSLMODE"})
    ::unsetenv(v);
  ::setenv("PGHOST", kHost, 1);
  ::setenv("PGPORT", std::to_string(port_).c_str(), 1);
  ::setenv("PGUSER", kUser, 1);
  ::setenv("PGDATABASE", database.c_str(), 1);
}

std::string PgServer::ConnInfo(const std::string& database) const {
  return std::string("host=") + kHost + " port=" + std::to_string(port_) + " user=" + kUser + " dbname=" + database;
}

std::string PgServer::CreateDatabase(const std::string& name) const {
  PGconn* c = PQconnectdb(ConnInfo().c_str());
  std::string error;
  if (PQstatus(c) != CONNECTION_OK) {
    error = PQerrorMessage(c);
  } else {
    char* quoted = PQescapeIdentifier(c, name.c_str(), name.size());
    PGresult* r = PQexec(c, ("CREATE DATABASE " + std::string(quoted)).c_str());
    PQfreemem(quoted);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(c);
  return error;
}

std::string PgServer::Query(const std::string& database, const std::string& sql) const {
  PGconn* c = PQconnectdb(ConnInfo(database).c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string e = PQerrorMessage(c);
    PQfinish(c);
    Die("connect: " + e);
  }
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  PGresult* r = PQexec(c, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
    std::string e = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    Die(sql + ": " + e);
  }
  std::string out;
  for (int i = 0; i < PQntuples(r); ++i) {
    if (i > 0) out += "\n";
    out += PQgetisnull(r, i, 0) ? "NULL" : PQgetvalue(r, i, 0);
  }
  PQclear(r);
  PQfinish(c);
  return out;
}

std::string PgServer::Log() const { return ReadFile(log_path_); }

}  // namespace sluice::testing
