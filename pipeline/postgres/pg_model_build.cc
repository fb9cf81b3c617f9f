#include "pipeline/postgres/pg_model_build.h"

#include <algorithm>

#include "pipeline/models/audits.h"
#include "pipeline/models/iso_day.h"
#include "pipeline/models/model_sql.h"
#include "pipeline/models/sql_tokens.h"
#include "pipeline/postgres/pg_lakehouse.h"

namespace sluice::postgres {
namespace {

constexpr int kSampleRows = 5;

// "col=value, ..." as audits.h shows rows.
std::string RenderRow(const PgResult& r, int row) {
  std::string out;
  for (int c = 0; c < r.columns(); ++c) {
    if (c) out += ", ";
    out += r.ColumnName(c) + "=" + (r.IsNull(row, c) ? std::string("NULL") : r.Text(row, c));
  }
  return out;
}

// 'r' table, 'v' view, "" none.
Result<std::string> RelKind(PgConnection& c, const std::string& schema, const std::string& name) {
  auto r = c.Query("SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE n.nspname = $1 AND c.relname = $2",
                   {schema, name});
  if (!r.ok()) return r.status();
  return r->rows() == 0 ? std::string() : r->Text(0, 0);
}

// The views that depend on schema.name, transitively, with their
// definitions, in an order to recreate them (dependencies first).
Result<std::vector<SavedView>> DependentViews(PgConnection& c, const std::string& qualified) {
  auto r = c.Query(
      "WITH RECURSIVE deps(oid, depth) AS ("
      "  SELECT DISTINCT v.oid, 1 FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid "
      "  JOIN pg_class v ON v.oid = w.ev_class "
      "  WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = to_regclass($1) AND v.oid <> to_regclass($1) "
      "    AND v.relkind IN ('v', 'm') "
      "  UNION "
      "  SELECT DISTINCT v.oid, deps.depth + 1 FROM deps JOIN pg_depend d ON d.refobjid = deps.oid "
      "  JOIN pg_rewrite w ON w.oid = d.objid JOIN pg_class v ON v.oid = w.ev_class "
      "  WHERE d.classid = 'pg_rewrite'::regclass AND v.oid <> deps.oid AND v.relkind IN ('v', 'm') "
      "    AND deps.depth < 64) "
      "SELECT n.nspname, c.relname, pg_get_viewdef(c.oid), max(deps.depth) AS depth "
      "FROM deps JOIN pg_class c ON c.oid = deps.oid JOIN pg_namespace n ON n.oid = c.relnamespace "
      "GROUP BY n.nspname, c.relname, c.oid ORDER BY depth, 1, 2",
      {qualified});
  if (!r.ok()) return r.status();
  std::vector<SavedView> views;
  for (int i = 0; i < r->rows(); ++i)
    views.push_back({r->Text(i, 0), r->Text(i, 1), r->Text(i, 2), static_cast<int>(r->Int(i, 3))});
  return views;
}

}  // namespace

Status RecreateViews(PgConnection& c, const std::vector<SavedView>& views) {
  for (const SavedView& v : views) {
    const std::string q = QuoteIdent(v.schema) + "." + QuoteIdent(v.name);
    auto kind = RelKind(c, v.schema, v.name);
    if (!kind.ok()) return kind.status();
    if (!kind->empty()) continue;  // a model built again in this transaction
    Status s = c.Exec("CREATE VIEW " + q + " AS " + v.definition);
    if (!s.ok())
      return Status::InvalidArgument("the view " + v.schema + "." + v.name +
                                     " reads what was rebuilt and no longer compiles: " + s.message());
  }
  return Status::Ok();
}

Result<std::vector<SavedView>> DropSavingViews(PgConnection& c, const std::string& schema, const std::string& name) {
  auto kind = RelKind(c, schema, name);
  if (!kind.ok()) return kind.status();
  if (kind->empty()) return std::vector<SavedView>();
  const std::string q = QuoteIdent(schema) + "." + QuoteIdent(name);
  auto views = DependentViews(c, q);
  if (!views.ok()) return views.status();
  Status s = c.Exec(std::string(*kind == "v" ? "DROP VIEW " : "DROP TABLE ") + q + " CASCADE");
  if (!s.ok()) return s;
  return views;
}

namespace {

class Builder {
 public:
  Builder(PgConnection& c, const models::Model& m, models::UpsertCounts* counts)
      : c_(c), m_(m), schema_(models::LayerName(m.layer)), target_(ModelTable(m)), counts_(counts) {}

