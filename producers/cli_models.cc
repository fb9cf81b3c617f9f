// `sluice models plan DIR` and `sluice models test DIR`: what a SQL models
// folder runs, in which order, and its unit tests (*.test.toml). Everything
// runs here (tests in an in-memory SQLite); no broker is asked.
#include "producers/cli_models.h"

#include <memory>

#include "pipeline/models/model_plan.h"
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

int RunPlan(Context& ctx, const std::string& dir) {
  auto plan = models::PlanModelsFolder(dir);
  if (!plan.ok()) return FolderFails(ctx, dir, plan.status());
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
                       {"path", e.path}});
  ctx.PrintJson(entries);
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
  CLI::App* m = app.add_subcommand("models", "Plan or test a SQL models folder; needs no broker");
  m->require_subcommand(1);
  m->fallthrough();
  m->footer("See pipeline/models/README.md for the folder's layout.");
  {
    auto dir = std::make_shared<std::string>();
    CLI::App* c = m->add_subcommand("plan", "Print the models in run order with what each reads");
    c->add_option("DIR", *dir, "The models folder")->required();
    c->footer(
        "--json prints [{\"order\", \"name\", \"layer\", \"kind\", \"depends_on\", \"path\"}, ...].\n"
        "A folder that does not load prints its problems on stderr and exits 1.");
    commands->emplace_back(c, [&ctx, dir] { return RunPlan(ctx, *dir); });
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
}

}  // namespace sluice::cli
