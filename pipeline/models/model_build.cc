#include "pipeline/models/model_build.h"

#include <string>

#include "pipeline/models/audits.h"
#include "pipeline/models/iso_day.h"
#include "pipeline/models/model_sql.h"
#include "schemas/sqlite_db.h"
#include "pipeline/models/sql_rows.h"
#include "pipeline/models/sql_tokens.h"

namespace sluice::models {

namespace {

// One build's transaction. Rolled back unless committed; copes with SQLite
// having rolled the whole transaction back already (an interrupt).
class Savepoint {
 public:
  explicit Savepoint(Database& db) : db_(db) {}
  Savepoint(const Savepoint&) = delete;
  Savepoint& operator=(const Savepoint&) = delete;
  ~Savepoint() { Rollback(); }

  Status Begin() {
    Status s = db_.Exec("SAVEPOINT sluice_model_build");
    open_ = s.ok();
    return s;
  }
  Status Commit() {
    open_ = false;
    return db_.Exec("RELEASE sluice_model_build");
  }
  void Rollback() {
    if (!open_) return;
    open_ = false;
    if (sqlite3_get_autocommit(db_.handle())) return;
    (void)db_.Exec("ROLLBACK TO sluice_model_build");
    (void)db_.Exec("RELEASE sluice_model_build");
  }

 private:
  Database& db_;
  bool open_ = false;
};

class Builder {
 public:
  Builder(Database& db, const Model& m, UpsertCounts* counts) : db_(db), m_(m), counts_(counts) {}

  Result<std::int64_t> Build(std::string_view start_ds, std::string_view end_ds) {
    auto select = RenderSelect(m_, start_ds, end_ds);
    if (!select.ok()) return Error(select.status());
    Savepoint sp(db_);
    if (Status s = sp.Begin(); !s.ok()) return Error(s);
    Result<std::int64_t> rows = Status::Internal("unknown kind");
    switch (m_.kind) {
      case ModelKind::kFull:
      case ModelKind::kSeed: rows = Full(*select); break;
      case ModelKind::kView: rows = View(*select); break;
      case ModelKind::kIncrementalByTimeRange:
        rows = Incremental(*select, std::string(start_ds), std::string(end_ds));
        break;
      case ModelKind::kIncrementalByUniqueKey: rows = UniqueKey(*select); break;
    }
    if (!rows.ok()) return rows;
    if (Status s = sp.Commit(); !s.ok()) return Error(s);
    return rows;
  }

 private:
  // The SQLite (or other) error, prefixed with the model's name.
  Status Error(const Status& s) const { return Status::InvalidArgument(m_.name + ": " + s.message()); }

  Status Exec(const std::string& sql) {
    Status s = db_.Exec(sql);
    return s.ok() ? s : Error(s);
  }

  // Drops whatever table or view is called `name`.
  Status DropExisting(const std::string& name) {
    auto type = ObjectType(db_, name);
    if (!type.ok()) return Error(type.status());
    if (*type == "table") return Exec("DROP TABLE " + QuoteIdentifier(name));
    if (*type == "view") return Exec("DROP VIEW " + QuoteIdentifier(name));
    return Status::Ok();
  }

  Status RunAudits(const AuditScope& scope) {
    for (const Audit& a : m_.audits) {
      auto r = RunAudit(db_, m_, a, scope);
      if (!r.ok()) return Error(r.status());
      if (r->has_value()) return Status::Conflict(FormatAuditFailure(m_.name, **r));
    }
    return Status::Ok();
  }

  Result<std::int64_t> Full(const std::string& select) {
    const std::string tmp = "_sluice_build_" + m_.name;
    if (auto s = Exec("DROP TABLE IF EXISTS " + QuoteIdentifier(tmp)); !s.ok()) return s;
    if (auto s = Exec("CREATE TABLE " + QuoteIdentifier(tmp) + " AS " + select); !s.ok()) return s;
    auto rows = QueryInt(db_, "SELECT count(*) FROM " + QuoteIdentifier(tmp));
    if (!rows.ok()) return Error(rows.status());
    if (auto s = RunAudits(AuditScope{tmp, "", "", ""}); !s.ok()) return s;
    if (auto s = DropExisting(m_.name); !s.ok()) return s;
    // The legacy rename leaves views that read the model alone (they name it,
    // not the build table), instead of refusing because the old table is gone.
    auto legacy = QueryInt(db_, "PRAGMA legacy_alter_table");
    if (!legacy.ok()) return Error(legacy.status());
    if (auto s = Exec("PRAGMA legacy_alter_table = ON"); !s.ok()) return s;
    auto renamed = Exec("ALTER TABLE " + QuoteIdentifier(tmp) + " RENAME TO " + QuoteIdentifier(m_.name));
    (void)db_.Exec(*legacy ? "PRAGMA legacy_alter_table = ON" : "PRAGMA legacy_alter_table = OFF");
    if (!renamed.ok()) return renamed;
    return rows;
  }