  Result<std::int64_t> Build(std::string_view start_ds, std::string_view end_ds) {
    if (m_.name.size() > kMaxModelName)
      return Error(Status::InvalidArgument("the name is longer than " + std::to_string(kMaxModelName) +
                                           " bytes, which PostgreSQL cannot hold with the build table's prefix"));
    auto select = models::RenderSelect(m_, start_ds, end_ds);
    if (!select.ok()) return Error(select.status());
    if (m_.kind == models::ModelKind::kFull || m_.kind == models::ModelKind::kSeed) return Full(*select);
    if (m_.kind == models::ModelKind::kView) return View(*select);
    if (m_.kind == models::ModelKind::kIncrementalByTimeRange)
      return Incremental(*select, std::string(start_ds), std::string(end_ds));
    if (m_.kind == models::ModelKind::kIncrementalByUniqueKey) return UniqueKey(*select);
    return Error(Status::InvalidArgument(std::string("kind ") + models::KindName(m_.kind) +
                                         " is not built on PostgreSQL"));
  }

 private:
  Status Error(const Status& s) const {
    if (s.code() == Code::kUnavailable || s.code() == Code::kIOError) return s;  // cancelled, connection
    return Status::InvalidArgument(m_.name + ": " + s.message());
  }
  Status Exec(const std::string& sql) {
    Status s = c_.Exec(sql);
    return s.ok() ? s : Error(s);
  }
  Result<std::int64_t> Count(const std::string& from) {
    auto n = c_.QueryInt("SELECT count(*) FROM " + from);
    if (!n.ok()) return Error(n.status());
    return *n;
  }

  // The output columns of a table (or any FROM item), in order.
  Result<std::vector<std::string>> Columns(const std::string& from) {
    auto r = c_.Query("SELECT * FROM " + from + " LIMIT 0");
    if (!r.ok()) return Error(r.status());
    std::vector<std::string> cols;
    for (int i = 0; i < r->columns(); ++i) cols.push_back(r->ColumnName(i));
    return cols;
  }

