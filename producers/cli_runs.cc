// Commands about workflow runs (PROTOCOL.md §6.9-6.13): run, runs,
// schedules, pause, resume, reload; run ids for status and cancel.
#include "producers/cli_runs.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "producers/exit_codes.h"
#include "producers/param_flags.h"
#include "producers/reply_fields.h"
#include "producers/run_format.h"
#include "producers/seconds.h"
#include "producers/time_format.h"

namespace sluice::cli {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// How often `run --wait` asks for the run.
constexpr std::chrono::milliseconds kRunPollInterval{250};

struct RunOptions {
  std::string workflow;
  std::vector<std::string> params;
  bool wait = false;
  std::string timeout;  // seconds; empty: wait as long as it takes
};

// Live progress redrawn in place only on a terminal, and not with --json.
bool OutIsTerminal(const Context& ctx) { return &ctx.out == &std::cout && ::isatty(STDOUT_FILENO) == 1; }

int RunRun(Context& ctx, const RunOptions& o) {
  std::optional<Clock::time_point> deadline;
  if (!o.timeout.empty()) {
    if (!o.wait) return ctx.Usage("--timeout needs --wait");
    auto ms = ParseSecondsToMs(o.timeout);
    if (!ms.ok()) return ctx.Usage("--timeout: " + ms.status().message());
    deadline = Clock::now() + std::chrono::milliseconds(*ms);
  }
  auto flags = ParamsFromFlags(o.params, {});
  if (!flags.ok()) return ctx.Usage(flags.status().message());
  std::map<std::string, std::string> params;
  for (const auto& [k, v] : flags->items()) params[k] = v.get<std::string>();

  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto started = client->Run(o.workflow, params);
  if (!started.ok()) return ctx.Fail(started.status());
  json run = proto::ToJson(*started);
  const std::string id = reply::Str(run, "id");
  if (!o.wait) {
    if (ctx.global.json)
      ctx.PrintJson(run);
    else
      ctx.out << id << std::endl;
    return kExitOk;
  }
  if (!IsRunId(id)) return ctx.Fail(Status::Internal("the broker's RUN reply has no run id"));

  RunProgress progress(OutIsTerminal(ctx));
  auto show = [&] {
    if (!ctx.global.json) ctx.out << progress.Update(run, NowUnixMs()) << std::flush;
  };
  show();
  bool timed_out = false;
  while (!IsFinishedRunState(reply::Str(run, "state"))) {
    const auto now = Clock::now();
    if (deadline && now >= *deadline) {
      timed_out = true;
      break;
    }
    auto nap = kRunPollInterval;
    if (deadline)
      nap = std::min(nap, std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - now) +
                              std::chrono::milliseconds(1));
    std::this_thread::sleep_for(nap);
    auto polled = client->RunStatus(id);
    if (!polled.ok()) return ctx.Fail(polled.status());
    run = proto::ToJson(*polled);
    show();
  }

  if (ctx.global.json)
    ctx.PrintJson(run);
  else
    ctx.out << progress.Finish() << FormatRunSummary(run, NowUnixMs()) << std::flush;
  const std::string state = reply::Str(run, "state");
  if (timed_out) {
    ctx.err << "sluice: run: timed out after " << o.timeout << " s; " << id << " is " << state
            << std::endl;
    return kExitWaitTimeout;
  }
  return state == "succeeded" ? kExitOk : kExitFailed;
}

struct RunsOptions {
  std::string workflow, state;
  std::uint32_t limit = 0;
};

int RunRuns(Context& ctx, const RunsOptions& o) {
  if (!o.state.empty() && !IsRunState(o.state))
    return ctx.Usage("--state: '" + o.state + "' is not a run state (" + RunStateNames() + ")");
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto runs = client->Runs(o.workflow, o.state, o.limit);
  if (!runs.ok()) return ctx.Fail(runs.status());
  if (ctx.global.json)
    ctx.PrintJson({{"runs", proto::ToJson(*runs)}});
  else
    ctx.out << FormatRunTable(proto::ToJson(*runs), NowUnixMs());
  return kExitOk;
}

// status and cancel of a run id: one call that answers one run object.
int RunOneRun(Context& ctx, const std::string& id,
              Result<proto::RunView> (Client::*call)(const std::string&)) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto view = ((*client).*call)(id);
  if (!view.ok()) return ctx.Fail(view.status());
  const json run = proto::ToJson(*view);
  if (ctx.global.json)
    ctx.PrintJson(run);
  else
    ctx.out << FormatRun(run, NowUnixMs());
  return kExitOk;
}

int RunSchedules(Context& ctx) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto schedules = client->Schedules();
  if (!schedules.ok()) return ctx.Fail(schedules.status());
  if (ctx.global.json)
    ctx.PrintJson({{"schedules", proto::ToJson(*schedules)}});
  else
    ctx.out << FormatSchedules(proto::ToJson(*schedules));
  return kExitOk;
}

// pause and resume: one call that answers one schedule entry.
int RunPauseResume(Context& ctx, const std::string& workflow,
                   Result<proto::ScheduleView> (Client::*call)(const std::string&)) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto view = ((*client).*call)(workflow);
  if (!view.ok()) return ctx.Fail(view.status());
  const json entry = proto::ToJson(*view);
  if (ctx.global.json)
    ctx.PrintJson(entry);
  else
    ctx.out << FormatSchedules(json::array({entry}));
  return kExitOk;
}

