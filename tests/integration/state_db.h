// StateDb: the broker's SQLite state database opened read-only, for checks
// such as "each job recorded once". Rows come back as JSON objects (column
// name -> integer, real, text, null; blobs as text), which keeps assertions
// short. Safe while the broker runs (WAL readers do not block it).
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::testing {

class StateDb {
 public:
  // Opens `path` read-only; check ok() / error().
  explicit StateDb(const std::string& path);
  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  bool ok() const { return db_ != nullptr && error_.empty(); }
  const std::string& error() const { return error_; }

  // Runs one statement; on an error returns {} and sets error().
  std::vector<nlohmann::json> Query(const std::string& sql);
  // The first column of the first row as an integer (-1 on error / no row).
  std::int64_t Scalar(const std::string& sql);

  // Writes to the database at `path` (opened read-write; stop the broker
  // first): runs one statement with `blobs` bound to its `?`s in order.
  // Returns "" or the error. For tests that need rows an older broker
  // could have written (e.g. params nested 100,000 deep).
  static std::string Write(const std::string& path, const std::string& sql,
                           const std::vector<std::string>& blobs = {});

 private:
  sqlite3* db_ = nullptr;
  std::string error_;
};

}  // namespace sluice::testing
