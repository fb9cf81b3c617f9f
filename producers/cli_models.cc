// `sluice models plan DIR` and `sluice models test DIR`: what a SQL models
// folder runs, in which order, and its unit tests (*.test.toml). Everything
// runs here (tests in an in-memory SQLite); no broker is asked.
#include "producers/cli_models.h"

#include <memory>

#include <filesystem>
#include <set>

#include "pipeline/lakehouse/lakehouse_db.h"
#include "pipeline/models/iso_day.h"
#include "pipeline/models/model_plan.h"
#include "pipeline/models/model_run.h"
#include "pipeline/models/model_tests.h"
#include "producers/exit_codes.h"

namespace sluice::cli {
namespace {

using json = nlohmann::json;

// A folder that does not load: its problems, one a line, under one
// "sluice: " line. Exit 1 (the folder is wrong, not the command line).
int FolderFails(Context& ctx, const std::string& dir, const Status& status) {
  if (status.code() == Code::kInvalidArgument)
    ctx.err << "sluice: models folder " << dir << " does not load:\n" << status.message() << std::endl;
  else
    ctx.err << "sluice: " << status.message() << std::endl;
  return kExitFailed;
}

struct PlanOptions {
  std::string dir;
  std::string lakehouse;
  std::string end_ds;
};

json IntervalsJson(const std::vector<models::DayRange>& intervals) {
  json out = json::array();
  for (const models::DayRange& d : intervals) out.push_back({{"start", d.from}, {"end", d.to}});
  return out;
}

// The end day of a plan or backfill: given, or today (UTC).
bool ResolveEndDay(Context& ctx, std::string* day, const char* flag) {
  if (day->empty()) *day = models::TodayUtc();
  if (models::IsIsoDay(*day)) return true;
  ctx.err << "sluice: " << flag << " '" << *day << "' is not a date YYYY-MM-DD" << std::endl;
  return false;
}

// Opens the lakehouse given with --lakehouse; prints why not.
int OpenLakehouseFlag(Context& ctx, Database& db, const std::string& path, bool read_only) {
  Status s = read_only ? lakehouse::OpenLakehouseReadOnly(db, path) : lakehouse::OpenLakehouse(db, path);
  if (s.ok()) return kExitOk;
  ctx.err << "sluice: --lakehouse " << path << ": " << s.message() << std::endl;
  return s.code() == Code::kNotFound || s.code() == Code::kCorruption ? kExitUsage : kExitFailed;
}

int RunPlan(Context& ctx, const PlanOptions& o) {
  models::ActionOptions options;
  options.end_ds = o.end_ds;
  if (!ResolveEndDay(ctx, &options.end_ds, "--end-ds")) return kExitUsage;
  Database db;
  if (!o.lakehouse.empty()) {
    if (int rc = OpenLakehouseFlag(ctx, db, o.lakehouse, /*read_only=*/true); rc != kExitOk) return rc;
  }
  auto plan = models::PlanModelsFolder(o.dir, o.lakehouse.empty() ? nullptr : &db, options);
  if (!plan.ok()) return FolderFails(ctx, o.dir, plan.status());
  if (!ctx.global.json) {
    ctx.out << models::FormatPlan(*plan);
    return kExitOk;
  }
  json entries = json::array();
  for (const models::PlanEntry& e : *plan)
    entries.push_back({{"order", e.order},
                       {"name", e.name},
                       {"layer", models::LayerName(e.layer)},
                       {"kind", models::KindName(e.kind)},
                       {"depends_on", e.depends_on},
                       {"path", e.path},
                       {"action", models::ActionName(e.action)},
                       {"reason", e.reason},
                       {"intervals", IntervalsJson(e.intervals)}});
  ctx.PrintJson({{"end_ds", options.end_ds},
                 {"lakehouse", o.lakehouse.empty() ? json(nullptr) : json(o.lakehouse)},
                 {"models", entries}});
  return kExitOk;
}

struct BackfillOptions {
  std::string dir;
  std::string lakehouse;
  std::string from;
  std::string to;
  std::vector<std::string> models;
};

// The models a backfill runs: with --model, those and every model
// downstream of them (which builds only if its upstream changed); without,
// every model.
std::vector<std::string> BackfillSelection(const models::ModelSet& set, const std::vector<std::string>& chosen) {
  if (chosen.empty()) return {};
  std::set<std::string> selected(chosen.begin(), chosen.end());
  std::vector<std::string> order;
  for (const models::Model& m : set.models) {  // run order: upstream first
    bool take = selected.count(m.name) > 0;
    for (const models::TableReference& r : m.reads) take = take || (r.name != m.name && selected.count(r.name) > 0);
    if (take) {
      selected.insert(m.name);
      order.push_back(m.name);
    }
  }
  return order;
}

int RunBackfill(Context& ctx, const BackfillOptions& o) {
  std::string to = o.to;
  if (!ResolveEndDay(ctx, &to, "--to")) return kExitUsage;
  if (!models::IsIsoDay(o.from)) {
    ctx.err << "sluice: --from '" << o.from << "' is not a date YYYY-MM-DD" << std::endl;
    return kExitUsage;
  }
  if (o.from > to) {
    ctx.err << "sluice: --from " << o.from << " is after --to " << to << std::endl;
    return kExitUsage;
  }
  Database db;
  if (std::error_code ec; !std::filesystem::is_regular_file(o.lakehouse, ec)) {
    ctx.err << "sluice: --lakehouse " << o.lakehouse << ": no lakehouse there (a transform.sql run creates it)"
            << std::endl;
    return kExitUsage;
  }
  if (int rc = OpenLakehouseFlag(ctx, db, o.lakehouse, /*read_only=*/false); rc != kExitOk) return rc;
  auto raw = models::ListRawTables(db);
  if (!raw.ok()) return FolderFails(ctx, o.dir, raw.status());
  auto set = models::LoadModelSet(o.dir, *raw);
  if (!set.ok()) return FolderFails(ctx, o.dir, set.status());
  for (const std::string& name : o.models) {
    const models::Model* m = set->Find(name);
    if (m == nullptr || m->kind != models::ModelKind::kIncrementalByTimeRange) {
      ctx.err << "sluice: --model " << name
              << (m == nullptr ? ": no such model" : ": not an INCREMENTAL_BY_TIME_RANGE model (nothing to backfill)")
              << std::endl;
      return kExitUsage;
    }
  }
  models::RunOptions options;
  options.start_ds = o.from;
  options.end_ds = to;
  options.backfill_models = o.models;
  options.select = BackfillSelection(*set, o.models);
  models::RunReport report;
  Status s = models::RunModels(db, *set, options, &report);
  if (ctx.global.json) {
    json items = json::array();
    for (const models::ModelRunResult& r : report.models)
      items.push_back({{"name", r.name},
                       {"kind", models::KindName(r.kind)},
                       {"status", models::ModelRunStatusName(r.status)},
                       {"action", models::ActionName(r.action)},
                       {"reason", r.reason},
                       {"intervals", IntervalsJson(r.intervals)},
                       {"rows", r.rows},
                       {"ms", r.milliseconds},
                       {"error", r.error}});
    ctx.PrintJson({{"from", o.from}, {"to", to}, {"ok", s.ok()}, {"models", items}});
  } else {
    ctx.out << models::FormatRunReport(report);
  }
  if (!s.ok()) {
    ctx.err << "sluice: backfill failed: " << s.message() << std::endl;
    return kExitFailed;
  }
  return kExitOk;
}

int RunTest(Context& ctx, const std::string& dir) {
  auto report = models::RunModelTests(dir);
  if (!report.ok()) return FolderFails(ctx, dir, report.status());
  if (ctx.global.json) {
    json cases = json::array();
    for (const models::ModelTestCase& c : report->cases)
      cases.push_back({{"file", c.file},
                       {"name", c.name},
                       {"model", c.model},
                       {"passed", c.passed},
                       {"message", c.message}});
    ctx.PrintJson({{"run", report->run},
                   {"passed", report->passed},
                   {"failed", report->failed},
                   {"cases", std::move(cases)}});
  } else {
    ctx.out << models::FormatModelTestReport(*report);
  }
  return report->failed > 0 ? kExitFailed : kExitOk;
}

}  // namespace

void AddModelCommands(CLI::App& app, Context& ctx, CommandList* commands) {
  CLI::App* m = app.add_subcommand("models", "Plan, test or backfill a SQL models folder; needs no broker");
  m->require_subcommand(1);
  m->fallthrough();
  m->footer("See pipeline/models/README.md for the folder's layout.");
  {
    auto o = std::make_shared<PlanOptions>();
    CLI::App* c = m->add_subcommand("plan", "Print the models in run order: what each reads, and what a run would do");
    c->add_option("DIR", o->dir, "The models folder")->required();
    c->add_option("--lakehouse", o->lakehouse,
                  "The lakehouse (opened read only): each model's action comes from what it recorded");
    c->add_option("--end-ds", o->end_ds, "The run's end day YYYY-MM-DD (default: today, UTC)");
    c->footer(
        "Action per model: build (FULL, VIEW), backfill (incremental: the days it would process) or skip,\n"
        "with the reason. Without --lakehouse every model builds.\n"
        "--json prints {\"end_ds\", \"lakehouse\", \"models\": [{\"order\", \"name\", \"layer\", \"kind\",\n"
        "\"depends_on\", \"path\", \"action\", \"reason\", \"intervals\": [{\"start\", \"end\"}]}, ...]}.\n"
        "A folder that does not load prints its problems on stderr and exits 1.");
    commands->emplace_back(c, [&ctx, o] { return RunPlan(ctx, *o); });
  }
  {
    auto o = std::make_shared<BackfillOptions>();
    CLI::App* c = m->add_subcommand("backfill", "Process days of incremental models again, here, in the lakehouse");
    c->add_option("DIR", o->dir, "The models folder")->required();
    c->add_option("--lakehouse", o->lakehouse, "The lakehouse file")->required();
    c->add_option("--from", o->from, "The first day YYYY-MM-DD")->required();
    c->add_option("--to", o->to, "The last day YYYY-MM-DD (default: today, UTC)");
    c->add_option("--model", o->models, "An incremental model to backfill (repeatable; default: all of them)");
    c->footer(
        "The chosen incremental models process --from..--to again, whether processed or not; the\n"
        "models downstream of them build if their upstream changed (changed-only rules). Loads nothing.\n"
        "--json prints {\"from\", \"to\", \"ok\", \"models\": [{\"name\", \"kind\", \"status\", \"action\",\n"
        "\"reason\", \"intervals\", \"rows\", \"ms\", \"error\"}, ...]}. Exit 1 when a model fails.");
    commands->emplace_back(c, [&ctx, o] { return RunBackfill(ctx, *o); });
  }
  {
    auto dir = std::make_shared<std::string>();
    CLI::App* c = m->add_subcommand("test", "Run the folder's unit tests (*.test.toml)");
    c->add_option("DIR", *dir, "The models folder")->required();
    c->footer(
        "Exit 1 when a test fails or the folder does not load (its problems on stderr).\n"
        "--json prints {\"run\", \"passed\", \"failed\", \"cases\": [{\"file\", \"name\", \"model\",\n"
        "\"passed\", \"message\"}, ...]}.");
    commands->emplace_back(c, [&ctx, dir] { return RunTest(ctx, *dir); });
  }
  AddModelCheckCommands(*m, ctx, commands);
}

}  // namespace sluice::cli
