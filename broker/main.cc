// sluice-broker: the job broker. See --help, and schemas/PROTOCOL.md.
//
// Exit codes: 0 stopped cleanly (SIGTERM/SIGINT); 1 a fatal runtime error
// (the state database refused a write: the broker stops rather than
// acknowledge what it has not stored); 2 usage error; 3 could not start
// (cannot open the state database or bind the endpoint).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include <CLI/CLI.hpp>
#include <sqlite3.h>

#include "broker/bind_policy.h"
#include "broker/broker.h"
#include "broker/state_backup.h"
#include "broker/duration_flag.h"
#include "broker/http_server.h"
#include "broker/log.h"
#include "broker/service_notify.h"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
// The loop's wakeup: a signal taken by another thread (the checkpointer's,
// the alert sender's) does not interrupt the loop's poll; this does.
std::atomic<const sluice::broker::Broker*> g_broker{nullptr};

void WakeLoop() {
  if (const auto* b = g_broker.load()) b->Wake();
}
void OnSignal(int) {
  g_stop.store(true);
  WakeLoop();
}
void OnHangup(int) {
  g_reload.store(true);
  WakeLoop();
}

// A CLI11 validator for durations.
struct DurationValidator : public CLI::Validator {
  DurationValidator() {
    name_ = "DURATION";
    func_ = [](const std::string& s) {
      return sluice::broker::ParseDurationMs(s) ? std::string() : "not a duration: " + s +
                                                                     " (e.g. 30s, 10m, 7d, 0.5)";
    };
  }
};

// --backup: the location and the store's settings; with
// --restore-if-missing and no state file, the newest snapshot restored
// first. Null (and *rc the exit code) when the broker must not start.
std::unique_ptr<sluice::broker::StateBackup> SetUpBackup(const std::string& url, const std::string& interval,
                                                         const sluice::backup::Retention& keep,
                                                         const std::string& state_path, bool restore_if_missing,
                                                         int* rc) {
  auto location = sluice::s3::ParseLocation(url);
  if (!location.ok()) {
    std::fprintf(stderr, "sluice-broker: --backup: %s\n", location.status().message().c_str());
    *rc = 2;
    return nullptr;
  }
  auto store = sluice::s3::ConfigFromEnv();
  if (!store.ok()) {
    std::fprintf(stderr, "sluice-broker: --backup %s: %s\n", url.c_str(), store.status().message().c_str());
    *rc = 2;
    return nullptr;
  }
  if (*sluice::broker::ParseDurationMs(interval) < 1000) {
    std::fprintf(stderr, "sluice-broker: --backup-interval: must be at least 1s (snapshots are named by the second)\n");
    *rc = 2;
    return nullptr;
  }
  std::error_code ec;
  std::string dir = std::filesystem::path(state_path).parent_path().string();
  if (dir.empty()) dir = ".";
  if (restore_if_missing && !std::filesystem::exists(state_path, ec)) {
    sluice::s3::Client client(store.value());
    auto restored = sluice::backup::RestoreDatabase(client, location.value(), sluice::backup::StateSubject(),
                                                    state_path, {});
    if (restored.ok()) {
      sluice::broker::Logf("restored the state database %s from %s (snapshot %s)", state_path.c_str(),
                           url.c_str(), restored->c_str());
    } else if (restored.status().code() == sluice::Code::kNotFound) {
      sluice::broker::Logf("--restore-if-missing: %s; starting with a new state database",
                           restored.status().message().c_str());
    } else {
      std::fprintf(stderr, "sluice-broker: --restore-if-missing: %s\n", restored.status().message().c_str());
      *rc = 3;
      return nullptr;
    }
  }
  sluice::broker::StateBackupConfig config;
  config.location = std::move(location).value();
  config.store = std::move(store).value();
  config.interval = std::chrono::milliseconds(*sluice::broker::ParseDurationMs(interval));
  config.retention = keep;
  config.state_path = state_path;
  config.temp_dir = dir;
  return std::make_unique<sluice::broker::StateBackup>(std::move(config));
}

}  // namespace

