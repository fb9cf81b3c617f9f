#include "pipeline/models/model_probe.h"

#include <algorithm>

#include "pipeline/models/model_sql.h"

namespace sluice::models {

namespace {

enum class Step { kDone, kWaiting };

class Prober {
 public:
  Prober(const std::vector<Model>& models, const ProbeOptions& options, ProbedModels* out)
      : models_(models), options_(options), out_(out) {}

  Status Run() {
    out_->probe = std::make_unique<SchemaProbe>();
    if (auto s = out_->probe->Open(); !s.ok()) return s;
    out_->models.resize(models_.size());
    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < models_.size(); ++i) {
      out_->models[i].name = models_[i].name;
      if (!index_.emplace(models_[i].name, i).second) continue;  // a duplicate: LoadModelSet reports it
      pending.push_back(i);
      pending_names_.insert(models_[i].name);
    }
    std::sort(pending.begin(), pending.end(), [&](std::size_t a, std::size_t b) {
      if (models_[a].layer != models_[b].layer) return models_[a].layer < models_[b].layer;
      return models_[a].name < models_[b].name;
    });
    bool wait = true;
    while (!pending.empty()) {
      std::vector<std::size_t> still;
      for (std::size_t i : pending) {
        auto step = CompileModel(i, wait);
        if (!step.ok()) return step.status();
        if (*step == Step::kWaiting) {
          still.push_back(i);
        } else {
          pending_names_.erase(models_[i].name);
        }
      }
      if (still.size() == pending.size()) {
        // Everything left waits on something left: a cycle. Open stand-ins
        // for all of them, then they compile against each other.
        for (std::size_t i : still)
          if (auto s = out_->probe->SetTable(models_[i].name, {}, true); !s.ok()) return s;
        wait = false;
      }
      pending = std::move(still);
    }
    return Status::Ok();
  }

 private:
  Result<Step> CompileModel(std::size_t i, bool wait) {
    const Model& m = models_[i];
    ModelCompile& c = out_->models[i];
    SchemaProbe& probe = *out_->probe;
    c.probed = true;
    if (c.sql.empty()) {
      auto sql = RenderSelect(m, kProbeDay, kProbeDay);
      auto tokens = sql.ok() ? Tokenize(*sql, m.path) : Result<std::vector<Token>>(sql.status());
      if (!tokens.ok()) {
        c.error = tokens.status().message();
        c.error_line = m.select_line;
        return Leave(c, m);
      }
      c.sql = std::move(sql).value();
      c.tokens = std::move(tokens).value();
    }
    // Each round creates one missing table; a SELECT names a bounded number.
    for (std::size_t round = 0; round <= c.tokens.size(); ++round) {
      auto r = probe.Compile(c.sql, c.tokens);
      if (!r.ok()) return r.status();
      if (r->outcome == ProbeResult::Outcome::kMissingTable) {
        const std::string& table = r->missing_table;
        bool open = true;
        std::vector<std::string> columns;
        if (table == m.name) {
          c.self_read = true;
        } else if (index_.count(table)) {
          if (wait && pending_names_.count(table)) {
            // Its own stand-in goes until it compiles: a reader must wait too.
            if (c.self_read)
              if (auto s = probe.DropTable(m.name); !s.ok()) return s;
            return Step::kWaiting;
          }
        } else if (table.rfind("raw_", 0) == 0 && (!options_.raw_tables || options_.raw_tables->count(table))) {
          auto known = options_.raw_columns.find(table);
          if (known != options_.raw_columns.end()) {
            columns = known->second;
            open = false;
          }
          out_->raw_open[table] = open;
        } else if (!options_.broken_models.count(table)) {
          unknown_.insert(table);
        }
        if (auto s = probe.SetTable(table, columns, open); !s.ok()) return s;
        continue;
      }
      if (r->outcome == ProbeResult::Outcome::kError) {
        c.error = r->error;
        c.error_line = r->error_column.empty() ? FileLineOf(m, c.tokens, SqliteNear(r->error))
                                               : FileLineOf(m, c.tokens, r->error_column, r->error_qualifier);
        return Leave(c, m);
      }
      c.reads = std::move(r->reads);
      c.columns = std::move(r->columns);
      if (c.self_read) {
        // Once more against its own result columns: what the table holds
        // after its first build.
        if (auto s = probe.SetTable(m.name, c.columns, IsOpen(c.columns)); !s.ok()) return s;
        auto again = probe.Compile(c.sql, c.tokens);
        if (!again.ok()) return again.status();
        if (again->outcome != ProbeResult::Outcome::kCompiled) {
          c.error = again->error;
          c.error_line = FileLineOf(m, c.tokens, again->error_column.empty() ? m.name : again->error_column,
                                    again->error_qualifier);
          return Leave(c, m);
        }
        c.reads = std::move(again->reads);
      }
      c.compiled = true;
      Describe(c, m);
      if (auto s = probe.SetTable(m.name, c.columns, IsOpen(c.columns)); !s.ok()) return s;
      return Step::kDone;
    }
    c.error = "too many tables";
    c.error_line = m.select_line;
    return Leave(c, m);
  }

  static bool IsOpen(const std::vector<std::string>& columns) {
    return std::find(columns.begin(), columns.end(), kOpenColumn) != columns.end();
  }

  // SQLite's `near "x": syntax error` -> x.
  static std::string SqliteNear(const std::string& error) {
    const std::string prefix = "near \"";
    if (error.rfind(prefix, 0) != 0) return "";
    const std::size_t end = error.find('"', prefix.size());
    return end == std::string::npos ? "" : error.substr(prefix.size(), end - prefix.size());
  }

  // Lines and unknown tables of a compiled model.
  void Describe(ModelCompile& c, const Model& m) {
    for (const auto& [table, cols] : c.reads) {
      c.first_line[table] = FileLineOf(m, c.tokens, table);
      if (unknown_.count(table)) c.unknown_tables.insert(table);
    }
  }

  // A model that does not compile: an open stand-in, so its readers still do.
  Result<Step> Leave(ModelCompile& c, const Model& m) {
    c.compiled = false;
    c.reads.clear();
    if (auto s = out_->probe->SetTable(m.name, {}, true); !s.ok()) return s;
    return Step::kDone;
  }

  const std::vector<Model>& models_;
  const ProbeOptions& options_;
  ProbedModels* out_;
  std::map<std::string, std::size_t> index_;  // first model of each name
  std::set<std::string> pending_names_;
  std::set<std::string> unknown_;
};

}  // namespace

const ModelCompile* ProbedModels::Find(std::string_view name) const {
  for (const ModelCompile& c : models)
    if (c.probed && c.name == name) return &c;
  return nullptr;
}

int FileLineOf(const Model& model, const std::vector<Token>& tokens, const std::string& name,
               const std::string& qualifier) {
  const std::string want = Lower(name);
  if (want.empty()) return model.select_line;
  int first = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (!tokens[i].IsName() || Lower(tokens[i].text) != want) continue;
    const int line = model.select_line + tokens[i].line - 1;
    if (qualifier.empty()) return line;
    if (i >= 2 && tokens[i - 1].IsPunct(".") && Lower(tokens[i - 2].text) == qualifier) return line;
    if (first == 0) first = line;
  }
  return first != 0 ? first : model.select_line;
}

Result<ProbedModels> ProbeModels(const std::vector<Model>& models, const ProbeOptions& options) {
  ProbedModels out;
  Prober prober(models, options, &out);
  if (auto s = prober.Run(); !s.ok()) return s;
  return out;
}

}  // namespace sluice::models