  Result<std::optional<models::AuditFailure>> RunAudit(const models::Audit& audit, const std::string& table,
                                                       const std::string& in_scope) {
    auto columns = Columns(table);
    if (!columns.ok()) return columns.status();
    const std::vector<std::string>& audited =
        audit.type == models::Audit::Type::kUniqueGrain ? m_.grain : audit.columns;
    for (const std::string& col : audited) {
      bool found = std::any_of(columns->begin(), columns->end(),
                               [&](const std::string& have) { return models::Lower(have) == models::Lower(col); });
      if (!found)
        return Status::InvalidArgument("audit " + models::AuditName(audit) + " of " + m_.name + ": column '" + col +
                                       "' is not in the model's output");
    }
    // Unquoted names fold to lowercase on PostgreSQL; the model's output
    // columns are lowercase unless its SELECT quoted them.
    auto col = [&](const std::string& name) {
      for (const std::string& have : *columns)
        if (models::Lower(have) == models::Lower(name)) return QuoteIdent(have);
      return QuoteIdent(name);
    };
    std::string query;
    switch (audit.type) {
      case models::Audit::Type::kNotNull: {
        std::string any_null;
        for (const std::string& name : audit.columns) any_null += (any_null.empty() ? "" : " OR ") + col(name) + " IS NULL";
        query = "SELECT * FROM " + table + " WHERE " + in_scope + " AND (" + any_null + ")";
        break;
      }
      case models::Audit::Type::kAcceptedValues: {
        std::string values;
        for (const models::Literal& v : audit.values)
          values += (values.empty() ? "" : ", ") + (v.type == models::Literal::Type::kText ? QuoteText(v.text) : v.text);
        query = "SELECT * FROM " + table + " WHERE " + in_scope + " AND " + col(audit.columns.at(0)) + " NOT IN (" +
                values + ")";
        break;
      }
      case models::Audit::Type::kUniqueGrain: {
        std::string keys;
        for (const std::string& name : m_.grain) keys += (keys.empty() ? "" : ", ") + col(name);
        query = "SELECT " + keys + ", count(*) AS duplicates FROM " + table + " GROUP BY " + keys +
                " HAVING count(*) > 1";
        if (in_scope != "TRUE") query += " AND max(CASE WHEN " + in_scope + " THEN 1 ELSE 0 END) = 1";
        break;
      }
    }
    auto count = c_.QueryInt("SELECT count(*) FROM (" + query + ") AS audit");
    if (!count.ok()) return count.status();
    if (*count == 0) return std::optional<models::AuditFailure>();
    auto rows = c_.Query(query + " LIMIT " + std::to_string(kSampleRows));
    if (!rows.ok()) return rows.status();
    models::AuditFailure f{models::AuditName(audit), *count, {}};
    for (int i = 0; i < rows->rows(); ++i) f.rows.push_back(RenderRow(*rows, i));
    return std::optional<models::AuditFailure>(std::move(f));
  }

  Status RunAudits(const std::string& table, const std::string& in_scope) {
    for (const models::Audit& a : m_.audits) {
      auto r = RunAudit(a, table, in_scope);
      if (!r.ok()) return Error(r.status());
      if (r->has_value()) return Status::Conflict(models::FormatAuditFailure(m_.name, **r));
    }
    return Status::Ok();
  }

  Result<std::int64_t> Full(const std::string& select) {
    const std::string aside_name = "_sluice_build_" + m_.name;
    const std::string aside = QuoteIdent(schema_) + "." + QuoteIdent(aside_name);
    if (auto s = Exec("DROP TABLE IF EXISTS " + aside); !s.ok()) return s;
    if (auto s = Exec("CREATE TABLE " + aside + " AS " + select); !s.ok()) return s;
    auto rows = Count(aside);
    if (!rows.ok()) return rows;
    if (auto s = RunAudits(aside, "TRUE"); !s.ok()) return s;
    auto views = DropSavingViews(c_, schema_, m_.name);
    if (!views.ok()) return Error(views.status());
    if (auto s = Exec("ALTER TABLE " + aside + " RENAME TO " + QuoteIdent(m_.name)); !s.ok()) return s;
    if (auto s = RecreateViews(c_, *views); !s.ok()) return Error(s);
    return rows;
  }

  Result<std::int64_t> View(const std::string& select) {
    auto views = DropSavingViews(c_, schema_, m_.name);
    if (!views.ok()) return Error(views.status());
    if (auto s = Exec("CREATE VIEW " + target_ + " AS " + select); !s.ok()) return s;
    if (auto s = RecreateViews(c_, *views); !s.ok()) return Error(s);
    auto rows = Count(target_);
    if (!rows.ok()) return rows;
    if (auto s = RunAudits(target_, "TRUE"); !s.ok()) return s;
    return rows;
  }

