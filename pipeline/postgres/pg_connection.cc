#include "pipeline/postgres/pg_connection.h"

#include <poll.h>

#include <cstdlib>
#include <cstring>

namespace sluice::postgres {
namespace {

// The writer lock's key: "sluice" as a 64-bit number.
constexpr const char* kWriterLock = "SELECT pg_advisory_xact_lock(126875390342501)";

bool Retryable(const char* sqlstate) {
  if (sqlstate == nullptr || std::strlen(sqlstate) != 5) return true;  // no server answer: the connection
  const std::string_view cls(sqlstate, 2);
  return cls == "08" || cls == "40" || cls == "53" || cls == "55" || cls == "57" || cls == "58";
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteText(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::int64_t PgResult::Int(int row, int col) const {
  if (!r_ || IsNull(row, col)) return 0;
  return std::strtoll(PQgetvalue(r_.get(), row, col), nullptr, 10);
}

std::int64_t PgResult::Affected() const {
  if (!r_) return 0;
  return std::strtoll(PQcmdTuples(r_.get()), nullptr, 10);
}

Result<std::unique_ptr<PgConnection>> PgConnection::FromEnvironment() {
  // Only libpq's own environment: the connection string is empty; the
  // application name is a fallback, so PGAPPNAME still wins.
  const char* keys[] = {"fallback_application_name", nullptr};
  const char* values[] = {"sluice", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 0);
  if (conn == nullptr) return Status::IOError("postgres: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = Trim(PQerrorMessage(conn));
    PQfinish(conn);
    return Status::IOError("postgres: cannot connect (from PGHOST, PGPORT, PGUSER, PGDATABASE, PGSERVICE): " + why);
  }
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::PgConnection(PGconn* conn) : conn_(conn), cancel_(PQgetCancel(conn)) {
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);  // NOTICEs are not errors
}

PgConnection::~PgConnection() {
  if (cancel_ != nullptr) PQfreeCancel(cancel_);
  if (conn_ != nullptr) PQfinish(conn_);
}

void PgConnection::Cancel() {
  if (cancel_ == nullptr) return;
  char err[256];
  (void)PQcancel(cancel_, err, sizeof err);
}

Status PgConnection::ErrorOf(const PGresult* r, const std::string& what) const {
  std::string msg;
  const char* sqlstate = nullptr;
  if (r != nullptr) {
    sqlstate = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    msg = primary != nullptr ? primary : Trim(PQresultErrorMessage(r));
    if (const char* d = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL)) msg += " (" + std::string(d) + ")";
    if (const char* h = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT)) msg += " (hint: " + std::string(h) + ")";
    if (const char* c = PQresultErrorField(r, PG_DIAG_CONTEXT); c != nullptr && std::strncmp(c, "COPY ", 5) == 0)
      msg += " [" + std::string(c) + "]";
  }
  if (msg.empty()) msg = Trim(PQerrorMessage(conn_));
  if (was_cancelled_) return Status::Unavailable("cancelled");
  if (!what.empty()) msg = what + ": " + msg;
  return Retryable(sqlstate) ? Status::IOError("postgres: " + msg) : Status::InvalidArgument(msg);
}

Result<PgResult> PgConnection::Collect(const std::string& what) {
  // Wait for the whole answer, asking cancelled() now and then.
  while (PQisBusy(conn_)) {
    pollfd p{PQsocket(conn_), POLLIN, 0};
    int n = ::poll(&p, 1, 100);
    if (n < 0 && errno != EINTR) return Status::IOError("postgres: poll: " + std::string(std::strerror(errno)));
    if (!was_cancelled_ && cancelled_ && cancelled_()) {
      was_cancelled_ = true;
      Cancel();
    }
    if (PQconsumeInput(conn_) == 0) return ErrorOf(nullptr, what);
  }
  PgResult last;
  Status error;
  while (PGresult* r = PQgetResult(conn_)) {
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COPY_IN) return PgResult(r);  // the caller sends the data
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
      if (error.ok()) error = ErrorOf(r, what);
      PQclear(r);
      continue;
    }
    last = PgResult(r);
  }
  if (PQstatus(conn_) == CONNECTION_BAD && error.ok()) error = ErrorOf(nullptr, what);
  const bool cancelled = was_cancelled_;
  was_cancelled_ = false;
  if (!error.ok()) return cancelled ? Status::Unavailable("cancelled") : error;
  return last;
}

Status PgConnection::Exec(const std::string& sql) {
  if (PQsendQuery(conn_, sql.c_str()) == 0) return ErrorOf(nullptr, "");
  auto r = Collect("");
  return r.ok() ? Status::Ok() : r.status();
}

Result<PgResult> PgConnection::Query(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  if (PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                        nullptr, 0) == 0)
    return ErrorOf(nullptr, "");
  return Collect("");
}

Result<std::int64_t> PgConnection::QueryInt(const std::string& sql,
                                            const std::vector<std::optional<std::string>>& params) {
  auto r = Query(sql, params);
  if (!r.ok()) return r.status();
  if (r->rows() == 0 || r->columns() == 0) return Status::NotFound("no row: " + sql);
  return r->Int(0, 0);
}

Status PgConnection::CopyBegin(const std::string& copy_sql) {
  if (PQsendQuery(conn_, copy_sql.c_str()) == 0) return ErrorOf(nullptr, "");
  // The server answers COPY_IN at once, or an error.
  PGresult* r = PQgetResult(conn_);
  if (r != nullptr && PQresultStatus(r) == PGRES_COPY_IN) {
    PQclear(r);
    return Status::Ok();
  }
  Status s = ErrorOf(r, "");
  PQclear(r);
  while (PGresult* more = PQgetResult(conn_)) PQclear(more);
  return s;
}

Status PgConnection::CopyPut(const char* data, std::size_t size) {
  while (size > 0) {
    const int n = static_cast<int>(std::min<std::size_t>(size, 1 << 30));
    if (PQputCopyData(conn_, data, n) != 1) return ErrorOf(nullptr, "COPY");
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

Result<std::int64_t> PgConnection::CopyEnd() {
  if (PQputCopyEnd(conn_, nullptr) != 1) return ErrorOf(nullptr, "COPY");
  auto r = Collect("");
  if (!r.ok()) return r.status();
  return r->Affected();
}

void PgConnection::CopyAbort(const std::string& why) {
  if (PQputCopyEnd(conn_, why.c_str()) == 1) (void)Collect("");
}

PgTransaction::~PgTransaction() { Rollback(); }

Status PgTransaction::Begin(bool lock) {
  Status s = c_.Exec("BEGIN");
  if (!s.ok()) return s;
  open_ = true;
  if (lock) {
    s = c_.Exec(kWriterLock);
    if (!s.ok()) Rollback();
  }
  return s;
}

Status PgTransaction::Commit() {
  open_ = false;
  return c_.Exec("COMMIT");
}

void PgTransaction::Rollback() {
  if (!open_) return;
  open_ = false;
  // Not cancellable: a rollback must finish.
  PQclear(PQexec(c_.handle(), "ROLLBACK"));
}

}  // namespace sluice::postgres
