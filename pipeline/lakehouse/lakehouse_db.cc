#include "pipeline/lakehouse/lakehouse_db.h"

#include <filesystem>
#include <system_error>

#include "pipeline/lakehouse/lakehouse_schema.h"
#include "pipeline/lakehouse/load_ledger.h"
#include "pipeline/lakehouse/status_context.h"
#include "schemas/database_owner.h"

namespace sluice::lakehouse {
namespace {

// What a lakehouse from before the application_id stamp holds: the load
// ledger or the export counter, and no user_version.
const DatabaseKind& Lakehouse() {
  static const DatabaseKind kind{
      "sluice lakehouse", std::string("a table ") + kLedgerTable + " or _sluice_exports and user_version 0",
      [](const DatabaseContents& c) {
        return c.user_version == 0 && (c.HasTable(kLedgerTable) || c.HasTable("_sluice_exports"));
      }};
  return kind;
}

}  // namespace

Status OpenLakehouse(sluice::Database& db, const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return Status::IOError("cannot create " + parent.string() + ": " + ec.message());
  }
  // Before anything that writes (WAL mode rewrites the header): is the file
  // ours? Another application's database is refused, byte for byte intact.
  auto owner = InspectDatabaseFile(path, Lakehouse());
  if (!owner.ok()) return owner.status();
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
  if (*owner != DatabaseOwner::kSluice) {
    if (s = StampApplicationId(db); !s.ok()) {
      db.Close();
      return Status::IOError(path + ": cannot set its application_id: " + s.message());
    }
  }
  if (s = MigrateLakehouse(db); !s.ok()) {
    db.Close();
    return WithContext(s, path + ": ");
  }
  return Status::Ok();
}

Status OpenLakehouseReadOnly(sluice::Database& db, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Status::NotFound("no lakehouse at " + path);
  auto owner = InspectDatabaseFile(path, Lakehouse());
  if (!owner.ok()) return owner.status();
  if (Status s = db.Open(path, /*read_only=*/true); !s.ok()) return s;
  sqlite3_busy_timeout(db.handle(), kLakehouseBusyTimeoutMs);
  auto st = db.Prepare("PRAGMA user_version");
  if (!st.ok()) return st.status();
  if (st->Step() != SQLITE_ROW) return Status::IOError(path + ": " + st->error());
  if (st->Int(0) > LakehouseSchemaVersion())
    return Status::Corruption(path + ": lakehouse schema version " + std::to_string(st->Int(0)) +
                              " is newer than this build understands (" +
                              std::to_string(LakehouseSchemaVersion()) + ")");
  return Status::Ok();
}

backup::Subject LakehouseSubject() {
  backup::Subject s;
  s.name = "lakehouse";
  s.what = "lakehouse";
  s.min_version = 0;
  s.max_version = LakehouseSchemaVersion();
  return s;
}

}  // namespace sluice::lakehouse
