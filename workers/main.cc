// sluice-worker: runs sluice jobs handed out by the broker. See worker.h for
// the behaviour and PROTOCOL.md §5 for the wire contract.
//
// Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 when the worker
// cannot start, 2 for bad flags, an unusable CURVE key file (--curve-key,
// --broker-key) or a malformed broker endpoint.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "schemas/protocol.h"
#include "workers/stop_requests.h"
#include "workers/worker.h"
#include "workers/worker_options.h"

namespace {

sluice::worker::StopRequests* g_stop_requests = nullptr;

void OnStopSignal(int) {
  if (g_stop_requests != nullptr) g_stop_requests->Request();
}

// Children get pipes as stdout/stderr; if the worker was started with 0, 1
// or 2 closed, a pipe could land there and be clobbered by dup2.
void EnsureStandardFds() {
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) continue;
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0 && null != fd) {
      ::dup2(null, fd);
      ::close(null);
    }
  }
}

// `text` cut at each `separator`, without empty pieces.
std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> out;
  while (!text.empty()) {
    std::size_t end = text.find(separator);
    std::string_view piece = text.substr(0, end);
    if (!piece.empty()) out.emplace_back(piece);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using sluice::worker::WorkerOptions;
  WorkerOptions options;
  unsigned slots = options.slots;
  std::string prefetch = "auto";
  long long heartbeat_ms = options.heartbeat.count();
  double grace_s = static_cast<double>(options.grace.count()) / 1000.0;

  CLI::App app{"sluice-worker: connects to the sluice broker and runs the jobs it hands out.\n"
               "Stops gracefully on SIGTERM/SIGINT: takes no new jobs, lets running ones finish\n"
               "within --grace, hands the rest back to the broker; a second signal hands them\n"
               "back at once. If the broker refuses this worker's key (ERROR forbidden), it takes\n"
               "no jobs, keeps the results it could not report, and tries again with backoff."};
  app.add_option("--broker", options.broker, "Broker endpoint")
      ->envname("SLUICE_BROKER")
      ->capture_default_str();
  app.add_option("--curve-key", options.curve_key_file,
                 "CURVE: this worker's own key file (NAME.key: its public and secret key, mode 0600). "
                 "With --broker-key, the connection to the broker is encrypted and the worker "
                 "authenticates with this key; the broker must authorize its NAME.pub as a "
                 "worker's. Both or neither")
      ->envname("SLUICE_CURVE_KEY");
  app.add_option("--broker-key", options.broker_key_file,
                 "CURVE: the broker's public key file (its NAME.pub); the worker only talks to "
                 "the broker holding the matching secret key. Both or neither with --curve-key")
      ->envname("SLUICE_BROKER_KEY");
  app.add_option("--slots", slots,
                 "Jobs that may block (exec, test.sleep) run at once, 1-4096; the broker sends no "
                 "more than this")
      ->capture_default_str();
  app.add_option("--prefetch", prefetch,
                 "Jobs accepted beyond --slots, queued here to start the moment a slot frees. "
                 "auto: adaptive, up to 1024: the broker sends as many as this worker gets "
                 "through in ~5 ms at its recent pace (none while jobs are long) and asks "
                 "unstarted ones back when another worker has a free slot. N (0-4096): always "
                 "up to N, never asked back (0: none)")
      ->capture_default_str();
  app.add_option("--queues", options.queues,
                 "Comma-separated queues to serve, e.g. lakehouse,default on the host that holds "
                 "the lakehouse (the default pipeline's transform and export stages are on queue "
                 "lakehouse)")
      ->envname("SLUICE_QUEUES")
      ->delimiter(',')
      ->capture_default_str();
  app.add_flag("--allow-exec", options.allow_exec,
               "Run 'exec' jobs (arbitrary commands). Without it the kind is not announced and "
               "such jobs fail");
  app.add_option("--landing", options.landing,
                 "Landing zone: a folder, or s3://bucket/prefix in an S3-compatible store "
                 "(credentials and endpoint from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
                 "AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL). "
                 "extract.http writes {source}/{YYYY}/{MM}/ files under it (a folder is created "
                 "if missing; may be shared by many workers); load reads them")
      ->envname("LANDING_DIR")
      ->capture_default_str();
  app.add_option("--backup", options.backup,
                 "s3://bucket/prefix where the backup kind puts lakehouse snapshots (under lakehouse/) and "
                 "landing mirrors (under landing/); without it a backup job succeeds doing nothing")
      ->envname("SLUICE_BACKUP");
  app.add_option("--spool-dir", options.spool_dir,
                 "With an s3:// landing zone: the local folder where a download waits for its "
                 "upload (default: $TMPDIR or /tmp)")
      ->envname("SLUICE_SPOOL_DIR");
  app.add_option("--lakehouse", options.lakehouse,
                 "The lakehouse SQLite file that load and transform.sql write and export.serving "
                 "reads (one writer at a time: the broker gives these kinds one concurrency key)")
      ->envname("LAKEHOUSE_PATH")
      ->capture_default_str();
  app.add_option("--serving", options.serving,
                 "The analytics database export.serving replaces atomically (what readers open)")
      ->envname("SERVING_DB_PATH")
      ->capture_default_str();
  std::vector<std::string> models_roots, secret_env;
  auto* models_root_option =
      app.add_option("--models-root", models_roots,
                     "A folder load and transform.sql may read models folders and sources files "
                     "from (repeatable; env SLUICE_MODELS_ROOT, colon-separated). A job's models= "
                     "or sources= must be an absolute path inside one, or relative to the first. "
                     "Default: the working folder");
  auto* secret_env_option =
      app.add_option("--secret-env", secret_env,
                     "Environment variables extract.http's ${env:NAME} may read: names, or "
                     "prefixes ending in '*' (repeatable, comma-separated; env SLUICE_SECRET_ENV). "
                     "Default: SLUICE_SECRET_*")
          ->delimiter(',');
  app.add_flag("--secret-in-url", options.secret_in_url,
               "Allow ${env:NAME} secrets in extract.http URLs (by default only in headers)");
  long long extract_max_bytes = static_cast<long long>(options.extract_max_bytes);
  app.add_option("--extract-max-bytes", extract_max_bytes,
                 "Largest body extract.http keeps; a job's max_bytes may ask for less, not more "
                 "(0: no limit)")
      ->capture_default_str();
  app.add_option("--heartbeat-ms", heartbeat_ms,
                 "Heartbeat interval in ms. The broker is presumed gone after 3 silent intervals; "
                 "each further silent connection in a row waits twice as long, up to 30 "
                 "intervals, plus 0-25% at random")
      ->capture_default_str();
  app.add_option("--grace", grace_s, "Seconds running jobs may take to finish after SIGTERM")
      ->capture_default_str();
  app.add_option("--worker-id", options.worker_id,
                 "Stable id of this worker (default: <host>-<pid>-<random>)");
  std::string log_format = "logfmt";
  app.add_option("--log-format", log_format,
                 "Log lines on stderr: logfmt (time=... level=... msg=\"...\" component=worker worker=ID job=...) "
                 "or json (one object per line, the same keys). A job's start and end are logged, a few a "
                 "second under a flood (then one line says how many were left out)")
      ->envname("SLUICE_LOG_FORMAT")
      ->check(CLI::IsMember({"logfmt", "json"}));
  app.set_version_flag("--version", sluice::worker::kWorkerVersion);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "sluice-worker: %s (see --help)\n", e.what());
    return 2;
  }
  sluice::SetLogFormat(*sluice::ParseLogFormat(log_format));
  if (!std::isfinite(grace_s) || grace_s < 0 || grace_s > 366.0 * 24 * 3600) {
    std::fprintf(stderr, "sluice-worker: --grace: must be a number of seconds >= 0\n");
    return 2;
  }
  // Flags win over the environment.
  if (models_root_option->count() > 0) {
    options.models_roots = models_roots;
  } else if (const char* env = std::getenv("SLUICE_MODELS_ROOT"); env != nullptr && *env != '\0') {
    options.models_roots = Split(env, ':');
  }
  if (secret_env_option->count() > 0) {
    options.secret_env.clear();
    for (const std::string& entry : secret_env)
      for (std::string& piece : Split(entry, ',')) options.secret_env.push_back(std::move(piece));
  } else if (const char* env = std::getenv("SLUICE_SECRET_ENV"); env != nullptr && *env != '\0') {
    options.secret_env = Split(env, ',');
  }
  if (extract_max_bytes < 0) {
    std::fprintf(stderr, "sluice-worker: --extract-max-bytes: must be a number of bytes >= 0\n");
    return 2;
  }
  options.extract_max_bytes = static_cast<std::uint64_t>(extract_max_bytes);
  options.slots = slots;
  if (prefetch == "auto") {
    options.prefetch = sluice::worker::kAdaptivePrefetch;
    options.adaptive = true;
  } else {
    char* end = nullptr;
    errno = 0;
    const unsigned long n = std::strtoul(prefetch.c_str(), &end, 10);
    if (prefetch.empty() || *end != '\0' || errno != 0 || prefetch[0] == '-' || n > sluice::proto::kMaxSlots) {
      std::fprintf(stderr, "sluice-worker: --prefetch: must be auto or a number 0-%u\n", sluice::proto::kMaxSlots);
      return 2;
    }
    options.prefetch = static_cast<unsigned>(n);
    options.adaptive = false;
  }
  options.heartbeat = std::chrono::milliseconds(heartbeat_ms);
  options.grace = std::chrono::milliseconds(static_cast<long long>(std::llround(grace_s * 1000)));
  if (sluice::Status valid = sluice::worker::ValidateOptions(options); !valid.ok()) {
    std::fprintf(stderr, "sluice-worker: %s\n", valid.message().c_str());
    return 2;
  }
  if (sluice::Status keys = sluice::worker::LoadCurveKeys(&options); !keys.ok()) {
    std::fprintf(stderr, "sluice-worker: %s\n", keys.message().c_str());
    return 2;
  }
  if (sluice::Status store = sluice::worker::LoadObjectStore(&options); !store.ok()) {
    std::fprintf(stderr, "sluice-worker: %s\n", store.message().c_str());
    return 2;
  }

  EnsureStandardFds();
  sluice::worker::StopRequests stop_requests;
  g_stop_requests = &stop_requests;
  struct sigaction on_stop{};
  on_stop.sa_handler = OnStopSignal;
  sigemptyset(&on_stop.sa_mask);
  on_stop.sa_flags = SA_RESTART;
  ::sigaction(SIGTERM, &on_stop, nullptr);
  ::sigaction(SIGINT, &on_stop, nullptr);
  struct sigaction ignore{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, nullptr);

  int code;
  {
    sluice::worker::Worker worker(std::move(options), &stop_requests);
    code = worker.Run();
  }
  g_stop_requests = nullptr;
  return code;
}
