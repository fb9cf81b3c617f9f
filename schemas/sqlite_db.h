// A thin RAII layer over sqlite3: a connection and prepared statements.
// Errors come back as Status; nothing here throws.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "schemas/status.h"

namespace sluice {

// Quoting for SQL text built at run time: an identifier as "name", text as
// 'text', embedded quotes doubled.
std::string QuoteIdentifier(std::string_view name);
std::string QuoteLiteral(std::string_view text);

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& o) noexcept { *this = std::move(o); }
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite. Text and blobs are copied
  // (SQLITE_TRANSIENT) unless the caller keeps them alive until Reset().
  Statement& Bind(int i, std::int64_t v);
  Statement& BindDouble(int i, double v);
  Statement& Bind(int i, std::string_view text);
  Statement& BindBlob(int i, std::string_view bytes);
  Statement& BindNull(int i);
  // Binds text, or NULL when empty.
  Statement& BindOptional(int i, std::string_view text);

  // SQLITE_ROW: a row is ready. SQLITE_DONE: finished. Anything else: error()
  // says what.
  int Step();
  // Runs to completion; resets. Ok or the SQLite error.
  Status Run();
  void Reset();

  int columns() const { return sqlite3_column_count(stmt_); }
  std::int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  int Type(int col) const { return sqlite3_column_type(stmt_, col); }  // SQLITE_INTEGER, ...
  std::string_view ColumnName(int col) const { return sqlite3_column_name(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string_view Text(int col) const;
  std::string_view Blob(int col) const;
  std::string error() const;
  bool valid() const { return stmt_ != nullptr; }
  sqlite3_stmt* handle() const { return stmt_; }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Opens (creating if needed) the file. Parent directories must exist.
  // `vfs`: a registered SQLite VFS by name (tests: fault_vfs.h); null: the
  // default one.
  Status Open(const std::string& path, bool read_only = false, const char* vfs = nullptr);
  // Opens a file that nobody writes while it is open (SQLite's `immutable`:
  // read only, no locking, no journal checks).
  Status OpenImmutable(const std::string& path);
  void Close();
  Status Exec(std::string_view sql);
  Result<Statement> Prepare(std::string_view sql);
  std::string error() const;
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace sluice