  Result<std::int64_t> Incremental(const std::string& select, const std::string& start_ds, const std::string& end_ds) {
    const std::string end_exclusive = models::NextIsoDay(end_ds);
    const std::string batch = "pg_temp." + QuoteIdent("_sluice_batch_" + m_.name);
    const std::string tc = QuoteIdent(models::Lower(m_.time_column));
    const std::string in_interval =
        "(" + tc + " >= " + QuoteText(start_ds) + " AND " + tc + " < " + QuoteText(end_exclusive) + ")";

    if (auto s = Exec("DROP TABLE IF EXISTS " + batch); !s.ok()) return s;
    if (auto s = Exec("CREATE TEMPORARY TABLE " + QuoteIdent("_sluice_batch_" + m_.name) + " AS " + select); !s.ok())
      return s;
    auto columns = Columns(batch);
    if (!columns.ok()) return columns.status();
    bool has_time = false;
    std::string column_list;
    for (const std::string& col : *columns) {
      has_time = has_time || models::Lower(col) == models::Lower(m_.time_column);
      column_list += (column_list.empty() ? "" : ", ") + QuoteIdent(col);
    }
    if (!has_time)
      return Error(Status::InvalidArgument("time_column '" + m_.time_column + "' is not in the model's output"));

    const std::string outside = "SELECT * FROM " + batch + " WHERE " + tc + " IS NULL OR NOT " + in_interval;
    auto n_outside = c_.QueryInt("SELECT count(*) FROM (" + outside + ") AS outside");
    if (!n_outside.ok()) return Error(n_outside.status());
    if (*n_outside > 0) {
      std::string msg = std::to_string(*n_outside) + " rows outside the interval [" + start_ds + ", " + end_ds +
                        "] (time_column " + m_.time_column + "); filter the SELECT with @start_ds and @end_ds";
      auto sample = c_.Query(outside + " LIMIT " + std::to_string(kSampleRows));
      if (sample.ok()) {
        msg += ", e.g.";
        for (int i = 0; i < sample->rows(); ++i) msg += "\n  " + RenderRow(*sample, i);
      }
      return Error(Status::InvalidArgument(msg));
    }

    auto kind = RelKind(c_, schema_, m_.name);
    if (!kind.ok()) return Error(kind.status());
    std::vector<SavedView> views;
    if (*kind == "v") {
      auto saved = DropSavingViews(c_, schema_, m_.name);
      if (!saved.ok()) return Error(saved.status());
      views = std::move(*saved);
    }
    if (*kind != "r") {
      if (auto s = Exec("CREATE TABLE " + target_ + " AS SELECT * FROM " + batch + " WITH NO DATA"); !s.ok()) return s;
      if (auto s = Exec("CREATE INDEX " + QuoteIdent(m_.name + "__" + models::Lower(m_.time_column)) + " ON " +
                        target_ + " (" + tc + ")");
          !s.ok())
        return s;
    }
    if (auto s = Exec("DELETE FROM " + target_ + " WHERE " + in_interval); !s.ok()) return s;
    auto inserted = c_.Query("INSERT INTO " + target_ + " (" + column_list + ") SELECT " + column_list + " FROM " + batch);
    if (!inserted.ok()) return Error(inserted.status());
    if (auto s = Exec("DROP TABLE " + batch); !s.ok()) return s;
    if (auto s = RecreateViews(c_, views); !s.ok()) return Error(s);
    if (auto s = RunAudits(target_, in_interval); !s.ok()) return s;
    return inserted->Affected();
  }