int main(int argc, char** argv) {
  using sluice::broker::ParseDurationMs;
  sluice::broker::BrokerConfig cfg;
  std::string backoff = "5s", backoff_cap = "1h", default_timeout = "30m", retention = "7d";
  std::string sync = "full";
  std::int64_t clock_offset_ms = 0;
  std::uint32_t max_attempts = cfg.retry.max_attempts;

  CLI::App app{"sluice-broker: durable job broker. Workers and clients connect over ZeroMQ "
               "(protocol SLUICE1, see schemas/PROTOCOL.md); state lives in SQLite (WAL).\n"
               "Exit codes: 0 clean stop, 1 fatal state-database error, 2 usage, 3 cannot start."};
  app.option_defaults()->always_capture_default();
  if (const char* e = std::getenv("SLUICE_BROKER")) cfg.endpoint = e;
  app.add_option("--endpoint", cfg.endpoint,
                 "ZeroMQ endpoint to bind (env SLUICE_BROKER); a '*' port binds a free one, "
                 "e.g. tcp://127.0.0.1:*");
  app.add_option("--endpoint-file", cfg.endpoint_file,
                 "write the bound endpoint to this file once listening");
  app.add_option("--state", cfg.state_path, "state database (SQLite)")->envname("SLUICE_STATE");
  app.add_option("--workflows", cfg.workflows_path,
                 "workflow registry (TOML): workflows, their stages and cron schedules; reloaded on "
                 "SIGHUP or `sluice reload` (a file that does not load is refused, the old registry "
                 "stays). E.g. pipeline/default/workflows.toml")
      ->envname("SLUICE_WORKFLOWS");
  app.add_option("--heartbeat-ms", cfg.heartbeat_ms,
                 "heartbeat interval for peers that do not announce one (ms)")
      ->check(CLI::Range(10u, 3600000u));
  app.add_option("--liveness", cfg.liveness, "heartbeat intervals of silence before a worker is gone")
      ->check(CLI::Range(2u, 100u));
  app.add_option("--max-attempts", max_attempts, "default attempts per job")
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--backoff", backoff, "default retry backoff base (doubles per failure, +0-25% jitter)")
      ->check(DurationValidator());
  app.add_option("--backoff-cap", backoff_cap, "upper bound of the retry backoff")
      ->check(DurationValidator());
  app.add_option("--default-timeout", default_timeout, "timeout of jobs that do not set one")
      ->check(DurationValidator());
  app.add_option("--retention", retention,
                 "finished jobs older than this are pruned (with their attempts)")
      ->check(DurationValidator());
  app.add_option("--sync", sync,
                 "full: every (group) commit is fsynced, so an acknowledged job survives a power "
                 "cut; normal: fsync only at checkpoints, survives a crash of the broker process "
                 "but a power cut may lose the last commits")
      ->check(CLI::IsMember({"normal", "full"}));
  app.add_option("--commit-interval-us", cfg.commit_interval_us,
                 "group commit cap: the loop commits as soon as no more input waits (what "
                 "arrived meanwhile shares that commit); under a steady stream of input, at "
                 "the latest when the open transaction is this old. 0: every loop turn")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--prefetch-target-us", cfg.prefetch_target_us,
                 "adaptive prefetch: a worker that asks for it (sluice-worker by default) is "
                 "sent, beyond its slots, the jobs it gets through in this long at its recent "
                 "pace (none while its jobs are long)")
      ->check(CLI::Range(0, 60000000))
      ->capture_default_str();
  app.add_option("--clock-offset-ms", clock_offset_ms,
                 "shift the broker's clock (for tests of retention and schedules)");
  bool insecure = false;
  app.add_option("--curve-key", cfg.curve_key_path,
                 "the broker's own CURVE key (NAME.key from `sluice keygen`): encrypts and "
                 "authenticates every connection; needs --authorized. Without it the broker binds "
                 "only loopback endpoints")
      ->envname("SLUICE_CURVE_KEY");
  app.add_option("--authorized", cfg.authorized_dir,
                 "folder of the peers' public keys by role: workers/, clients/ and admins/, each "
                 "holding NAME.pub files; re-read on SIGHUP and `sluice reload`")
      ->envname("SLUICE_AUTHORIZED");
  app.add_flag("--insecure", insecure,
               "allow a non-loopback endpoint without --curve-key: anyone who reaches the port may "
               "submit jobs and act as a worker");
  std::string http = "127.0.0.1:5556", http_token_file;
  auto* http_opt = app.add_option("--http", http,
                                  "HTTP endpoint HOST:PORT for the status page, /api and /metrics (env SLUICE_HTTP), or off. When the "
                                  "default is busy the broker warns and runs without it; an address given "
                                  "that cannot be bound stops the start (exit 3). Beyond loopback it needs "
                                  "--http-token-file (or --insecure)")
                       ->envname("SLUICE_HTTP");
  app.add_option("--http-token-file", http_token_file,
                 "a file holding the bearer token every HTTP request must carry "
                 "(Authorization: Bearer TOKEN)")
      ->check(CLI::ExistingFile);
  std::string backup_url, backup_interval = "1h";
  sluice::backup::Retention keep;
  bool restore_if_missing = false;
  app.add_option("--backup", backup_url,
                 "s3://bucket/prefix: snapshot the state database there every --backup-interval and at a "
                 "clean shutdown (gzipped, under state/; credentials and endpoint from the AWS_* "
                 "variables). What happened since the last snapshot is what a lost host loses")
      ->envname("SLUICE_BACKUP");
  app.add_option("--backup-interval", backup_interval, "time between state snapshots (the recovery point)")
      ->check(DurationValidator())
      ->capture_default_str();
  app.add_option("--backup-keep-last", keep.keep_last, "snapshots kept: the newest N")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--backup-keep-daily", keep.keep_daily, "and the newest of each of the last N days")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--backup-keep-weekly", keep.keep_weekly, "and the newest of each of the last N ISO weeks")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_flag("--restore-if-missing", restore_if_missing,
               "when the state database does not exist, restore the newest snapshot from --backup "
               "before starting (a new host); none there: start with a new database")
      ->envname("SLUICE_RESTORE_IF_MISSING");
  app.add_flag("--verbose", cfg.verbose, "log dropped messages and periodic work");
  std::string log_format = "logfmt";
  app.add_option("--log-format", log_format,
                 "log lines on stderr: logfmt (time=... level=... msg=\"...\" component=broker job=...) or json "
                 "(one object per line, the same keys)")
      ->envname("SLUICE_LOG_FORMAT")
      ->check(CLI::IsMember({"logfmt", "json"}));
  app.set_version_flag("--version", SLUICE_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  sluice::SetLogFormat(*sluice::ParseLogFormat(log_format));
  sluice::SetLogSource({{"component", "broker"}});
  {
    auto listen = sluice::broker::ParseHttpListen(http);
    if (!listen.ok()) {
      std::fprintf(stderr, "sluice-broker: %s\n", listen.status().message().c_str());
      return 2;
    }
    cfg.http = *listen;
    cfg.http_required = http_opt->count() > 0 || std::getenv("SLUICE_HTTP") != nullptr;
    if (!http_token_file.empty()) {
      std::ifstream in(http_token_file);
      std::string token(4097, '\0');  // read at most one byte past the bound
      in.read(token.data(), static_cast<std::streamsize>(token.size()));
      token.resize(static_cast<std::size_t>(in.gcount()));
      if (token.size() > 4096) {
        std::fprintf(stderr, "sluice-broker: %s holds more than 4096 bytes; a token is one line\n",
                     http_token_file.c_str());
        return 2;
      }
      while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
        token.pop_back();
      if (in.bad()) {
        std::fprintf(stderr, "sluice-broker: cannot read %s\n", http_token_file.c_str());
        return 2;
      }
      if (token.size() < 16) {
        std::fprintf(stderr, "sluice-broker: the token in %s is shorter than 16 characters\n",
                     http_token_file.c_str());
        return 2;
      }
      cfg.http_token = token;
    }
    if (!cfg.http.off && !sluice::broker::IsLoopbackHttp(cfg.http) && cfg.http_token.empty()) {
      if (!insecure) {
        std::fprintf(stderr,
                     "sluice-broker: --http %s is reachable from other hosts; give it "
                     "--http-token-file FILE (and TLS in front, see the README), or pass --insecure\n",
                     http.c_str());
        return 2;
      }
      sluice::broker::Logf("WARNING: --insecure: HTTP on %s without a token", http.c_str());
    }
  }
  if (!cfg.authorized_dir.empty() && cfg.curve_key_path.empty()) {
    std::fprintf(stderr, "sluice-broker: --authorized needs --curve-key (the broker's own key)\n");
    return 2;
  }
  if (cfg.curve_key_path.empty()) {
    if (!sluice::broker::IsLoopbackEndpoint(cfg.endpoint)) {
      if (!insecure) {
        std::fprintf(stderr,
                     "sluice-broker: %s is reachable from other hosts; give the broker a key with "
                     "--curve-key FILE --authorized DIR (see `sluice keygen`), or pass --insecure to "
                     "listen there without encryption or authentication\n",
                     cfg.endpoint.c_str());
        return 2;
      }
      sluice::broker::Logf("WARNING: --insecure: listening on %s without CURVE; anyone who reaches "
                           "it may submit jobs and take them as a worker",
                           cfg.endpoint.c_str());
    } else {
      sluice::broker::Logf("no --curve-key: loopback endpoints only, without encryption or keys");
    }
  }
  cfg.retry.max_attempts = max_attempts;
  cfg.retry.base_ms = static_cast<std::uint64_t>(*ParseDurationMs(backoff));
  cfg.retry.cap_ms = static_cast<std::uint64_t>(*ParseDurationMs(backoff_cap));
  cfg.default_timeout_ms = static_cast<std::uint64_t>(*ParseDurationMs(default_timeout));
  cfg.retention_ms = *ParseDurationMs(retention);
  cfg.sync = sync == "full" ? sluice::broker::SyncMode::kFull : sluice::broker::SyncMode::kNormal;

  struct sigaction sa{};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll returns EINTR and the loop sees the flag
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  struct sigaction hup{};
  hup.sa_handler = OnHangup;
  sigemptyset(&hup.sa_mask);
  sigaction(SIGHUP, &hup, nullptr);
  cfg.reload_requested = &g_reload;
  std::signal(SIGPIPE, SIG_IGN);

  // No global mutex around every SQLite allocation (memory statistics are
  // not used). Must precede the first connection.
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

  std::unique_ptr<sluice::broker::StateBackup> state_backup;
  if (!backup_url.empty()) {
    int rc = 0;
    state_backup = SetUpBackup(backup_url, backup_interval, keep, cfg.state_path, restore_if_missing, &rc);
    if (!state_backup) return rc;
  } else if (restore_if_missing) {
    std::fprintf(stderr, "sluice-broker: --restore-if-missing needs --backup (where to restore from)\n");
    return 2;
  }

  sluice::broker::SystemClock clock(clock_offset_ms);
  sluice::broker::Broker broker(cfg, &clock);
  sluice::Status s = broker.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "sluice-broker: %s\n", s.message().c_str());
    return 3;
  }
  g_broker.store(&broker);
  sluice::broker::NotifyReady();  // listening, endpoint file written: systemd's Type=notify
  if (state_backup) state_backup->Start();
  s = broker.Run(g_stop);
  sluice::broker::NotifyStopping();
  g_broker.store(nullptr);
  if (state_backup) {
    state_backup->Stop();
    if (s.ok()) (void)state_backup->RunOnce();  // the last commit is in this one
  }
  if (!s.ok()) {
    std::fprintf(stderr, "sluice-broker: fatal: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}