  Result<std::int64_t> View(const std::string& select) {
    if (auto s = DropExisting(m_.name); !s.ok()) return s;
    if (auto s = Exec("CREATE VIEW " + QuoteIdentifier(m_.name) + " AS " + select); !s.ok()) return s;
    auto rows = QueryInt(db_, "SELECT count(*) FROM " + QuoteIdentifier(m_.name));
    if (!rows.ok()) return Error(rows.status());
    if (auto s = RunAudits(AuditScope{m_.name, "", "", ""}); !s.ok()) return s;
    return rows;
  }

  Result<std::int64_t> Incremental(const std::string& select, const std::string& start_ds, const std::string& end_ds) {
    const std::string end_exclusive = NextIsoDay(end_ds);
    const std::string batch = "_sluice_batch_" + m_.name;
    const std::string qbatch = QuoteIdentifier(batch);
    const std::string target = QuoteIdentifier(m_.name);
    const std::string tc = QuoteIdentifier(m_.time_column);
    const std::string in_interval =
        tc + " >= " + QuoteLiteral(start_ds) + " AND " + tc + " < " + QuoteLiteral(end_exclusive);

    if (auto s = Exec("DROP TABLE IF EXISTS " + qbatch); !s.ok()) return s;
    if (auto s = Exec("CREATE TABLE " + qbatch + " AS " + select); !s.ok()) return s;
    auto columns = TableColumns(db_, batch);
    if (!columns.ok()) return Error(columns.status());
    bool has_time = false;
    std::string column_list;
    for (const std::string& c : *columns) {
      has_time = has_time || Lower(c) == Lower(m_.time_column);
      column_list += (column_list.empty() ? "" : ", ") + QuoteIdentifier(c);
    }
    if (!has_time)
      return Error(Status::InvalidArgument("time_column '" + m_.time_column + "' is not in the model's output"));

    const std::string outside = "SELECT * FROM " + qbatch + " WHERE " + tc + " IS NULL OR NOT (" + in_interval + ")";
    auto n_outside = QueryInt(db_, "SELECT count(*) FROM (" + outside + ")");
    if (!n_outside.ok()) return Error(n_outside.status());
    if (*n_outside > 0) {
      auto sample = SampleRows(db_, outside + " LIMIT 5", 5);
      std::string msg = std::to_string(*n_outside) + " rows outside the interval [" + start_ds + ", " + end_ds +
                        "] (time_column " + m_.time_column + "); filter the SELECT with @start_ds and @end_ds";
      if (sample.ok()) {
        msg += ", e.g.";
        for (const std::string& r : *sample) msg += "\n  " + r;
      }
      return Error(Status::InvalidArgument(msg));
    }

    auto type = ObjectType(db_, m_.name);
    if (!type.ok()) return Error(type.status());
    if (*type == "view") {
      if (auto s = Exec("DROP VIEW " + target); !s.ok()) return s;
    }
    if (*type != "table") {
      if (auto s = Exec("CREATE TABLE " + target + " AS SELECT * FROM " + qbatch + " WHERE 0"); !s.ok()) return s;
      if (auto s = Exec("CREATE INDEX " + QuoteIdentifier(m_.name + "__" + Lower(m_.time_column)) + " ON " + target +
                        " (" + tc + ")");
          !s.ok())
        return s;
    }
    if (auto s = Exec("DELETE FROM " + target + " WHERE " + in_interval); !s.ok()) return s;
    if (auto s = Exec("INSERT INTO " + target + " (" + column_list + ") SELECT " + column_list + " FROM " + qbatch);
        !s.ok())
      return s;
    const std::int64_t inserted = sqlite3_changes64(db_.handle());
    if (auto s = Exec("DROP TABLE " + qbatch); !s.ok()) return s;
    if (auto s = RunAudits(AuditScope{m_.name, m_.time_column, start_ds, end_exclusive}); !s.ok()) return s;
    return inserted;
  }

