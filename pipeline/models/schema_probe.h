// SchemaProbe: compiles SELECTs (sqlite3_prepare_v2, never stepped) against
// a schema held in a private in-memory SQLite, and reports exactly which
// tables and columns each one reads, as SQLite's authorizer sees them
// (SQLITE_READ during prepare). CTE names, subquery aliases and table-valued
// functions are not tables; tables read inside CTEs, subqueries and views
// are. Nothing is ever written outside the in-memory database.
//
// A table is either closed (its columns are known: a raw table of a
// lakehouse, a model compiled before) or open (columns unknown: a raw table
// nobody described, a model that did not compile, a model reading itself).
// An open table gets the columns the SELECT asks of it: on SQLite's "no such
// column: q.x" the column x is added to the open table that q names (the
// table or its alias), on an unqualified "no such column: x" to every open
// table the SELECT names, and on "ambiguous column name: x" taken back from
// all but the first. Inference ends after a bounded number of rounds.
// Every open table also has the column kOpenColumn, so a `SELECT *` over an
// open table shows up as that column among the result's columns.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/models/sql_tokens.h"
#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::models {

inline constexpr std::string_view kOpenColumn = "_sluice_open_columns_";

// One compile of one SELECT.
struct ProbeResult {
  enum class Outcome {
    kCompiled,      // prepared: reads and columns are set
    kMissingTable,  // "no such table": missing_table names it (lowercase, schema dropped)
    kError,         // anything else: error is SQLite's message
  };
  Outcome outcome = Outcome::kError;
  std::string missing_table;
  std::string error;
  // The column the error is about ("no such column: q.x" -> "x"), if any, and
  // its qualifier ("q", lowercase; "" when unqualified).
  std::string error_column;
  std::string error_qualifier;
  // table (lowercase) -> the columns read (lowercase; "" when the table is
  // read without any column, as in count(*)). Only tables of this probe.
  std::map<std::string, std::set<std::string>> reads;
  std::vector<std::string> columns;  // the result's column names, in order
};

class SchemaProbe {
 public:
  SchemaProbe() = default;
  SchemaProbe(const SchemaProbe&) = delete;
  SchemaProbe& operator=(const SchemaProbe&) = delete;

  // Opens the in-memory database.
  Status Open();

  // Creates (or replaces) `name` with `columns`; an open table also gets
  // kOpenColumn and grows on demand. Names are compared lowercase.
  Status SetTable(const std::string& name, const std::vector<std::string>& columns, bool open);
  Status DropTable(const std::string& name);
  bool HasTable(std::string_view name) const;
  bool IsOpen(std::string_view name) const;
  // The columns of a table (kOpenColumn not included); empty when unknown.
  std::vector<std::string> Columns(std::string_view name) const;

  // Prepares `sql` (one SELECT), inferring the columns of open tables.
  // `tokens` are the SELECT's tokens (sql_tokens.h), used to find which
  // table an alias names. Only a failure of the probe itself (the database
  // is not open) is a non-OK status; a SELECT that does not compile is a
  // result with kError or kMissingTable.
  Result<ProbeResult> Compile(std::string_view sql, const std::vector<Token>& tokens);

 private:
  struct Table {
    std::string name;
    std::vector<std::string> columns;
    bool open = false;
  };
  Status Create(const Table& t);
  // Applies SQLite's error to the open tables; false when nothing changed.
  bool Infer(const ProbeResult& r, std::string_view message, const std::vector<Token>& tokens);
  // The tables the compiled program of `sql` opens (EXPLAIN's OpenRead).
  Result<std::set<std::string>> OpenedTables(std::string_view sql);
  std::vector<Table*> OpenTablesNamedBy(const std::vector<Token>& tokens, const std::string& qualifier);

  Database db_;
  std::map<std::string, Table> tables_;  // by lowercase name
};

}  // namespace sluice::models