  // As on SQLite (pipeline/models/model_build.h): upsert by the key.
  Result<std::int64_t> UniqueKey(const std::string& select) {
    const std::string batch_name = "_sluice_batch_" + m_.name;
    const std::string batch = "pg_temp." + QuoteIdent(batch_name);
    if (auto s = Exec("DROP TABLE IF EXISTS " + batch); !s.ok()) return s;
    if (auto s = Exec("CREATE TEMPORARY TABLE " + QuoteIdent(batch_name) + " AS " + select); !s.ok()) return s;
    auto columns = Columns(batch);
    if (!columns.ok()) return columns.status();
    auto col = [&](const std::string& name) -> std::optional<std::string> {
      for (const std::string& have : *columns)
        if (models::Lower(have) == models::Lower(name)) return QuoteIdent(have);
      return std::nullopt;
    };
    std::string column_list, key_list, key_null, key_match, updates;
    for (const std::string& k : m_.unique_key) {
      auto q = col(k);
      if (!q) return Error(Status::InvalidArgument("unique_key column '" + k + "' is not in the model's output"));
      key_list += (key_list.empty() ? "" : ", ") + *q;
      key_null += (key_null.empty() ? "" : " OR ") + *q + " IS NULL";
      key_match += (key_match.empty() ? "" : " AND ") + std::string("t.") + *q + " = b." + *q;
    }
    for (const std::string& c : *columns) {
      column_list += (column_list.empty() ? "" : ", ") + QuoteIdent(c);
      updates += (updates.empty() ? "" : ", ") + QuoteIdent(c) + " = EXCLUDED." + QuoteIdent(c);
    }
    const std::string dups = "SELECT " + key_list + ", count(*) AS rows FROM " + batch + " WHERE NOT (" + key_null +
                             ") GROUP BY " + key_list + " HAVING count(*) > 1";
    auto n_dups = c_.QueryInt("SELECT count(*) FROM (" + dups + ") AS d");
    if (!n_dups.ok()) return Error(n_dups.status());
    auto n_nulls = c_.QueryInt("SELECT count(*) FROM " + batch + " WHERE " + key_null);
    if (!n_nulls.ok()) return Error(n_nulls.status());
    if (*n_dups > 0 || *n_nulls > 0) {
      std::string msg = *n_dups > 0 ? std::to_string(*n_dups) + " keys returned more than once" : "";
      if (*n_nulls > 0) msg += (msg.empty() ? "" : "; ") + std::to_string(*n_nulls) + " rows with a NULL key";
      return Error(Status::InvalidArgument(msg + " (unique_key " + key_list + ")"));
    }
    auto kind = RelKind(c_, schema_, m_.name);
    if (!kind.ok()) return Error(kind.status());
    std::vector<SavedView> views;
    if (*kind == "v") {
      auto saved = DropSavingViews(c_, schema_, m_.name);
      if (!saved.ok()) return Error(saved.status());
      views = std::move(*saved);
    }
    if (*kind != "r") {
      if (auto s = Exec("CREATE TABLE " + target_ + " AS SELECT * FROM " + batch + " WITH NO DATA"); !s.ok()) return s;
      if (auto s = Exec("CREATE UNIQUE INDEX " + QuoteIdent(m_.name + "__unique_key") + " ON " + target_ + " (" +
                        key_list + ")");
          !s.ok())
        return s;
    }
    auto total = Count(batch);
    if (!total.ok()) return total;
    auto updated = c_.QueryInt("SELECT count(*) FROM " + batch + " AS b WHERE EXISTS (SELECT 1 FROM " + target_ +
                               " AS t WHERE " + key_match + ")");
    if (!updated.ok()) return Error(updated.status());
    if (auto s = Exec("INSERT INTO " + target_ + " (" + column_list + ") SELECT " + column_list + " FROM " + batch +
                      " ON CONFLICT (" + key_list + ") DO UPDATE SET " + updates);
        !s.ok())
      return s;
    if (auto s = Exec("DROP TABLE " + batch); !s.ok()) return s;
    if (auto s = RecreateViews(c_, views); !s.ok()) return Error(s);
    if (auto s = RunAudits(target_, "TRUE"); !s.ok()) return s;
    if (counts_ != nullptr) {
      counts_->updated = *updated;
      counts_->inserted = *total - *updated;
    }
    return *total;
  }

  PgConnection& c_;
  const models::Model& m_;
  std::string schema_;
  std::string target_;
  models::UpsertCounts* counts_ = nullptr;
};

}  // namespace

Result<std::int64_t> BuildModel(PgConnection& c, const models::Model& model, std::string_view start_ds,
                                std::string_view end_ds, models::UpsertCounts* counts) {
  return Builder(c, model, counts).Build(start_ds, end_ds);
}

}  // namespace sluice::postgres
