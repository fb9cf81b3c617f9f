#include "tests/integration/state_db.h"

namespace sluice::testing {

StateDb::StateDb(const std::string& path) {
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    error_ = "cannot open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close(db_);
    db_ = nullptr;
    return;
  }
  sqlite3_busy_timeout(db_, 10000);
}

StateDb::~StateDb() { sqlite3_close(db_); }

std::vector<nlohmann::json> StateDb::Query(const std::string& sql) {
  std::vector<nlohmann::json> rows;
  if (db_ == nullptr) return rows;
  error_.clear();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    error_ = std::string(sqlite3_errmsg(db_)) + " in: " + sql;
    return rows;
  }
  while (true) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      error_ = std::string(sqlite3_errmsg(db_)) + " in: " + sql;
      rows.clear();
      break;
    }
    nlohmann::json row = nlohmann::json::object();
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      const char* name = sqlite3_column_name(stmt, i);
      switch (sqlite3_column_type(stmt, i)) {
        case SQLITE_INTEGER: row[name] = sqlite3_column_int64(stmt, i); break;
        case SQLITE_FLOAT: row[name] = sqlite3_column_double(stmt, i); break;
        case SQLITE_NULL: row[name] = nullptr; break;
        default: {
          const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
          int n = sqlite3_column_bytes(stmt, i);
          row[name] = p != nullptr ? std::string(p, static_cast<std::size_t>(n)) : std::string();
        }
      }
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(stmt);
  return rows;
}

std::int64_t StateDb::Scalar(const std::string& sql) {
  if (db_ == nullptr) return -1;
  error_.clear();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    error_ = std::string(sqlite3_errmsg(db_)) + " in: " + sql;
    return -1;
  }
  std::int64_t v = -1;
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) v = sqlite3_column_int64(stmt, 0);
  else if (rc != SQLITE_ROW && rc != SQLITE_DONE) error_ = std::string(sqlite3_errmsg(db_)) + " in: " + sql;
  sqlite3_finalize(stmt);
  return v;
}

std::string StateDb::Write(const std::string& path, const std::string& sql,
                           const std::vector<std::string>& blobs) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string e = "cannot open " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return e;
  }
  sqlite3_busy_timeout(db, 10000);
  sqlite3_stmt* stmt = nullptr;
  std::string error;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    error = std::string(sqlite3_errmsg(db)) + " in: " + sql;
  } else {
    for (std::size_t i = 0; i < blobs.size(); ++i)
      sqlite3_bind_blob(stmt, static_cast<int>(i + 1), blobs[i].data(), static_cast<int>(blobs[i].size()),
                        SQLITE_TRANSIENT);
    if (sqlite3_step(stmt) != SQLITE_DONE) error = std::string(sqlite3_errmsg(db)) + " in: " + sql;
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return error;
}

}  // namespace sluice::testing
