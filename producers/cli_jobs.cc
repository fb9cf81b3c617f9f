// Commands about jobs: status, list, wait, retry, cancel. `wait` also takes
// run ids (r3); status and cancel get theirs from cli_runs.cc.
#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

#include "producers/cli_context.h"
#include "producers/cli_runs.h"
#include "producers/exit_codes.h"
#include "producers/job_format.h"
#include "producers/reply_fields.h"
#include "producers/run_format.h"
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
  for (int i = 0; i < kJobStateCount; ++i)
    names += (names.empty() ? "" : ", ") + std::string(JobStateName(static_cast<JobState>(i)));
  return names;
}

// status, retry and cancel: one call that answers one job object.
int RunOneJob(Context& ctx, const std::string& id,
              Result<proto::JobView> (Client::*call)(const std::string&), bool full_view) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto view = ((*client).*call)(id);
  if (!view.ok()) return ctx.Fail(view.status());
  const json job = proto::ToJson(*view);
  if (ctx.global.json)
    ctx.PrintJson(job);
  else
    ctx.out << (full_view ? FormatJob(job, NowUnixMs()) : FormatJobLine(job));
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
    ctx.PrintJson({{"jobs", proto::ToJson(*jobs)}});
  else
    ctx.out << FormatJobTable(proto::ToJson(*jobs));
  return kExitOk;
}

struct WaitOptions {
  std::vector<std::string> ids;  // job ids (j12) and run ids (r3), in any mix
  std::string timeout;           // seconds; empty: wait as long as it takes
};

// One id `wait` follows: a job, or a workflow run (cli_runs.h IsRunId).
struct Waited {
  std::string id;
  bool run = false;
  json object;  // the last job or run object seen
  bool done = false;
};

// A job is done in a terminal state, a run when it succeeded, failed or was
// cancelled; either succeeded or it counts as failed.
bool Finished(const Waited& w) {
  const std::string state = reply::Str(w.object, "state");
  if (w.run) return IsFinishedRunState(state);
  auto s = ParseJobState(state);
  return s && IsTerminal(*s);
}

int RunWait(Context& ctx, const WaitOptions& o) {
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (!o.timeout.empty()) {
    auto ms = ParseSecondsToMs(o.timeout);
    if (!ms.ok()) return ctx.Usage("--timeout: " + ms.status().message());
    deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(*ms);
  }
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());

  std::vector<Waited> waited;
  for (const std::string& id : o.ids) waited.push_back({id, IsRunId(id), json(), false});
  bool timed_out = false;
  while (true) {
    for (Waited& w : waited) {
      if (w.done) continue;
      if (w.run) {
        auto run = client->RunStatus(w.id);
        if (!run.ok()) return ctx.Fail(run.status());
        w.object = proto::ToJson(*run);
      } else {
        auto job = client->Status(w.id);
        if (!job.ok()) return ctx.Fail(job.status());
        w.object = proto::ToJson(*job);
      }
      w.done = Finished(w);
    }
    if (std::all_of(waited.begin(), waited.end(), [](const Waited& w) { return w.done; })) break;
    const auto now = std::chrono::steady_clock::now();
    if (deadline && now >= *deadline) {
      timed_out = true;
      break;
    }
    auto nap = std::chrono::duration_cast<std::chrono::milliseconds>(kWaitPollInterval);
    if (deadline) nap = std::min(nap, std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - now) + std::chrono::milliseconds(1));
    std::this_thread::sleep_for(nap);
  }

  std::size_t failed = 0, unfinished = 0, runs = 0;
  std::string unfinished_ids;
  json jobs_json = json::array(), runs_json = json::array();
  for (const Waited& w : waited) {
    runs += w.run;
    (w.run ? runs_json : jobs_json).push_back(w.object);
    if (!w.done) {
      ++unfinished;
      unfinished_ids += " " + w.id;
    } else if (reply::Str(w.object, "state") != "succeeded") {
      ++failed;
    }
  }
  if (ctx.global.json) {
    // One run id alone: the run object, as `run --wait` and `status r3` print
    // it. Otherwise {"jobs": [...]} as ever, plus "runs" when there are any.
    if (waited.size() == 1 && runs == 1)
      ctx.PrintJson(waited[0].object);
    else if (runs == 0)
      ctx.PrintJson({{"jobs", std::move(jobs_json)}});
    else
      ctx.PrintJson({{"jobs", std::move(jobs_json)}, {"runs", std::move(runs_json)}});
  } else {
    for (const Waited& w : waited) ctx.out << (w.run ? FormatRunLine(w.object) : FormatJobLine(w.object));
  }
  if (timed_out) {
    const char* what = runs == 0 ? "jobs" : runs == waited.size() ? "runs" : "jobs and runs";
    ctx.err << "sluice: wait: timed out after " << o.timeout << " s; " << unfinished << " of "
            << waited.size() << " " << what << " not finished:" << unfinished_ids << std::endl;
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
    CLI::App* c = app.add_subcommand(
        "wait", "Wait until jobs end (succeeded, dead or cancelled) or runs end");
    c->footer(
        "Polls each unfinished job or run every 150 ms. Exit 0 when all succeeded, 1 when a\n"
        "job ended dead or cancelled or a run failed or was cancelled, 4 when\n"
        "--timeout ran out first.\n"
        "--json prints {\"jobs\": [job, ...]} with each job's last known state; a single run\n"
        "id prints the run object (as `status r3 --json`); run ids among others add\n"
        "\"runs\": [run, ...].");
    c->add_option("ids", o->ids, "Job ids (j12) and run ids (r3)")->required();
    c->add_option("--timeout", o->timeout, "Give up after this many seconds (default: no limit)")
        ->type_name("S");
    commands->emplace_back(c, [&ctx, o] { return RunWait(ctx, *o); });
  }
  {
    auto id = std::make_shared<std::string>();
    CLI::App* c = app.add_subcommand(
        "retry", "Queue a dead, cancelled or scheduled job again, now");
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
