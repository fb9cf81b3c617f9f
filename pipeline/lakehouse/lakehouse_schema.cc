#include "pipeline/lakehouse/lakehouse_schema.h"

#include <string>
#include <vector>

#include "pipeline/lakehouse/load_ledger.h"
#include "pipeline/lakehouse/raw_table.h"

namespace sluice::lakehouse {
namespace {

Result<std::int64_t> Int(sluice::Database& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return st.status();
  int rc = st->Step();
  if (rc != SQLITE_ROW) return Status::IOError(sql + ": " + st->error());
  return st->Int(0);
}

Result<bool> HasColumn(sluice::Database& db, const std::string& table, std::string_view column) {
  auto st = db.Prepare("SELECT count(*) FROM pragma_table_info(?1) WHERE lower(name) = ?2");
  if (!st.ok()) return st.status();
  st->Bind(1, std::string_view(table)).Bind(2, column);
  if (st->Step() != SQLITE_ROW) return Status::IOError("reading the columns of " + table + ": " + st->error());
  return st->Int(0) > 0;
}

// 0 -> 1: load ids, in ledger order; then every raw table's rows get theirs.
Status AddLoadIds(sluice::Database& db) {
  auto ledger = Int(db, std::string("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '") +
                            kLedgerTable + "'");
  if (!ledger.ok()) return ledger.status();
  if (*ledger == 0) return Status::Ok();  // nothing loaded yet: LoadLedger creates it with load_id
  auto has = HasColumn(db, kLedgerTable, kLedgerLoadIdColumn);
  if (!has.ok()) return has.status();
  if (!*has) {
    // The rowid is the order the rows were written in (a path is never
    // deleted from the ledger).
    for (const std::string& sql :
         {std::string("ALTER TABLE ") + kLedgerTable + " ADD COLUMN load_id INTEGER",
          std::string("UPDATE ") + kLedgerTable + " SET load_id = o.n FROM (SELECT rowid AS r, row_number()" +
              " OVER (ORDER BY rowid) AS n FROM " + kLedgerTable + ") AS o WHERE o.r = " + kLedgerTable + ".rowid"}) {
      if (Status s = db.Exec(sql); !s.ok()) return s;
    }
  }
  if (Status s = EnsureLedgerIndex(db); !s.ok()) return s;

  // The raw tables: those the ledger names that exist and have the loader's
  // `_source_file` column.
  auto st = db.Prepare(std::string("SELECT DISTINCT l.raw_table FROM ") + kLedgerTable +
                       " AS l JOIN sqlite_master AS m ON m.type = 'table' AND m.name = l.raw_table"
                       " ORDER BY l.raw_table");
  if (!st.ok()) return st.status();
  std::vector<std::string> tables;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) tables.emplace_back(st->Text(0));
  if (rc != SQLITE_DONE) return Status::IOError("reading the load ledger: " + st->error());
  for (const std::string& table : tables) {
    auto source = HasColumn(db, table, kSourceFileColumn);
    if (!source.ok()) return source.status();
    auto load_id = HasColumn(db, table, kLoadIdColumn);
    if (!load_id.ok()) return load_id.status();
    if (!*source || *load_id) continue;
    const std::string t = QuoteIdentifier(table);
    const std::string col = QuoteIdentifier(kLoadIdColumn);
    if (Status s = db.Exec("ALTER TABLE " + t + " ADD COLUMN " + col + " INTEGER"); !s.ok()) return s;
    Status s = db.Exec("UPDATE " + t + " SET " + col + " = (SELECT load_id FROM " + kLedgerTable +
                       " AS l WHERE l.path = " + t + "." + QuoteIdentifier(kSourceFileColumn) + ")");
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// 1 -> 2: what the models' builds leave behind (pipeline/models/model_state.h),
// and the export's inputs. A lakehouse of version 1 has built models but no
// records of them: the next run builds every model once (as every run did
// before) and records it.
Status AddModelState(sluice::Database& db) {
  for (const char* sql : {kModelBuildsTableSql, kModelIntervalsTableSql}) {
    if (Status s = db.Exec(sql); !s.ok()) return s;
  }
  auto exports = Int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sluice_exports'");
  if (!exports.ok()) return exports.status();
  if (*exports == 0) return Status::Ok();
  auto has = HasColumn(db, "_sluice_exports", "inputs");
  if (!has.ok()) return has.status();
  if (*has) return Status::Ok();
  return db.Exec("ALTER TABLE _sluice_exports ADD COLUMN inputs TEXT");
}

using Step = Status (*)(sluice::Database&);
constexpr Step kSteps[] = {AddLoadIds, AddModelState};

}  // namespace

int LakehouseSchemaVersion() { return static_cast<int>(std::size(kSteps)); }

Status MigrateLakehouse(sluice::Database& db) {
  for (;;) {
    auto version = Int(db, "PRAGMA user_version");
    if (!version.ok()) return version.status();
    if (*version == LakehouseSchemaVersion()) return Status::Ok();
    if (*version > LakehouseSchemaVersion())
      return Status::Corruption("lakehouse schema version " + std::to_string(*version) +
                                " is newer than this build understands (" +
                                std::to_string(LakehouseSchemaVersion()) + ")");
    Status s = db.Exec("BEGIN IMMEDIATE");
    if (!s.ok()) return Status::IOError("migrating the lakehouse: " + s.message());
    // Read again under the write lock: another connection may have migrated.
    auto locked = Int(db, "PRAGMA user_version");
    if (!locked.ok()) s = locked.status();
    const std::int64_t v = locked.ok() ? *locked : 0;
    if (s.ok() && v < LakehouseSchemaVersion()) {
      s = kSteps[v](db);
      if (s.ok()) s = db.Exec("PRAGMA user_version=" + std::to_string(v + 1));
    }
    if (s.ok()) s = db.Exec("COMMIT");
    if (!s.ok()) {
      (void)db.Exec("ROLLBACK");
      return Status::IOError("migrating the lakehouse to schema version " + std::to_string(v + 1) + ": " +
                             s.message());
    }
  }
}

}  // namespace sluice::lakehouse
