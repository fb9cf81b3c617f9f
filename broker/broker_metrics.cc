// The broker's HTTP endpoint: starting it, and the Prometheus text of
// /metrics, built on the loop from what it holds in memory (no table scan)
// and published to the HTTP threads about once a second.
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>

#include "broker/broker.h"
#include "broker/log.h"
#include "broker/prometheus_text.h"

namespace sluice::broker {
namespace {

constexpr auto kMetricsEvery = std::chrono::seconds(1);

// JobCounters' fields as sluice_job_events_total{event}.
struct EventField {
  const char* event;
  std::int64_t JobCounters::*field;
};
constexpr EventField kEvents[] = {
    {"submitted", &JobCounters::submitted}, {"dispatched", &JobCounters::dispatched},
    {"succeeded", &JobCounters::succeeded}, {"failed", &JobCounters::failed},
    {"timed_out", &JobCounters::timed_out}, {"lost", &JobCounters::lost},
    {"retried", &JobCounters::retried},     {"dead", &JobCounters::dead},
    {"cancelled", &JobCounters::cancelled}, {"returned", &JobCounters::returned},
    {"recalled", &JobCounters::recalled},   {"duplicate_results", &JobCounters::duplicate_results}};

// HELP and TYPE of the families kept in metric_counters.
struct Persisted {
  const char* name;
  const char* type;
  const char* help;
};
constexpr Persisted kPersisted[] = {
    {"sluice_job_events_total", "counter",
     "Job events: submitted, dispatched, succeeded, failed (an attempt), timed_out, lost, retried, dead, "
     "cancelled, returned, recalled, duplicate_results. Kept across restarts."},
    {"sluice_job_results_total", "counter", "Attempts that ended, by job kind and outcome."},
    {"sluice_job_retries_total", "counter", "Retries scheduled after a failed attempt, by job kind."},
    {"sluice_jobs_dead_total", "counter", "Jobs that ended dead, by job kind."},
    {"sluice_attempt_duration_seconds", "histogram", "Wall time of attempts that ended, by job kind."},
    {"sluice_runs_total", "counter",
     "Workflow runs by workflow and state: started, and each end (succeeded, failed, cancelled)."},
    {"sluice_cron_fires_total", "counter", "Cron slots fired, by workflow."},
    {"sluice_extract_files_total", "counter",
     "Files of successful extract.http runs, by source: written (new landing files) or skipped (304, or known)."},
    {"sluice_extract_bytes_total", "counter", "Bytes of landing files written by extract.http, by source."},
};

std::int64_t FileBytes(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : 0;
}

}  // namespace

Status Broker::StartHttp() {
  if (config_.http.off) return Status::Ok();
  http_ = std::make_unique<HttpServer>();
  api_ = std::make_unique<ApiMailbox>([this] { wakeup_.Poke(); });
  http_api_ = std::make_unique<HttpApi>(api_.get());
  http_api_->Mount(http_.get());
  Status s = http_->Start(config_.http, config_.http_token);
  if (!s.ok()) {
    http_.reset();
    http_api_.reset();
    api_.reset();
    if (config_.http_required) return s;
    Logf("WARNING: %s; running without HTTP (no /metrics). Give --http ADDR, or --http off to say so",
         s.message().c_str());
    return Status::Ok();
  }
  Logf("HTTP on %s:%d (status page /, /api, /metrics)%s", config_.http.host.c_str(), http_->port(),
       config_.http_token.empty() ? "" : ", bearer token required");
  http_->PublishMetrics(MetricsText());
  metrics_published_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

void Broker::StopHttp() {
  if (api_) api_->Close();
  http_.reset();
}

void Broker::ServeApi() {
  for (ApiMailbox::Request& r : api_->Take())
    Dispatch(r.routing_id, static_cast<std::uint8_t>(r.command), r.body, /*from_http=*/true);
}

void Broker::PublishMetricsIfDue() {
  if (!http_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - metrics_published_ < kMetricsEvery) return;
  metrics_published_ = now;
  http_->PublishMetrics(MetricsText());
}

std::string Broker::MetricsText() const {
  PrometheusText p;
  const StateCounts& counts = jobs_->counts();
  p.Family("sluice_jobs", "gauge", "Jobs in the state database, by state and queue.");
  auto by_queue = counts.all_by_queue();
  if (by_queue.empty()) by_queue["default"] = {};  // every state present, even with no jobs
  for (const auto& [queue, by_state] : by_queue)
    for (int i = 0; i < kJobStateCount; ++i)
      p.Sample({{"state", JobStateName(static_cast<JobState>(i))}, {"queue", queue}},
               static_cast<double>(by_state[static_cast<std::size_t>(i)]));

  // The persisted families; sluice_job_events_total with every event, even 0.
  const auto& table = store_.metrics().values();
  for (const Persisted& f : kPersisted) {
    const std::string name = f.name;
    const bool histogram = std::string_view(f.type) == "histogram";
    auto family = table.find(histogram ? name + "_count" : name);
    if (name == "sluice_job_events_total") {
      p.Family(f.name, f.type, f.help);
      const JobCounters& c = jobs_->counters();  // the committed values, and this turn's
      for (const EventField& e : kEvents) p.Sample({{"event", e.event}}, static_cast<double>(c.*e.field));
      continue;
    }
    if (family == table.end()) continue;
    p.Family(f.name, f.type, f.help);
    if (!histogram) {
      for (const auto& [labels, value] : family->second) p.RawSample({}, labels, value);
      continue;
    }
    // Buckets are stored alone; the exposition wants them cumulative.
    const auto buckets = table.find(name + "_bucket");
    const auto sums = table.find(name + "_sum");
    for (const auto& [labels, count] : family->second) {
      std::vector<std::pair<double, double>> by_le;  // (le, count in that bucket)
      if (buckets != table.end())
        for (const auto& [bl, n] : buckets->second) {
          // bl is labels + ",le=\"X\"" (or le alone when labels is empty)
          const std::string prefix = labels.empty() ? "le=\"" : labels + ",le=\"";
          if (bl.rfind(prefix, 0) != 0) continue;
          by_le.emplace_back(std::strtod(bl.c_str() + prefix.size(), nullptr), n);
        }
      std::sort(by_le.begin(), by_le.end());
      double run = 0;
      for (const auto& [le, n] : by_le) {
        run += n;
        const std::string le_text = PrometheusText::FormatValue(le);
        p.RawSample("_bucket", labels.empty() ? "le=\"" + le_text + "\"" : labels + ",le=\"" + le_text + "\"", run);
      }
      p.RawSample("_bucket", labels.empty() ? "le=\"+Inf\"" : labels + ",le=\"+Inf\"", count);
      double sum = 0;
      if (sums != table.end())
        if (auto it = sums->second.find(labels); it != sums->second.end()) sum = it->second;
      p.RawSample("_sum", labels, sum);
      p.RawSample("_count", labels, count);
    }
  }

  // Queue depth is sluice_jobs{state="queued"}; how long its oldest job has waited:
  p.Family("sluice_queue_oldest_job_age_seconds", "gauge",
           "Per queue, how long its oldest queued job (ready, waiting for a slot) has waited; 0 when none waits.");
  const auto oldest = jobs_->OldestQueued();
  const std::int64_t now_ms = clock_->NowMs();
  for (const auto& [queue, by_state] : by_queue) {
    (void)by_state;
    auto it = oldest.find(queue);
    const double age = it == oldest.end() ? 0.0 : std::max<std::int64_t>(0, now_ms - it->second) / 1000.0;
    p.Sample({{"queue", queue}}, age);
  }
  std::int64_t workers = 0, busy = 0, free = 0;
  jobs_->workers().ForEach([&](Worker& w) {
    ++workers;
    const std::int64_t running = std::min<std::int64_t>(w.slots, static_cast<std::int64_t>(w.leases.size()));
    busy += running;
    free += w.slots - running;
  });
  p.Family("sluice_workers", "gauge", "Workers connected.");
  p.Sample(static_cast<double>(workers));
  p.Family("sluice_worker_slots", "gauge", "Slots of the connected workers, busy or free.");
  p.Sample({{"state", "busy"}}, static_cast<double>(busy));
  p.Sample({{"state", "free"}}, static_cast<double>(free));

  p.Family("sluice_commits_total", "counter", "State database commits since the broker started.");
  p.Sample(static_cast<double>(counters_.commits));
  p.Family("sluice_commit_duration_seconds", "histogram", "Wall time of each state database commit.");
  p.Histogram({}, commit_seconds_.bounds(), commit_seconds_.cumulative(), commit_seconds_.count(),
              commit_seconds_.sum());
  p.Family("sluice_state_db_bytes", "gauge", "Size of the state database: its file and its WAL.");
  p.Sample({{"file", "db"}}, static_cast<double>(FileBytes(config_.state_path)));
  p.Sample({{"file", "wal"}}, static_cast<double>(FileBytes(config_.state_path + "-wal")));
  return p.Take();
}

void Broker::RestoreJobCounters() {
  JobCounters c;
  const MetricCounters& m = store_.metrics();
  for (const EventField& e : kEvents)
    c.*e.field = static_cast<std::int64_t>(m.Get("sluice_job_events_total", MetricCounters::Render({{"event", e.event}})));
  jobs_->RestoreCounters(c);
  saved_job_counters_ = c;
}

void Broker::SaveJobCounters() {
  const JobCounters& now = jobs_->counters();
  MetricCounters& m = store_.metrics();
  for (const EventField& e : kEvents) {
    const std::int64_t delta = now.*e.field - saved_job_counters_.*e.field;
    if (delta > 0) m.Add("sluice_job_events_total", {{"event", e.event}}, static_cast<double>(delta));
  }
  saved_job_counters_ = now;
}

}  // namespace sluice::broker
