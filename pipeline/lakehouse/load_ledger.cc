#include "pipeline/lakehouse/load_ledger.h"

namespace sluice::lakehouse {

Status EnsureLedgerIndex(sluice::Database& db) {
  Status s = db.Exec("CREATE UNIQUE INDEX IF NOT EXISTS _sluice_loaded_files_load_id ON _sluice_loaded_files (load_id)");
  if (!s.ok()) return Status::IOError("indexing the load ledger: " + s.message());
  return s;
}

Status LoadLedger::Open(sluice::Database& db) {
  Status s = db.Exec(
      "CREATE TABLE IF NOT EXISTS _sluice_loaded_files ("
      " path TEXT PRIMARY KEY, raw_table TEXT NOT NULL, rows INTEGER NOT NULL, loaded_at TEXT NOT NULL,"
      " load_id INTEGER)");
  if (!s.ok()) return Status::IOError("creating the load ledger: " + s.message());
  if (s = EnsureLedgerIndex(db); !s.ok()) return s;
  auto c = db.Prepare("SELECT 1 FROM _sluice_loaded_files WHERE path = ?1");
  if (!c.ok()) return c.status();
  auto n = db.Prepare("SELECT coalesce(max(load_id), 0) + 1 FROM _sluice_loaded_files");
  if (!n.ok()) return n.status();
  auto r = db.Prepare(
      "INSERT INTO _sluice_loaded_files (path, raw_table, rows, loaded_at, load_id)"
      " VALUES (?1, ?2, ?3, datetime('now'), ?4)");
  if (!r.ok()) return r.status();
  contains_ = std::move(c).value();
  next_id_ = std::move(n).value();
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

Result<std::int64_t> LoadLedger::NextLoadId() {
  int rc = next_id_.Step();
  std::int64_t id = rc == SQLITE_ROW ? next_id_.Int(0) : 0;
  std::string err = rc == SQLITE_ROW ? std::string() : next_id_.error();
  next_id_.Reset();
  if (!err.empty()) return Status::IOError("reading the load ledger: " + err);
  return id;
}

Status LoadLedger::Record(const std::string& path, const std::string& raw_table, std::int64_t rows,
                          std::int64_t load_id) {
  record_.Bind(1, std::string_view(path)).Bind(2, std::string_view(raw_table)).Bind(3, rows).Bind(4, load_id);
  Status s = record_.Run();
  if (!s.ok()) return Status::IOError("writing the load ledger: " + s.message());
  return s;
}

}  // namespace sluice::lakehouse
