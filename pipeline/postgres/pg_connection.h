// PgConnection: one libpq connection to PostgreSQL, and PgResult, the rows
// of one statement. Nothing here throws; failures are Status values.
//
// Where the connection goes comes from libpq's own environment only:
// PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSERVICE (a service
// file), ~/.pgpass, PGSSLMODE and the rest of libpq's variables. No job
// parameter, no flag and no file of a models folder names a host, a user
// or a password: a job can only use the database its worker was started
// for.
//
// Errors as Status codes (by SQLSTATE class):
//   connection lost or refused (08), serialization failure or deadlock
//   (40), out of resources (53), a lock not available in time (55),
//   operator intervention (57: a shutdown, a cancel), system error (58)
//                                                  -> IOError (worth a retry)
//   anything else (syntax 42, data 22, constraint 23, ...) -> InvalidArgument
// The message is the server's primary message, with its DETAIL and HINT
// when it has them.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/status.h"

namespace sluice::postgres {

// "name" with embedded quotes doubled: PostgreSQL's quoted identifier
// (PQescapeIdentifier's rule). Names are always used quoted.
std::string QuoteIdent(std::string_view name);
// 'text' with quotes doubled (standard_conforming_strings, on since 9.1).
std::string QuoteText(std::string_view text);

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r, &PQclear) {}

  int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  int columns() const { return r_ ? PQnfields(r_.get()) : 0; }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Text(int row, int col) const { return std::string(PQgetvalue(r_.get(), row, col), Length(row, col)); }
  std::int64_t Int(int row, int col) const;  // 0 when NULL or not a number
  std::string ColumnName(int col) const { return PQfname(r_.get(), col); }
  // Rows a command touched (INSERT, DELETE, COPY): its command tag's count.
  std::int64_t Affected() const;

 private:
  int Length(int row, int col) const { return PQgetlength(r_.get(), row, col); }
  std::shared_ptr<PGresult> r_;
};

class PgConnection {
 public:
  // Connects from libpq's environment (see above), with application_name
  // "sluice" unless PGAPPNAME says otherwise. IOError when it cannot.
  static Result<std::unique_ptr<PgConnection>> FromEnvironment();
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // One or more statements without parameters.
  Status Exec(const std::string& sql);
  // One statement; `params` as text ($1, $2, ...; nullopt is NULL).
  Result<PgResult> Query(const std::string& sql, const std::vector<std::optional<std::string>>& params = {});
  // The first column of the first row as an integer (0 when NULL; NotFound
  // when there is no row).
  Result<std::int64_t> QueryInt(const std::string& sql, const std::vector<std::optional<std::string>>& params = {});

  // COPY ... FROM STDIN: Begin, then Put the data (any split), then End
  // (the rows copied) or Abort (the COPY fails; the transaction with it).
  Status CopyBegin(const std::string& copy_sql);
  Status CopyPut(const char* data, std::size_t size);
  Result<std::int64_t> CopyEnd();
  void CopyAbort(const std::string& why);

  // Asks the server to cancel the statement running on this connection;
  // safe from another thread (PQcancel).
  void Cancel();

  // Polled while a statement runs (every 100 ms): true cancels it (Cancel)
  // and the statement fails with Unavailable "cancelled". Empty: never.
  void SetCancelled(std::function<bool()> cancelled) { cancelled_ = std::move(cancelled); }

  PGconn* handle() { return conn_; }

 private:
  explicit PgConnection(PGconn* conn);
  // Sends nothing; waits for the results of what was sent, polling cancel.
  Result<PgResult> Collect(const std::string& what);
  Status ErrorOf(const PGresult* r, const std::string& what) const;

  PGconn* conn_ = nullptr;
  PGcancel* cancel_ = nullptr;
  std::function<bool()> cancelled_;
  bool was_cancelled_ = false;
};

// A transaction that rolls back unless committed. With `lock`, it first
// takes the engine's writer lock (pg_advisory_xact_lock): PostgreSQL lets
// many sessions write at once; sluice's loads, builds and exports of one
// database take turns, as they do on the single-writer SQLite lakehouse.
class PgTransaction {
 public:
  explicit PgTransaction(PgConnection& c) : c_(c) {}
  ~PgTransaction();
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  Status Begin(bool lock = true);
  Status Commit();
  void Rollback();

 private:
  PgConnection& c_;
  bool open_ = false;
};

}  // namespace sluice::postgres
