#include "pipeline/models/audits.h"

#include "schemas/sqlite_db.h"
#include "pipeline/models/sql_rows.h"
#include "pipeline/models/sql_tokens.h"

namespace sluice::models {

namespace {

constexpr int kSampleRows = 5;

std::string InScope(const AuditScope& scope) {
  if (scope.time_column.empty()) return "1";
  const std::string tc = QuoteIdentifier(scope.time_column);
  return "(" + tc + " >= " + QuoteLiteral(scope.start_ds) + " AND " + tc + " < " + QuoteLiteral(scope.end_exclusive) +
         ")";
}

std::string LiteralSql(const Literal& v) {
  // Numbers were checked as number tokens when the header was parsed.
  return v.type == Literal::Type::kText ? QuoteLiteral(v.text) : v.text;
}

}  // namespace

Result<std::optional<AuditFailure>> RunAudit(Database& db, const Model& model, const Audit& audit,
                                             const AuditScope& scope) {
  auto columns = TableColumns(db, scope.table);
  if (!columns.ok()) return columns.status();
  const std::vector<std::string>& audited =
      audit.type == Audit::Type::kUniqueGrain ? model.grain : audit.columns;
  for (const std::string& c : audited) {
    bool found = false;
    for (const std::string& have : *columns) found = found || Lower(have) == Lower(c);
    if (!found)
      return Status::InvalidArgument("audit " + AuditName(audit) + " of " + model.name + ": column '" + c +
                                     "' is not in the model's output");
  }

  const std::string table = QuoteIdentifier(scope.table);
  std::string query;
  switch (audit.type) {
    case Audit::Type::kNotNull: {
      std::string any_null;
      for (const std::string& c : audit.columns)
        any_null += (any_null.empty() ? "" : " OR ") + QuoteIdentifier(c) + " IS NULL";
      query = "SELECT * FROM " + table + " WHERE " + InScope(scope) + " AND (" + any_null + ")";
      break;
    }
    case Audit::Type::kAcceptedValues: {
      std::string values;
      for (const Literal& v : audit.values) values += (values.empty() ? "" : ", ") + LiteralSql(v);
      query = "SELECT * FROM " + table + " WHERE " + InScope(scope) + " AND " + QuoteIdentifier(audit.columns.at(0)) +
              " NOT IN (" + values + ")";
      break;
    }
    case Audit::Type::kUniqueGrain: {
      std::string keys;
      for (const std::string& c : model.grain) keys += (keys.empty() ? "" : ", ") + QuoteIdentifier(c);
      query = "SELECT " + keys + ", count(*) AS duplicates FROM " + table + " GROUP BY " + keys + " HAVING count(*) > 1";
      if (!scope.time_column.empty()) query += " AND max(CASE WHEN " + InScope(scope) + " THEN 1 ELSE 0 END) = 1";
      break;
    }
  }

  auto count = QueryInt(db, "SELECT count(*) FROM (" + query + ")");
  if (!count.ok()) return count.status();
  if (*count == 0) return std::optional<AuditFailure>();
  auto rows = SampleRows(db, query + " LIMIT " + std::to_string(kSampleRows), kSampleRows);
  if (!rows.ok()) return rows.status();
  return std::optional<AuditFailure>(AuditFailure{AuditName(audit), *count, std::move(rows).value()});
}

std::string FormatAuditFailure(const std::string& model, const AuditFailure& f) {
  std::string out = "audit " + f.audit + " failed for " + model + ": " + std::to_string(f.count) +
                    (f.audit == "unique_grain" ? " duplicated grain keys" : " rows") + ", e.g.";
  for (const std::string& r : f.rows) out += "\n  " + r;
  return out;
}

}  // namespace sluice::models