int RunReload(Context& ctx) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto reloaded = client->Reload();
  if (!reloaded.ok()) return ctx.Fail(reloaded.status());
  if (ctx.global.json) {
    ctx.PrintJson(proto::ToJson(*reloaded));
  } else {
    const std::uint64_t n = reloaded->workflows;
    ctx.out << "reloaded " << n << (n == 1 ? " workflow" : " workflows");
    if (!reloaded->path.empty()) ctx.out << " from " << reloaded->path;
    ctx.out << std::endl;
  }
  return kExitOk;
}

// `status` and `cancel` (cli_jobs.cc) take a job id; a run id goes to the
// run's STATUS / CANCEL_JOB instead.
void AcceptRunIds(Context& ctx, CommandList* commands) {
  for (auto& [sub, command] : *commands) {
    const std::string name = sub->get_name();
    if (name != "status" && name != "cancel") continue;
    CLI::Option* id = sub->get_option("id");
    id->description("A job id (j12) or a run id (r3)");
    if (name == "status") {
      sub->description("Show a job with all its attempts, or a run with its stages");
      sub->footer(
          "--json prints the broker's job object (with params, outputs and attempts), or for a\n"
          "run id the run object (with its stages).");
    } else {
      sub->description(
          "Cancel a job that has not ended (a running one is stopped), or a run's unfinished stages");
      sub->footer(
          "For a job, prints its id and new state; for a run, the run with its stages.\n"
          "--json prints the job or run object.");
    }
    auto call = name == "status" ? &Client::RunStatus : &Client::CancelRun;
    command = [&ctx, id, call, job = std::move(command)] {
      const std::string value = id->as<std::string>();
      return IsRunId(value) ? RunOneRun(ctx, value, call) : job();
    };
  }
}

}  // namespace

bool IsRunId(const std::string& id) {
  return id.size() >= 2 && id[0] == 'r' &&
         std::all_of(id.begin() + 1, id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void AddRunCommands(CLI::App& app, Context& ctx, CommandList* commands) {
  AcceptRunIds(ctx, commands);
  {
    auto o = std::make_shared<RunOptions>();
    CLI::App* c = app.add_subcommand("run", "Start a run of a workflow; prints its id");
    c->add_option("workflow", o->workflow, "The workflow's name in the broker's registry")->required();
    c->add_option("--param", o->params,
                  "A run parameter KEY=VALUE (repeatable); overrides the registry's default. "
                  "date=YYYY-MM-DD sets the logical date");
    c->add_flag("--wait", o->wait, "Wait until the run ends, showing its stages' progress");
    c->add_option("--timeout", o->timeout, "With --wait: give up after this many seconds")
        ->type_name("S");
    c->footer(
        "--wait polls the run every 250 ms: on a terminal its stages are redrawn in place,\n"
        "otherwise a line is printed whenever a stage changes state; at the end a table of\n"
        "the stages and the run's state and duration. Exit 0 when the run succeeded, 1 when\n"
        "it failed or was cancelled, 4 when --timeout ran out first.\n"
        "--json prints the run object (with --wait: once, when it ended).");
    commands->emplace_back(c, [&ctx, o] { return RunRun(ctx, *o); });
  }
  {
    auto o = std::make_shared<RunsOptions>();
    CLI::App* c = app.add_subcommand("runs", "List workflow runs, newest first");
    c->add_option("--workflow", o->workflow, "Only runs of this workflow");
    c->add_option("--state", o->state, "Only runs in this state (" + RunStateNames() + ")");
    c->add_option("--limit", o->limit, "At most this many runs (broker default: 50)")
        ->check(CLI::Range(1u, 10000u));
    c->footer("--json prints {\"runs\": [run, ...]}.");
    commands->emplace_back(c, [&ctx, o] { return RunRuns(ctx, *o); });
  }
  {
    CLI::App* c = app.add_subcommand("schedules", "List the registry's workflows and their schedules");
    c->footer(
        "Times are UTC; ACTIVE RUNS is running/max_active_runs; SCHEDULE '-' is a workflow\n"
        "run by hand only. --json prints {\"schedules\": [entry, ...]}.");
    commands->emplace_back(c, [&ctx] { return RunSchedules(ctx); });
  }
  for (const bool pause : {true, false}) {
    auto workflow = std::make_shared<std::string>();
    CLI::App* c = pause ? app.add_subcommand("pause", "Let a workflow's cron slots pass without a run")
                        : app.add_subcommand("resume", "Run a paused workflow's cron slots again");
    c->add_option("workflow", *workflow, "The workflow's name")->required();
    c->footer(
        "Persistent across broker restarts; manual runs still start. Prints the workflow's\n"
        "schedule; --json prints the schedule entry.");
    auto call = pause ? &Client::Pause : &Client::Resume;
    commands->emplace_back(c, [&ctx, workflow, call] { return RunPauseResume(ctx, *workflow, call); });
  }
  {
    CLI::App* c = app.add_subcommand("reload", "Make the broker read its workflow registry again");
    c->footer(
        "Prints 'reloaded N workflows from PATH'. A registry that does not load is refused\n"
        "with the broker's error (exit 2) and the broker keeps the old one.\n"
        "--json prints {\"workflows\": N, \"path\": PATH}.");
    commands->emplace_back(c, [&ctx] { return RunReload(ctx); });
  }
}

}  // namespace sluice::cli
