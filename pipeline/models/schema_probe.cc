#include "pipeline/models/schema_probe.h"

#include <algorithm>

namespace sluice::models {

namespace {

// Bounds the column inference of one Compile (each round adds or takes back
// at least one column, so a SELECT naming N unknown columns needs about N).
constexpr int kMaxInferenceRounds = 2000;

struct AuthLog {
  const std::map<std::string, bool>* known = nullptr;  // tables of the probe
  std::map<std::string, std::set<std::string>> reads;
};

int Authorize(void* arg, int code, const char* a1, const char* a2, const char*, const char*) {
  if (code != SQLITE_READ || a1 == nullptr) return SQLITE_OK;
  auto* log = static_cast<AuthLog*>(arg);
  std::string table = Lower(a1);
  if (!log->known->count(table)) return SQLITE_OK;  // json_each, sqlite_master, ...
  log->reads[table].insert(a2 ? Lower(a2) : "");
  return SQLITE_OK;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// "no such column: s.q.x" -> {"q", "x"}; "x" -> {"", "x"}.
std::pair<std::string, std::string> SplitColumn(std::string_view text) {
  const std::size_t dot = text.rfind('.');
  if (dot == std::string_view::npos) return {"", std::string(text)};
  std::string_view qualifier = text.substr(0, dot);
  if (std::size_t d2 = qualifier.rfind('.'); d2 != std::string_view::npos) qualifier = qualifier.substr(d2 + 1);
  return {Lower(qualifier), std::string(text.substr(dot + 1))};
}

bool HasColumn(const std::vector<std::string>& columns, std::string_view name) {
  const std::string l = Lower(name);
  for (const std::string& c : columns)
    if (Lower(c) == l) return true;
  return false;
}

}  // namespace

Status SchemaProbe::Open() {
  if (auto s = db_.Open(":memory:"); !s.ok()) return s;
  return Status::Ok();
}

bool SchemaProbe::HasTable(std::string_view name) const { return tables_.count(Lower(name)) > 0; }

bool SchemaProbe::IsOpen(std::string_view name) const {
  auto it = tables_.find(Lower(name));
  return it != tables_.end() && it->second.open;
}

std::vector<std::string> SchemaProbe::Columns(std::string_view name) const {
  auto it = tables_.find(Lower(name));
  return it == tables_.end() ? std::vector<std::string>{} : it->second.columns;
}

Status SchemaProbe::Create(const Table& t) {
  std::string sql = "DROP TABLE IF EXISTS " + QuoteIdentifier(t.name) + "; CREATE TABLE " + QuoteIdentifier(t.name) + " (";
  std::set<std::string> seen;
  bool first = true;
  auto add = [&](const std::string& column) {
    // Two result columns of one name (SELECT a.k, b.k): SQLite's own
    // CREATE TABLE AS names the second "k:1".
    std::string name = column;
    for (int n = 1; !seen.insert(Lower(name)).second; ++n) name = column + ":" + std::to_string(n);
    sql += (first ? "" : ", ") + QuoteIdentifier(name);
    first = false;
  };
  for (const std::string& c : t.columns) add(c);
  if (t.open || t.columns.empty()) add(std::string(kOpenColumn));
  sql += ")";
  return db_.Exec(sql);
}

Status SchemaProbe::SetTable(const std::string& name, const std::vector<std::string>& columns, bool open) {
  Table t{Lower(name), {}, open};
  for (const std::string& c : columns)
    if (c != kOpenColumn) t.columns.push_back(c);
  if (auto s = Create(t); !s.ok()) return s;
  tables_[t.name] = std::move(t);
  return Status::Ok();
}

Status SchemaProbe::DropTable(const std::string& name) {
  auto it = tables_.find(Lower(name));
  if (it == tables_.end()) return Status::Ok();
  tables_.erase(it);
  return db_.Exec("DROP TABLE IF EXISTS " + QuoteIdentifier(Lower(name)));
}

std::vector<SchemaProbe::Table*> SchemaProbe::OpenTablesNamedBy(const std::vector<Token>& tokens,
                                                                const std::string& qualifier) {
  std::vector<Table*> out;
  auto add = [&](Table* t) {
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  };
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (!tokens[i].IsName()) continue;
    auto it = tables_.find(Lower(tokens[i].text));
    if (it == tables_.end() || !it->second.open) continue;
    if (qualifier.empty() || it->first == qualifier) {
      add(&it->second);
      continue;
    }
    std::size_t j = i + 1;  // the alias: `table AS q` or `table q`
    if (j < tokens.size() && tokens[j].IsKeyword("as")) ++j;
    if (j < tokens.size() && tokens[j].IsName() && Lower(tokens[j].text) == qualifier) add(&it->second);
  }
  return out;
}

bool SchemaProbe::Infer(const ProbeResult& r, std::string_view message, const std::vector<Token>& tokens) {
  std::vector<Table*> changed;
  if (StartsWith(message, "no such column: ") || StartsWith(message, "cannot join using column ")) {
    // A qualifier that is no open table's name or alias names a CTE or a
    // subquery, which may pass a `*` of any open table through.
    std::vector<Table*> candidates = OpenTablesNamedBy(tokens, r.error_qualifier);
    if (candidates.empty() && !r.error_qualifier.empty()) candidates = OpenTablesNamedBy(tokens, "");
    for (Table* t : candidates)
      if (!HasColumn(t->columns, r.error_column)) {
        t->columns.push_back(r.error_column);
        changed.push_back(t);
      }
  } else if (StartsWith(message, "ambiguous column name: ")) {
    bool kept = false;
    for (Table* t : OpenTablesNamedBy(tokens, r.error_qualifier)) {
      if (!HasColumn(t->columns, r.error_column)) continue;
      if (!kept) {
        kept = true;
        continue;
      }
      const std::string l = Lower(r.error_column);
      std::erase_if(t->columns, [&](const std::string& c) { return Lower(c) == l; });
      changed.push_back(t);
    }
  }
  for (Table* t : changed)
    if (!Create(*t).ok()) return false;
  return !changed.empty();
}

Result<std::set<std::string>> SchemaProbe::OpenedTables(std::string_view sql) {
  std::map<int, std::string> by_root;
  {
    auto st = db_.Prepare("SELECT rootpage, name FROM sqlite_schema WHERE type = 'table'");
    if (!st.ok()) return st.status();
    while (st->Step() == SQLITE_ROW) by_root[static_cast<int>(st->Int(0))] = Lower(st->Text(1));
  }
  std::set<std::string> out;
  auto st = db_.Prepare("EXPLAIN " + std::string(sql));
  if (!st.ok()) return st.status();
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) {
    // addr, opcode, p1, p2 (the root page), p3 (the database: 0 is main), ...
    if (st->Text(1) != "OpenRead" || st->Int(4) != 0) continue;
    auto it = by_root.find(static_cast<int>(st->Int(3)));
    if (it != by_root.end() && tables_.count(it->second)) out.insert(it->second);
  }
  if (rc != SQLITE_DONE) return Status::Internal(st->error());
  return out;
}

