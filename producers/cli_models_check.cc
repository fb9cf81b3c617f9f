// `sluice models check DIR [--lakehouse PATH]`: every model compiled against
// the schema a run would meet, nothing run or written (pipeline/models/
// model_check.h). Exit 0 when clean, 1 with the problems, one a line,
// "path:line: what"; 2 for a bad --lakehouse.
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "pipeline/lakehouse/lakehouse_db.h"
#include "pipeline/lakehouse/raw_source.h"
#include "pipeline/models/model_check.h"
#include "producers/cli_models.h"
#include "producers/exit_codes.h"

namespace sluice::cli {
namespace {

using json = nlohmann::json;

struct CheckFlags {
  std::string dir;
  std::string lakehouse;
};

// The raw tables sources.toml declares; nullopt when the folder has none.
Result<std::optional<std::set<std::string>>> DeclaredRawTables(const std::string& dir) {
  const std::filesystem::path toml = std::filesystem::path(dir) / "sources.toml";
  std::error_code ec;
  if (!std::filesystem::exists(toml, ec)) return std::optional<std::set<std::string>>();
  auto sources = lakehouse::ReadSources(toml.string());
  if (!sources.ok()) return sources.status();
  std::set<std::string> names;
  for (const lakehouse::RawSource& s : *sources) names.insert(s.table);
  return std::optional<std::set<std::string>>(std::move(names));
}

int RunCheck(Context& ctx, const CheckFlags& f) {
  Database db;
  if (!f.lakehouse.empty()) {
    Status s = lakehouse::OpenLakehouseReadOnly(db, f.lakehouse);
    if (!s.ok()) {
      ctx.err << "sluice: --lakehouse " << f.lakehouse << ": " << s.message() << std::endl;
      return s.code() == Code::kNotFound || s.code() == Code::kCorruption ? kExitUsage : kExitFailed;
    }
  }
  models::CheckOptions options;
  auto declared = DeclaredRawTables(f.dir);
  if (!declared.ok()) {
    ctx.err << "sluice: " << declared.status().message() << std::endl;
    return kExitFailed;
  }
  options.declared_raw_tables = std::move(declared).value();
  auto report = models::CheckModelsFolder(f.dir, f.lakehouse.empty() ? nullptr : &db, options);
  if (!report.ok()) {
    ctx.err << "sluice: " << report.status().message() << std::endl;
    return kExitFailed;
  }
  if (ctx.global.json) {
    json problems = json::array();
    for (const models::CheckProblem& p : report->problems)
      problems.push_back({{"path", p.path.empty() ? json(nullptr) : json(p.path)},
                          {"line", p.line > 0 ? json(p.line) : json(nullptr)},
                          {"model", p.model.empty() ? json(nullptr) : json(p.model)},
                          {"message", p.message}});
    ctx.PrintJson({{"ok", report->problems.empty()},
                   {"models", report->models},
                   {"lakehouse", f.lakehouse.empty() ? json(nullptr) : json(f.lakehouse)},
                   {"raw_inferred", report->raw_inferred},
                   {"problems", std::move(problems)}});
  } else {
    ctx.out << models::FormatCheckReport(*report);
  }
  return report->problems.empty() ? kExitOk : kExitFailed;
}

}  // namespace

void AddModelCheckCommands(CLI::App& models, Context& ctx, CommandList* commands) {
  auto f = std::make_shared<CheckFlags>();
  CLI::App* c = models.add_subcommand("check", "Compile every model against the schema a run would meet; writes nothing");
  c->add_option("DIR", f->dir, "The models folder")->required();
  c->add_option("--lakehouse", f->lakehouse, "The lakehouse (opened read only): the raw tables' columns");
  c->footer(
      "Reports unknown tables and columns, layer rules, cycles and SQL errors as 'path:line: what'.\n"
      "Without --lakehouse the raw tables' columns are inferred from the models (not checked).\n"
      "Exit 1 when a problem is found; 2 for a missing or foreign --lakehouse.\n"
      "--json prints {\"ok\", \"models\", \"lakehouse\", \"raw_inferred\", \"problems\": [{\"path\", \"line\",\n"
      "\"model\", \"message\"}, ...]}.");
  commands->emplace_back(c, [&ctx, f] { return RunCheck(ctx, *f); });
}

}  // namespace sluice::cli
