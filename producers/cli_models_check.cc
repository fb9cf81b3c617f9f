// `sluice models check DIR [--lakehouse PATH]`: every model compiled against
// the schema a run would meet, nothing run or written (pipeline/models/
// model_check.h). Exit 0 when clean, 1 with the problems, one a line,
// "path:line: what"; 2 for a bad --lakehouse.
//
// `sluice models lineage DIR MODEL.COLUMN [--lakehouse PATH]`: the raw
// columns that feed a model's column (pipeline/models/model_lineage.h).
// Exit 0; 2 for an unknown model or column, a bad MODEL.COLUMN or a bad
// --lakehouse; 1 when the folder does not load or the model does not compile.
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pipeline/lakehouse/lakehouse_db.h"
#include "pipeline/lakehouse/raw_source.h"
#include "pipeline/models/model_check.h"
#include "pipeline/models/model_lineage.h"
#include "producers/cli_models.h"
#include "producers/exit_codes.h"

namespace sluice::cli {
namespace {

using json = nlohmann::json;

struct CheckFlags {
  std::string dir;
  std::string lakehouse;
};

struct LineageFlags {
  std::string dir;
  std::string target;  // MODEL.COLUMN
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

// Opens --lakehouse read only when given; an exit code when that fails.
std::optional<int> OpenLakehouseFlag(Context& ctx, const std::string& path, Database& db) {
  if (path.empty()) return std::nullopt;
  Status s = lakehouse::OpenLakehouseReadOnly(db, path);
  if (s.ok()) return std::nullopt;
  ctx.err << "sluice: --lakehouse " << path << ": " << s.message() << std::endl;
  return s.code() == Code::kNotFound || s.code() == Code::kCorruption ? kExitUsage : kExitFailed;
}

int RunCheck(Context& ctx, const CheckFlags& f) {
  Database db;
  if (auto exit = OpenLakehouseFlag(ctx, f.lakehouse, db)) return *exit;
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

json SourcesJson(const std::vector<models::LineageSource>& sources) {
  json out = json::array();
  for (const models::LineageSource& s : sources) {
    json path = json::array();
    json via = json::array();
    for (const models::LineageHop& h : s.path) {
      path.push_back(h.table + "." + h.column);
      if (!h.via.empty()) via.push_back(h.via);
    }
    out.push_back({{"table", s.table}, {"column", s.column}, {"path", std::move(path)}, {"via", std::move(via)}});
  }
  return out;
}

int RunLineage(Context& ctx, const LineageFlags& f) {
  const std::size_t dot = f.target.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == f.target.size()) {
    ctx.err << "sluice: expected MODEL.COLUMN, got '" << f.target << "'" << std::endl;
    return kExitUsage;
  }
  Database db;
  if (auto exit = OpenLakehouseFlag(ctx, f.lakehouse, db)) return *exit;
  models::LineageOptions options;
  auto declared = DeclaredRawTables(f.dir);
  if (!declared.ok()) {
    ctx.err << "sluice: " << declared.status().message() << std::endl;
    return kExitFailed;
  }
  options.declared_raw_tables = std::move(declared).value();
  auto lineage = models::TraceColumnLineage(f.dir, f.lakehouse.empty() ? nullptr : &db, f.target.substr(0, dot),
                                            f.target.substr(dot + 1), options);
  if (!lineage.ok()) {
    const Status& s = lineage.status();
    if (s.code() == Code::kInvalidArgument && s.message().find('\n') != std::string::npos)
      ctx.err << s.message() << std::endl;  // the folder's problems, one a line
    else
      ctx.err << "sluice: " << s.message() << std::endl;
    return s.code() == Code::kNotFound ? kExitUsage : kExitFailed;
  }
  if (ctx.global.json) {
    ctx.PrintJson({{"model", lineage->model},
                   {"column", lineage->column},
                   {"sources", SourcesJson(lineage->sources)},
                   {"filters", SourcesJson(lineage->filters)},
                   {"notes", lineage->notes}});
  } else {
    ctx.out << models::FormatColumnLineage(*lineage);
  }
  return kExitOk;
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

  auto l = std::make_shared<LineageFlags>();
  CLI::App* lc = models.add_subcommand("lineage", "Which raw columns feed a model's column; writes nothing");
  lc->add_option("DIR", l->dir, "The models folder")->required();
  lc->add_option("MODEL.COLUMN", l->target, "A model's column, e.g. serving_price_monthly.avg_settle")->required();
  lc->add_option("--lakehouse", l->lakehouse, "The lakehouse (opened read only): the raw tables' columns");
  lc->footer(
      "One line per raw column that feeds the value: 'model.column <- upstream.column <- raw_x.column'.\n"
      "Then the raw columns that only decide which rows (WHERE, JOIN ON, GROUP BY, HAVING, ORDER BY,\n"
      "a subquery's keys), with '<~' at such a step; then notes on what could not be traced.\n"
      "Exit 2 for an unknown model or column; 1 when the folder does not load or the model does not compile.\n"
      "--json prints {\"model\", \"column\", \"sources\": [{\"table\", \"column\", \"path\": [\"m.c\", ...],\n"
      "\"via\": [\"value\"|\"key\"|\"filter\", ...]}, ...], \"filters\": [same], \"notes\": [...]}.");
  commands->emplace_back(lc, [&ctx, l] { return RunLineage(ctx, *l); });
}

}  // namespace sluice::cli
