// The broker's HTTP endpoint: starting it, and the Prometheus text of
// /metrics, built on the loop from what it holds in memory (no table scan)
// and published to the HTTP threads about once a second.
#include <sys/stat.h>

#include "broker/broker.h"
#include "broker/log.h"
#include "broker/prometheus_text.h"

namespace sluice::broker {
namespace {

constexpr auto kMetricsEvery = std::chrono::seconds(1);

std::int64_t FileBytes(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : 0;
}

}  // namespace

Status Broker::StartHttp() {
  if (config_.http.off) return Status::Ok();
  http_ = std::make_unique<HttpServer>();
  Status s = http_->Start(config_.http, config_.http_token);
  if (!s.ok()) {
    http_.reset();
    if (config_.http_required) return s;
    Logf("WARNING: %s; running without HTTP (no /metrics). Give --http ADDR, or --http off to say so",
         s.message().c_str());
    return Status::Ok();
  }
  Logf("HTTP on %s:%d (/metrics)%s", config_.http.host.c_str(), http_->port(),
       config_.http_token.empty() ? "" : ", bearer token required");
  http_->PublishMetrics(MetricsText());
  metrics_published_ = std::chrono::steady_clock::now();
  return Status::Ok();
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

  const JobCounters& c = jobs_->counters();
  p.Family("sluice_job_events_total", "counter",
           "Job events since the broker started: submitted, dispatched, succeeded, failed (an attempt), "
           "timed_out, lost, retried, dead, cancelled, returned, recalled.");
  const std::pair<const char*, std::int64_t> events[] = {
      {"submitted", c.submitted}, {"dispatched", c.dispatched}, {"succeeded", c.succeeded},
      {"failed", c.failed},       {"timed_out", c.timed_out},   {"lost", c.lost},
      {"retried", c.retried},     {"dead", c.dead},             {"cancelled", c.cancelled},
      {"returned", c.returned},   {"recalled", c.recalled}};
  for (const auto& [name, n] : events) p.Sample({{"event", name}}, static_cast<double>(n));

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

}  // namespace sluice::broker
