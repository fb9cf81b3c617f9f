// Test fixtures for the lakehouse: a temp landing dir and lakehouse file,
// gzip files written with zlib, and small query helpers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/sqlite_db.h"

namespace sluice::lakehouse::testing {

// A fresh directory, removed with its contents at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Writes `data` gzip-compressed to `path`, creating parent folders.
void WriteGzip(const std::string& path, std::string_view data);
// Writes raw bytes to `path`, creating parent folders.
void WriteFile(const std::string& path, std::string_view data);
// `data` gzip-compressed, in memory.
std::string Gzip(std::string_view data);

// One value of a query result: nullopt is NULL; otherwise the text, with
// the SQLite type in `type`.
struct Cell {
  std::optional<std::string> text;
  int type = 0;  // SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB, SQLITE_NULL
};
using Rows = std::vector<std::vector<Cell>>;
Rows Query(sluice::Database& db, const std::string& sql);
// The single value of a query, as text ("NULL" for NULL).
std::string Scalar(sluice::Database& db, const std::string& sql);

}  // namespace sluice::lakehouse::testing
