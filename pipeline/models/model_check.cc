#include "pipeline/models/model_check.h"

#include <cctype>

#include "pipeline/models/model_probe.h"
#include "pipeline/models/model_run.h"
#include "pipeline/models/model_set.h"
#include "pipeline/models/sql_tokens.h"

namespace sluice::models {

namespace {

// "path:line: what" (LoadModelSet's lines) -> a problem; "cycle: ..." has no place.
CheckProblem FromLoadLine(const std::string& text) {
  CheckProblem p;
  p.message = text;
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos || text.compare(0, 6, "cycle:") == 0) return p;
  std::size_t i = colon + 1;
  int line = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && line < 100000000)
    line = line * 10 + (text[i++] - '0');
  if (i == colon + 1 || text.compare(i, 2, ": ") != 0) return p;
  p.path = text.substr(0, colon);
  p.line = line;
  p.message = text.substr(i + 2);
  return p;
}

std::string Describe(const std::string& model, const std::string& error) {
  static const std::string kNoColumn = "no such column: ";
  static const std::string kAmbiguous = "ambiguous column name: ";
  if (error.rfind(kNoColumn, 0) == 0) return "unknown column '" + error.substr(kNoColumn.size()) + "' in model " + model;
  if (error.rfind(kAmbiguous, 0) == 0)
    return "ambiguous column '" + error.substr(kAmbiguous.size()) + "' in model " + model;
  return model + ": " + error;
}

}  // namespace

std::string CheckProblem::Text() const {
  if (path.empty()) return message;
  return path + (line > 0 ? ":" + std::to_string(line) : "") + ": " + message;
}

Result<std::map<std::string, std::vector<std::string>>> ReadRawColumns(Database& db) {
  auto tables = ListRawTables(db);
  if (!tables.ok()) return tables.status();
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& t : *tables) {
    auto st = db.Prepare("SELECT name FROM pragma_table_info(?1)");
    if (!st.ok()) return st.status();
    st->Bind(1, t);
    int rc;
    std::vector<std::string>& columns = out[t];
    while ((rc = st->Step()) == SQLITE_ROW) columns.emplace_back(st->Text(0));
    if (rc != SQLITE_DONE) return Status::IOError(st->error());
  }
  return out;
}

Result<CheckReport> CheckModelsFolder(const std::filesystem::path& dir, Database* lakehouse,
                                      const CheckOptions& options) {
  CheckReport report;
  ProbeOptions probe;
  probe.raw_tables = options.declared_raw_tables;
  if (lakehouse != nullptr) {
    auto columns = ReadRawColumns(*lakehouse);
    if (!columns.ok()) return columns.status();
    probe.raw_columns = std::move(columns).value();
    if (!probe.raw_tables) probe.raw_tables.emplace();
    for (const auto& [table, cols] : probe.raw_columns) probe.raw_tables->insert(table);
  }
  auto set = LoadModelSet(dir, probe.raw_tables);
  if (!set.ok()) {
    if (set.status().code() != Code::kInvalidArgument) return set.status();
    const std::string& msg = set.status().message();
    for (std::size_t begin = 0; begin <= msg.size();) {
      std::size_t end = msg.find('\n', begin);
      if (end == std::string::npos) end = msg.size();
      if (end > begin) report.problems.push_back(FromLoadLine(msg.substr(begin, end - begin)));
      begin = end + 1;
    }
    return report;
  }
  auto probed = ProbeModels(set->models, probe);
  if (!probed.ok()) return probed.status();
  report.models = static_cast<int>(set->models.size());
  for (std::size_t i = 0; i < set->models.size(); ++i) {
    const Model& m = set->models[i];
    const ModelCompile& c = probed->models[i];
    if (c.compiled) continue;
    report.problems.push_back({m.path, c.error_line, m.name, Describe(m.name, c.error)});
  }
  for (const auto& [table, open] : probed->raw_open)
    if (open) report.raw_inferred.push_back(table);
  return report;
}

std::string FormatCheckReport(const CheckReport& report) {
  std::string out;
  for (const CheckProblem& p : report.problems) out += p.Text() + "\n";
  if (!report.raw_inferred.empty()) {
    out += "raw columns not known (inferred from the models, not checked):";
    for (const std::string& t : report.raw_inferred) out += " " + t;
    out += "\n";
  }
  if (report.problems.empty())
    out += std::to_string(report.models) + " models checked: OK\n";
  else
    out += std::to_string(report.problems.size()) + (report.problems.size() == 1 ? " problem" : " problems") + "\n";
  return out;
}

}  // namespace sluice::models
