// Column lineage: which raw columns feed a model's column, through the
// model's CTEs and subqueries and the models it reads, down to `raw_*`.
// Nothing runs and nothing is written: like `sluice models check`
// (model_check.h), every model is compiled (prepared, never stepped) in a
// private in-memory SQLite whose tables are the raw tables and the models,
// empty.
//
// How it is exact (SQLite resolves every name; no SQL is interpreted here):
// - Each CTE and each subquery in FROM position becomes a TEMP table of its
//   own (a TEMP table hides a model of the same name, as the CTE does), so a
//   column read from it is a column of a table the authorizer reports.
// - The SELECT of each is compiled once more with markers: a call of a
//   marker function after each result item (`SELECT _a(), e1, _i(), e2,
//   _i() FROM ...`). SQLite's authorizer reports, in the order names are
//   resolved, every function (SQLITE_FUNCTION) and every column read
//   (SQLITE_READ); the result list is resolved item by item, before WHERE,
//   ON, GROUP BY, HAVING and ORDER BY. So a read between two markers is a
//   column of that item's expression (a value), and a read after the last
//   one decides rows (a filter).
// - A scalar subquery or EXISTS inside an item is wrapped in a key marker
//   and its own result items in value markers: the subquery's result feeds
//   the value, its WHERE and correlation are keys.
// - `*` and `q.*` items: each result column's origin
//   (sqlite3_column_table_name / _origin_name, which needs SQLite built with
//   SQLITE_ENABLE_COLUMN_METADATA; without it such columns are noted as not
//   traced).
// - A table-valued function's column (`json_each(r.daily)`'s `value`) is fed
//   by the columns of its arguments.
// Then a walk with an explicit queue (no recursion) from the asked column
// down to raw columns, one shortest path each.
//
// Values vs filters: a value source is reached through expressions only
// (including CASE conditions, function arguments, aggregate arguments,
// window functions' PARTITION BY / ORDER BY, a scalar subquery's result);
// a filter is reached through at least one WHERE, JOIN ON, GROUP BY, HAVING,
// ORDER BY, a subquery's WHERE or correlation, or a table-valued function's
// argument, and is not a value source.
//
// Limits (each reported as a note when met, never silently):
// - a WITH inside a subquery, a compound with a VALUES arm: that query is
//   not traced (its columns are known, so the rest of the model is);
// - a recursive CTE is traced (its table exists, with the columns it names
//   or those of its first arm, before its body compiles);
// - NATURAL / USING join columns are not reported by SQLite's authorizer,
//   so they are missing from filters (their values are traced);
// - `x IN (SELECT y ...)` inside an item: the subquery's columns count as
//   values of the item;
// - a model that does not compile (see `sluice models check`) stops the walk.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::models {

// One step of a path: a column of a model or of a raw table, and how the
// step before it reads it ("" for the first step, else "value", "key" or
// "filter": the first that is not a value on the way, through CTEs).
struct LineageHop {
  std::string table;
  std::string column;
  std::string via;
};

struct LineageSource {
  std::string table;  // a raw table (or a table that is neither a model nor raw)
  std::string column;
  std::vector<LineageHop> path;  // from the asked column to this one
};

struct ColumnLineage {
  std::string model;
  std::string column;                  // as the model names it
  std::vector<LineageSource> sources;  // values, by table then column
  std::vector<LineageSource> filters;  // rows only, by table then column
  std::vector<std::string> notes;      // what was not traced, and why
};

struct LineageOptions {
  // As CheckOptions: the raw tables sources.toml declares; nullopt: none.
  std::optional<std::set<std::string>> declared_raw_tables;
};

// The lineage of `model`.`column` of the folder `dir`. `lakehouse`: null, or
// a lakehouse open read only whose raw tables give the raw columns (else
// they are inferred from the models, as `check` does).
// Errors: kNotFound for an unknown model or column (the message says which
// exist); kInvalidArgument when the folder does not load (one problem a
// line) or the model does not compile; anything else from reading the
// folder or the lakehouse.
Result<ColumnLineage> TraceColumnLineage(const std::filesystem::path& dir, Database* lakehouse,
                                         std::string_view model, std::string_view column,
                                         const LineageOptions& options = {});

// "m.c <- a.b <- raw_x.y" one value source a line (or "m.c: no source
// columns ..."), then the filters with `<~` at a filter or key step, then
// the notes.
std::string FormatColumnLineage(const ColumnLineage& lineage);

// Whether SQLite tells result columns' origins (SQLITE_ENABLE_COLUMN_METADATA).
bool ColumnOriginsAvailable();

}  // namespace sluice::models
