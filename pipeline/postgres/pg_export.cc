#include "pipeline/postgres/pg_export.h"

#include <optional>

#include "pipeline/postgres/pg_lakehouse.h"

namespace sluice::postgres {
namespace {

// The serving tables and views to publish, by name.
Result<std::vector<std::pair<std::string, std::string>>> ServingObjects(PgConnection& c) {
  auto r = c.Query(
      "SELECT c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = 'serving' AND c.relkind IN ('r', 'v', 'm', 'p') AND c.relname LIKE 'serving\\_%' "
      "ORDER BY c.relname");
  if (!r.ok()) return r.status();
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < r->rows(); ++i) out.emplace_back(r->Text(i, 0), r->Text(i, 1));
  return out;
}

// "name=version,..." of the serving tables' builds; nullopt when one is a
// view or was built by no model (its content is then unknown).
Result<std::optional<std::string>> Inputs(PgConnection& c, const std::vector<std::pair<std::string, std::string>>& objects) {
  std::string inputs;
  for (const auto& [name, kind] : objects) {
    if (kind != "r") return std::optional<std::string>();
    auto v = c.Query("SELECT version FROM sluice.model_builds WHERE model = $1", {name});
    if (!v.ok()) return v.status();
    if (v->rows() == 0) return std::optional<std::string>();
    inputs += (inputs.empty() ? "" : ",") + name + "=" + v->Text(0, 0);
  }
  return std::optional<std::string>(inputs);
}

}  // namespace

Result<serving::ExportReport> ExportServing(PgConnection& c, const std::function<bool()>& cancelled, bool force) {
  serving::ExportReport report;
  if (Status s = EnsureLakehouse(c); !s.ok()) return s;
  c.SetCancelled(cancelled);
  struct Reset {
    PgConnection& c;
    ~Reset() { c.SetCancelled({}); }
  } reset{c};

  PgTransaction tx(c);
  if (Status s = tx.Begin(); !s.ok()) return s;
  if (Status s = c.Exec("SET LOCAL lock_timeout = '5min'"); !s.ok()) return s;
  auto objects = ServingObjects(c);
  if (!objects.ok()) return objects.status();
  if (objects->empty())
    return Status::NotFound("no serving table to export: the serving schema has no serving_ table or view "
                            "(transform.sql builds them)");
  auto inputs = Inputs(c, *objects);
  if (!inputs.ok()) return inputs.status();

  if (!force && *inputs) {
    auto last = c.Query("SELECT version, rows, inputs->>'tables' FROM sluice.exports ORDER BY version DESC LIMIT 1");
    if (!last.ok()) return last.status();
    if (last->rows() == 1 && !last->IsNull(0, 2) && last->Text(0, 2) == **inputs) {
      auto has_meta = c.QueryInt("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                 "WHERE n.nspname = 'analytics' AND c.relname = '_sluice_export'");
      if (!has_meta.ok()) return has_meta.status();
      std::int64_t published = 0;
      if (*has_meta > 0) {
        auto v = c.QueryInt("SELECT coalesce(max(version), 0) FROM analytics._sluice_export");
        if (!v.ok()) return v.status();
        published = *v;
      }
      if (published == last->Int(0, 0)) {
        report.published = false;
        report.version = last->Int(0, 0);
        report.rows = last->Int(0, 1);
        report.reason = "no serving table changed since export " + std::to_string(report.version);
        return report;  // the transaction rolls back: nothing written
      }
    }
  }
  report.reason = force ? "forced" : "a serving table changed";

  const std::string next = QuoteIdent(kAnalyticsNextSchema);
  if (Status s = c.Exec("DROP SCHEMA IF EXISTS " + next + " CASCADE; CREATE SCHEMA " + next); !s.ok()) return s;
  for (const auto& [name, kind] : *objects) {
    if (cancelled && cancelled()) return Status::Unavailable("cancelled");
    auto created = c.Query("CREATE TABLE " + next + "." + QuoteIdent(name) + " AS SELECT * FROM " +
                           QuoteIdent("serving") + "." + QuoteIdent(name));
    if (!created.ok()) return created.status();
    report.tables.push_back({name, created->Affected()});
    report.rows += created->Affected();
  }
  auto version = c.QueryInt("SELECT coalesce(max(version), 0) + 1 FROM sluice.exports");
  if (!version.ok()) return version.status();
  report.version = *version;
  const std::string meta = next + "." + QuoteIdent(serving::kExportMetaTable);
  if (Status s = c.Exec("CREATE TABLE " + meta +
                        " (version bigint NOT NULL, exported_at text NOT NULL, tables integer NOT NULL, "
                        "rows bigint NOT NULL)");
      !s.ok())
    return s;
  auto meta_row = c.Query("INSERT INTO " + meta +
                              " VALUES ($1, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), $2, $3)",
                          {std::to_string(report.version), std::to_string(report.tables.size()),
                           std::to_string(report.rows)});
  if (!meta_row.ok()) return meta_row.status();

  // Whoever could read the old schema can read the new one.
  auto grantees = c.Query(
      "SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END "
      "FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) AS a LEFT JOIN pg_roles r ON r.oid = a.grantee "
      "WHERE n.nspname = 'analytics' AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner");
  if (!grantees.ok()) return grantees.status();
  for (int i = 0; i < grantees->rows(); ++i) {
    const std::string who = grantees->Text(i, 0);
    if (Status s = c.Exec("GRANT USAGE ON SCHEMA " + next + " TO " + who + "; GRANT SELECT ON ALL TABLES IN SCHEMA " +
                          next + " TO " + who);
        !s.ok())
      return s;
  }
  auto bytes = c.QueryInt(
      "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n "
      "ON n.oid = c.relnamespace WHERE n.nspname = 'analytics_next' AND c.relkind = 'r'");
  if (!bytes.ok()) return bytes.status();
  report.bytes = *bytes;

  if (Status s = c.Exec("DROP SCHEMA IF EXISTS " + QuoteIdent(kAnalyticsSchema) + " CASCADE; ALTER SCHEMA " + next +
                        " RENAME TO " + QuoteIdent(kAnalyticsSchema));
      !s.ok())
    return s;
  auto recorded = c.Query(
      "INSERT INTO sluice.exports (version, tables, rows, inputs) VALUES ($1, $2, $3, "
      "jsonb_build_object('tables', $4::text))",
      {std::to_string(report.version), std::to_string(report.tables.size()), std::to_string(report.rows),
       *inputs ? std::optional<std::string>(**inputs) : std::nullopt});
  if (!recorded.ok()) return recorded.status();
  if (Status s = tx.Commit(); !s.ok()) return s;
  return report;
}

}  // namespace sluice::postgres
