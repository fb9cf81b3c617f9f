// Audits: checks a model's rows must pass before they replace the old ones.
//   not_null(columns := (a, b))                 no NULL in any of the columns
//   unique_grain                                at most one row per grain key
//   accepted_values(column := c, is_in := (...)) c is one of the values (NULL passes; use not_null)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/models/model.h"
#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::models {

// What an audit looks at: a table or view, optionally only the rows whose
// time column lies in [start_ds, end_exclusive) (an incremental interval;
// unique_grain then checks, over the whole table, the grain keys that have
// a row in the interval).
struct AuditScope {
  std::string table;
  std::string time_column;     // empty: every row
  std::string start_ds;        // 'YYYY-MM-DD'
  std::string end_exclusive;   // 'YYYY-MM-DD', the day after end_ds
};

struct AuditFailure {
  std::string audit;               // AuditName(): "not_null(price)"
  std::int64_t count = 0;          // offending rows (unique_grain: duplicated keys)
  std::vector<std::string> rows;   // up to 5, each "col=value, ..."
};

// Runs one audit. nullopt: it passed. An error: the audit could not run (for
// instance a column it names is not in the model's output).
Result<std::optional<AuditFailure>> RunAudit(Database& db, const Model& model, const Audit& audit,
                                             const AuditScope& scope);

// "audit not_null(price) failed for foundation_x: 3 rows, e.g.\n  a=1, price=NULL\n  ..."
std::string FormatAuditFailure(const std::string& model, const AuditFailure& failure);

}  // namespace sluice::models
