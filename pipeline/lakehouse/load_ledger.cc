#include "pipeline/lakehouse/load_ledger.h"

namespace sluice::lakehouse {

Status LoadLedger::Open(sluice::Database& db) {
  Status s = db.Exec(
      "CREATE TABLE IF NOT EXISTS _sluice_loaded_files ("
      " path TEXT PRIMARY KEY, raw_table TEXT NOT NULL, rows INTEGER NOT NULL, loaded_at TEXT NOT NULL)");
  if (!s.ok()) return Status::IOError("creating the load ledger: " + s.message());
  auto c = db.Prepare("SELECT 1 FROM _sluice_loaded_files WHERE path = ?1");
  if (!c.ok()) return c.status();
  auto r = db.Prepare(
      "INSERT INTO _sluice_loaded_files (path, raw_table, rows, loaded_at)"
      " VALUES (?1, ?2, ?3, datetime('now'))");
  if (!r.ok()) return r.status();
  contains_ = std::move(c).value();
  record_ = std::move(r).value();
  return Status::Ok();
}

Result<bool> LoadLedger::Contains(const std::string& path) {
  contains_.Bind(1, std::string_view(path));
  int rc = contains_.Step();
  std::string err = rc == SQLITE_ROW || rc == SQLITE_DONE ? std::string() : contains_.error();
  contains_.Reset();
  if (!err.empty()) return Status::IOError("reading the load ledger: " + err);
  return rc == SQLITE_ROW;
}

Status LoadLedger::Record(const std::string& path, const std::string& raw_table, std::int64_t rows) {
  record_.Bind(1, std::string_view(path)).Bind(2, std::string_view(raw_table)).Bind(3, rows);
  Status s = record_.Run();
  if (!s.ok()) return Status::IOError("writing the load ledger: " + s.message());
  return s;
}

}  // namespace sluice::lakehouse