  Result<std::int64_t> UniqueKey(const std::string& select) {
    const std::string batch = "_sluice_batch_" + m_.name;
    const std::string qbatch = QuoteIdentifier(batch);
    const std::string target = QuoteIdentifier(m_.name);
    if (auto s = Exec("DROP TABLE IF EXISTS " + qbatch); !s.ok()) return s;
    if (auto s = Exec("CREATE TABLE " + qbatch + " AS " + select); !s.ok()) return s;
    auto columns = TableColumns(db_, batch);
    if (!columns.ok()) return Error(columns.status());
    std::string column_list, key_list, key_null, key_match, updates;
    for (const std::string& k : m_.unique_key) {
      bool found = false;
      for (const std::string& c : *columns) found = found || Lower(c) == Lower(k);
      if (!found) return Error(Status::InvalidArgument("unique_key column '" + k + "' is not in the model's output"));
      const std::string q = QuoteIdentifier(k);
      key_list += (key_list.empty() ? "" : ", ") + q;
      key_null += (key_null.empty() ? "" : " OR ") + q + " IS NULL";
      key_match += (key_match.empty() ? "" : " AND ") + std::string("t.") + q + " = b." + q;
    }
    for (const std::string& c : *columns) {
      const std::string q = QuoteIdentifier(c);
      column_list += (column_list.empty() ? "" : ", ") + q;
      updates += (updates.empty() ? "" : ", ") + q + " = excluded." + q;
    }
    // Keys must be whole and unique in what the SELECT returns.
    const std::string bad = "SELECT " + key_list + ", count(*) AS rows FROM " + qbatch + " WHERE NOT (" + key_null +
                            ") GROUP BY " + key_list + " HAVING count(*) > 1";
    auto dups = QueryInt(db_, "SELECT count(*) FROM (" + bad + ")");
    if (!dups.ok()) return Error(dups.status());
    auto nulls = QueryInt(db_, "SELECT count(*) FROM " + qbatch + " WHERE " + key_null);
    if (!nulls.ok()) return Error(nulls.status());
    if (*dups > 0 || *nulls > 0) {
      std::string msg = *dups > 0 ? std::to_string(*dups) + " keys returned more than once" : "";
      if (*nulls > 0) msg += (msg.empty() ? "" : "; ") + std::to_string(*nulls) + " rows with a NULL key";
      msg += " (unique_key " + key_list + ")";
      auto sample = SampleRows(db_, *dups > 0 ? bad + " LIMIT 5" : "SELECT * FROM " + qbatch + " WHERE " + key_null + " LIMIT 5", 5);
      if (sample.ok() && !sample->empty()) {
        msg += ", e.g.";
        for (const std::string& r : *sample) msg += "\n  " + r;
      }
      return Error(Status::InvalidArgument(msg));
    }
    auto type = ObjectType(db_, m_.name);
    if (!type.ok()) return Error(type.status());
    if (*type == "view") {
      if (auto s = Exec("DROP VIEW " + target); !s.ok()) return s;
    }
    if (*type != "table") {
      if (auto s = Exec("CREATE TABLE " + target + " AS SELECT * FROM " + qbatch + " WHERE 0"); !s.ok()) return s;
      if (auto s = Exec("CREATE UNIQUE INDEX " + QuoteIdentifier(m_.name + "__unique_key") + " ON " + target + " (" +
                        key_list + ")");
          !s.ok())
        return s;
    }
    auto total = QueryInt(db_, "SELECT count(*) FROM " + qbatch);
    if (!total.ok()) return Error(total.status());
    auto updated = QueryInt(db_, "SELECT count(*) FROM " + qbatch + " AS b WHERE EXISTS (SELECT 1 FROM " + target +
                                     " AS t WHERE " + key_match + ")");
    if (!updated.ok()) return Error(updated.status());
    // `WHERE true` tells SQLite's parser the ON CONFLICT is the upsert's.
    if (auto s = Exec("INSERT INTO " + target + " (" + column_list + ") SELECT " + column_list + " FROM " + qbatch +
                      " WHERE true ON CONFLICT (" + key_list + ") DO UPDATE SET " + updates);
        !s.ok())
      return s;
    if (auto s = Exec("DROP TABLE " + qbatch); !s.ok()) return s;
    if (auto s = RunAudits(AuditScope{m_.name, "", "", ""}); !s.ok()) return s;
    if (counts_ != nullptr) {
      counts_->updated = *updated;
      counts_->inserted = *total - *updated;
    }
    return *total;
  }

  Database& db_;
  const Model& m_;
  UpsertCounts* counts_ = nullptr;
};

}  // namespace

Result<std::int64_t> BuildModel(Database& db, const Model& model, std::string_view start_ds, std::string_view end_ds) {
  return Builder(db, model, nullptr).Build(start_ds, end_ds);
}

Result<std::int64_t> BuildModel(Database& db, const Model& model, std::string_view start_ds, std::string_view end_ds,
                                UpsertCounts* counts) {
  return Builder(db, model, counts).Build(start_ds, end_ds);
}

}  // namespace sluice::models
