// Commands about jobs: status, list, wait, retry, cancel.
#include <chrono>
#include <memory>
#include <thread>

#include "producers/cli_context.h"
#include "producers/exit_codes.h"
#include "producers/job_format.h"
#include "producers/reply_fields.h"
#include "producers/seconds.h"
#include "producers/time_format.h"
#include "schemas/job_state.h"

namespace sluice::cli {
namespace {

using json = nlohmann::json;

// How often `wait` asks for each unfinished job.
constexpr std::chrono::milliseconds kWaitPollInterval{150};

std::string StateNames() {
  std::string names;
  for (auto s : {JobState::kScheduled, JobState::kQueued, JobState::kRunning, JobState::kSucceeded,
                 JobState::kDead, JobState::kCancelled, JobState::kUpstreamFailed})
    names += (names.empty() ? "" : ", ") + std::string(JobStateName(s));
  return names;
}

// status, retry and cancel: one call that answers one job object.
int RunOneJob(Context& ctx, const std::string& id, Result<json> (Client::*call)(const std::string&),
              bool full_view) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto job = ((*client).*call)(id);
  if (!job.ok()) return ctx.Fail(job.status());
  if (ctx.global.json)
    ctx.PrintJson(*job);
  else
    ctx.out << (full_view ? FormatJob(*job, NowUnixMs()) : FormatJobLine(*job));
  return kExitOk;
}

int RunList(Context& ctx, const ListFilter& filter) {
  if (!filter.state.empty() && !ParseJobState(filter.state))
    return ctx.Usage("--state: '" + filter.state + "' is not a job state (" + StateNames() + ")");
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto jobs = client->List(filter);
  if (!jobs.ok()) return ctx.Fail(jobs.status());
  if (ctx.global.json)
    ctx.PrintJson({{"jobs", *jobs}});
  else
    ctx.out << FormatJobTable(*jobs);
  return kExitOk;
}

struct WaitOptions {
  std::vector<std::string> ids;
  std::string timeout;  // seconds; empty: wait as long as it takes
};

int RunWait(Context& ctx, const WaitOptions& o) {
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (!o.timeout.empty()) {
    auto ms = ParseSecondsToMs(o.timeout);
    if (!ms.ok()) return ctx.Usage("--timeout: " + ms.status().message());
    deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(*ms);
  }
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());

  std::vector<json> jobs(o.ids.size());
  std::vector<bool> done(o.ids.size(), false);
  bool timed_out = false;
  while (true) {
    for (std::size_t i = 0; i < o.ids.size(); ++i) {
      if (done[i]) continue;
      auto job = client->Status(o.ids[i]);
      if (!job.ok()) return ctx.Fail(job.status());
      jobs[i] = std::move(job).value();
      auto state = ParseJobState(reply::Str(jobs[i], "state"));
      done[i] = state && IsTerminal(*state);
    }
    if (std::find(done.begin(), done.end(), false) == done.end()) break;
    const auto now = std::chrono::steady_clock::now();
    if (deadline && now >= *deadline) {
      timed_out = true;
      break;
    }
    auto nap = std::chrono::duration_cast<std::chrono::milliseconds>(kWaitPollInterval);
    if (deadline) nap = std::min(nap, std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - now) + std::chrono::milliseconds(1));
    std::this_thread::sleep_for(nap);
  }

  std::size_t failed = 0, unfinished = 0;
  std::string unfinished_ids;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (!done[i]) {
      ++unfinished;
      unfinished_ids += " " + o.ids[i];
    } else if (reply::Str(jobs[i], "state") != JobStateName(JobState::kSucceeded)) {
      ++failed;
    }
  }
  if (ctx.global.json) {
    ctx.PrintJson({{"jobs", json(jobs)}});
  } else {
    for (const auto& job : jobs) ctx.out << FormatJobLine(job);
  }
  if (timed_out) {
    ctx.err << "sluice: wait: timed out after " << o.timeout << " s; " << unfinished << " of "
            << jobs.size() << " jobs not finished:" << unfinished_ids << std::endl;
    return kExitWaitTimeout;
  }
  return failed > 0 ? kExitFailed : kExitOk;
}

}  // namespace

void AddJobCommands(CLI::App& app, Context& ctx, CommandList* commands) {
  {
    auto id = std::make_shared<std::string>();
    CLI::App* c = app.add_subcommand("status", "Show a job with all its attempts");
    c->footer("--json prints the broker's job object (with params, outputs and attempts).");
    c->add_option("id", *id, "The job id, e.g. j12")->required();
    commands->emplace_back(c, [&ctx, id] { return RunOneJob(ctx, *id, &Client::Status, true); });
  }
  {
    auto filter = std::make_shared<ListFilter>();
    CLI::App* c = app.add_subcommand("list", "List jobs, newest first");
    c->footer(
        "INFO says why a queued job is not running (e.g. no worker runs its kind), when a\n"
        "scheduled job runs next, and the last error.\n"
        "--json prints {\"jobs\": [job, ...]}.");
    c->add_option("--state", filter->state, "Only jobs in this state (" + StateNames() + ")");
    c->add_option("--queue", filter->queue, "Only jobs on this queue");
    c->add_option("--kind", filter->kind, "Only jobs of this kind");
    c->add_option("--limit", filter->limit, "At most this many jobs (broker default: 100)")
        ->check(CLI::Range(1u, 10000u));
    commands->emplace_back(c, [&ctx, filter] { return RunList(ctx, *filter); });
  }
  {
    auto o = std::make_shared<WaitOptions>();
    CLI::App* c = app.add_subcommand("wait", "Wait until jobs end (succeeded, dead, cancelled or upstream_failed)");
    c->footer(
        "Polls each unfinished job every 150 ms. Exit 0 when all succeeded, 1 when any ended\n"
        "dead, cancelled or upstream_failed, 4 when --timeout ran out first.\n"
        "--json prints {\"jobs\": [job, ...]} with each job's last known state.");
    c->add_option("ids", o->ids, "Job ids")->required();
    c->add_option("--timeout", o->timeout, "Give up after this many seconds (default: no limit)")
        ->type_name("S");
    commands->emplace_back(c, [&ctx, o] { return RunWait(ctx, *o); });
  }
  {
    auto id = std::make_shared<std::string>();
    CLI::App* c = app.add_subcommand(
        "retry", "Queue a dead, cancelled, upstream_failed or scheduled job again, now");
    c->footer("Prints the job's id and new state; --json prints the job object.");
    c->add_option("id", *id, "The job id")->required();
    commands->emplace_back(c, [&ctx, id] { return RunOneJob(ctx, *id, &Client::Retry, false); });
  }
  {
    auto id = std::make_shared<std::string>();
    CLI::App* c = app.add_subcommand("cancel", "Cancel a job that has not ended (a running one is stopped)");
    c->footer("Prints the job's id and new state; --json prints the job object.");
    c->add_option("id", *id, "The job id")->required();
    commands->emplace_back(c, [&ctx, id] { return RunOneJob(ctx, *id, &Client::Cancel, false); });
  }
}

}  // namespace sluice::cli