Result<ProbeResult> SchemaProbe::Compile(std::string_view sql, const std::vector<Token>& tokens) {
  if (db_.handle() == nullptr) return Status::Internal("the schema probe is not open");
  std::map<std::string, bool> known;
  std::set<std::string> tried;  // error messages with the open tables' shapes, to stop on a repeat
  for (int round = 0;; ++round) {
    known.clear();
    for (const auto& [name, t] : tables_) known[name] = t.open;
    AuthLog log;
    log.known = &known;
    sqlite3_set_authorizer(db_.handle(), Authorize, &log);
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(db_.handle(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
    sqlite3_set_authorizer(db_.handle(), nullptr, nullptr);
    Statement stmt(db_.handle(), raw);
    ProbeResult r;
    if (rc == SQLITE_OK && raw == nullptr) {
      r.error = "no statement";
      return r;
    }
    if (rc == SQLITE_OK) {
      r.outcome = ProbeResult::Outcome::kCompiled;
      r.reads = std::move(log.reads);
      // The authorizer does not see every table: the right side of a
      // NATURAL or USING join whose only columns are the join's. The
      // program does: every table it opens.
      auto opened = OpenedTables(sql);
      if (!opened.ok()) return opened.status();
      for (const std::string& t : *opened) r.reads[t];
      for (int i = 0; i < stmt.columns(); ++i) r.columns.emplace_back(stmt.ColumnName(i));
      return r;
    }
    const std::string message = sqlite3_errmsg(db_.handle());
    r.error = message;
    if (StartsWith(message, "no such table: ")) {
      r.outcome = ProbeResult::Outcome::kMissingTable;
      r.missing_table = SplitColumn(std::string_view(message).substr(15)).second;
      r.missing_table = Lower(r.missing_table);
      return r;
    }
    if (StartsWith(message, "no such column: ")) {
      std::tie(r.error_qualifier, r.error_column) = SplitColumn(std::string_view(message).substr(16));
    } else if (StartsWith(message, "ambiguous column name: ")) {
      std::tie(r.error_qualifier, r.error_column) = SplitColumn(std::string_view(message).substr(23));
    } else if (StartsWith(message, "cannot join using column ")) {
      std::string_view rest = std::string_view(message).substr(25);
      r.error_column = std::string(rest.substr(0, rest.find(" - ")));
    }
    std::string shape = message;
    for (const auto& [name, t] : tables_)
      if (t.open) {
        shape += "|" + name;
        for (const std::string& c : t.columns) shape += "," + Lower(c);
      }
    if (round >= kMaxInferenceRounds || !tried.insert(shape).second || r.error_column.empty() ||
        !Infer(r, message, tokens))
      return r;
  }
}

}  // namespace sluice::models
