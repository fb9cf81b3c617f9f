#include "pipeline/models/sql_rows.h"

#include <charconv>

#include "schemas/sqlite_db.h"

namespace sluice::models {

std::string RenderValue(const Statement& st, int col) {
  switch (st.Type(col)) {
    case SQLITE_NULL: return "NULL";
    case SQLITE_INTEGER: return std::to_string(st.Int(col));
    case SQLITE_FLOAT: {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, st.Double(col));
      std::string s(buf, r.ptr);
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // 2.0, as SQLite shows it
      return s;
    }
    case SQLITE_BLOB: return "<blob " + std::to_string(st.Blob(col).size()) + " bytes>";
    default: return std::string(st.Text(col));
  }
}

std::string RenderRow(const Statement& st) {
  std::string out;
  for (int c = 0; c < st.columns(); ++c) {
    if (c) out += ", ";
    out += std::string(st.ColumnName(c)) + "=" + RenderValue(st, c);
  }
  return out;
}

Result<std::vector<std::string>> SampleRows(Database& db, std::string_view sql, int limit) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return st.status();
  std::vector<std::string> rows;
  int rc = SQLITE_DONE;
  while (static_cast<int>(rows.size()) < limit && (rc = st->Step()) == SQLITE_ROW) rows.push_back(RenderRow(*st));
  if (static_cast<int>(rows.size()) < limit && rc != SQLITE_DONE) return Status::IOError(st->error());
  return rows;
}

Result<std::int64_t> QueryInt(Database& db, std::string_view sql) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return st.status();
  const int rc = st->Step();
  if (rc != SQLITE_ROW) return Status::IOError(rc == SQLITE_DONE ? "no row from: " + std::string(sql) : st->error());
  return st->Int(0);
}

Result<std::vector<std::string>> TableColumns(Database& db, std::string_view table) {
  auto st = db.Prepare("SELECT * FROM " + QuoteIdentifier(table) + " LIMIT 0");
  if (!st.ok()) return st.status();
  std::vector<std::string> cols;
  for (int c = 0; c < st->columns(); ++c) cols.emplace_back(st->ColumnName(c));
  return cols;
}

Result<std::string> ObjectType(Database& db, std::string_view name) {
  auto st = db.Prepare("SELECT type FROM sqlite_master WHERE lower(name) = lower(?1) AND type IN ('table', 'view')");
  if (!st.ok()) return st.status();
  st->Bind(1, name);
  const int rc = st->Step();
  if (rc == SQLITE_ROW) return std::string(st->Text(0));
  if (rc == SQLITE_DONE) return std::string();
  return Status::IOError(st->error());
}

}  // namespace sluice::models
