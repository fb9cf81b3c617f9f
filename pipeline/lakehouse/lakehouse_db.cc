#include "pipeline/lakehouse/lakehouse_db.h"

#include <filesystem>
#include <system_error>

namespace sluice::lakehouse {

Status OpenLakehouse(sluice::Database& db, const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return Status::IOError("cannot create " + parent.string() + ": " + ec.message());
  }
  Status s = db.Open(path);
  if (!s.ok()) return s;
  sqlite3_busy_timeout(db.handle(), kLakehouseBusyTimeoutMs);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                             "PRAGMA cache_size=-65536"}) {
    s = db.Exec(pragma);
    if (!s.ok()) {
      db.Close();
      return Status::IOError(path + ": " + pragma + ": " + s.message());
    }
  }
  return Status::Ok();
}

}  // namespace sluice::lakehouse
