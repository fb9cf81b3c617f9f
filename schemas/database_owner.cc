#include "schemas/database_owner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sluice {
namespace {

constexpr char kMagic[] = "SQLite format 3";  // 16 bytes with its NUL
constexpr std::size_t kHeaderBytes = 100;

std::uint32_t BigEndian32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::string Hex32(std::int64_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", static_cast<unsigned>(static_cast<std::uint32_t>(v)));
  return buf;
}

Status Refuse(const std::string& path, const std::string& why) {
  return Status::Corruption("refusing " + path + ": " + why + " (the file was left unchanged)");
}

// The first kHeaderBytes of the file, read without opening it as a database.
Status ReadHeader(const std::string& path, unsigned char* header, std::size_t* got) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
  ssize_t n = ::pread(fd, header, kHeaderBytes, 0);
  int saved = errno;
  ::close(fd);
  if (n < 0) return Status::IOError("cannot read " + path + ": " + std::strerror(saved));
  *got = static_cast<std::size_t>(n);
  return Status::Ok();
}

// Checks what the header alone can tell: a SQLite file, of plausible size.
// With a non-empty -wal the size is not checked: a checkpoint cut short
// (by a full disk, a crash) leaves the file shorter than its header says,
// and the WAL still holds those pages.
Status CheckHeader(const std::string& path, std::int64_t size, bool has_wal) {
  unsigned char h[kHeaderBytes] = {};
  std::size_t got = 0;
  if (Status s = ReadHeader(path, h, &got); !s.ok()) return s;
  if (got < kHeaderBytes)
    return Refuse(path, "it is too short to be a SQLite database (" + std::to_string(size) + " bytes)");
  if (std::memcmp(h, kMagic, sizeof kMagic) != 0) return Refuse(path, "it is not a SQLite database");
  std::int64_t page_size = (std::int64_t{h[16]} << 8) | h[17];
  if (page_size == 1) page_size = 65536;
  if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)) != 0)
    return Refuse(path, "its SQLite header is corrupt (page size " + std::to_string(page_size) + ")");
  if (has_wal) return Status::Ok();
  if (size % page_size != 0)
    return Refuse(path, "it is truncated or damaged: " + std::to_string(size) +
                            " bytes is not a whole number of " + std::to_string(page_size) + "-byte pages");
  // The page count in the header is valid when the "version valid for"
  // number equals the change counter (every SQLite since 3.7.0).
  const std::int64_t pages = BigEndian32(h + 28);
  if (pages > 0 && BigEndian32(h + 24) == BigEndian32(h + 92) && size < pages * page_size)
    return Refuse(path, "it is truncated: its header counts " + std::to_string(pages) + " pages of " +
                            std::to_string(page_size) + " bytes, the file has " + std::to_string(size) +
                            " bytes");
  return Status::Ok();
}

Result<DatabaseContents> ReadContents(const std::string& path, bool through_wal) {
  Database db;
  Status s = through_wal ? db.Open(path, /*read_only=*/true) : db.OpenImmutable(path);
  if (!s.ok()) return Refuse(path, "it cannot be opened read-only: " + s.message());
  DatabaseContents c;
  auto one = [&](const char* sql, std::int64_t* out) -> Status {
    auto st = db.Prepare(sql);
    if (!st.ok()) return st.status();
    int rc = st->Step();
    if (rc != SQLITE_ROW) return Status::IOError(st->error());
    *out = st->Int(0);
    return Status::Ok();
  };
  if (s = one("PRAGMA application_id", &c.application_id); !s.ok())
    return Refuse(path, "it is not a readable SQLite database: " + s.message());
  if (s = one("PRAGMA user_version", &c.user_version); !s.ok())
    return Refuse(path, "it is not a readable SQLite database: " + s.message());
  auto st = db.Prepare("SELECT type, name FROM sqlite_master");
  if (!st.ok()) return Refuse(path, "it is not a readable SQLite database: " + st.status().message());
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) {
    ++c.schema_entries;
    if (st->Text(0) == "table") c.tables.emplace_back(st->Text(1));
  }
  if (rc != SQLITE_DONE) return Refuse(path, "its schema cannot be read: " + st->error());
  return c;
}

std::string DescribeTables(const std::vector<std::string>& tables) {
  if (tables.empty()) return "no tables";
  std::string out = "tables ";
  const std::size_t shown = std::min<std::size_t>(tables.size(), 5);
  for (std::size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + tables[i];
  if (tables.size() > shown) out += ", ... (" + std::to_string(tables.size()) + " in all)";
  return out;
}

}  // namespace

bool DatabaseContents::HasTable(std::string_view name) const {
  return std::find(tables.begin(), tables.end(), name) != tables.end();
}

Result<DatabaseOwner> InspectDatabaseFile(const std::string& path, const DatabaseKind& kind) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return DatabaseOwner::kNew;
    return Status::IOError("cannot inspect " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Refuse(path, "it is not a regular file");
  struct stat wal {};
  const bool has_wal = ::stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0;
  if (st.st_size == 0 && !has_wal) return DatabaseOwner::kNew;
  if (st.st_size > 0) {
    if (Status s = CheckHeader(path, st.st_size, has_wal); !s.ok()) return s;
  }
  auto c = ReadContents(path, has_wal);
  if (!c.ok()) return c.status();
  if (c->application_id == kApplicationId) return DatabaseOwner::kSluice;
  if (c->application_id != 0)
    return Refuse(path, "it belongs to another application (application_id " + Hex32(c->application_id) +
                            "; sluice's is " + Hex32(kApplicationId) + ")");
  if (c->schema_entries == 0 && c->user_version == 0) return DatabaseOwner::kNew;
  if (kind.is_ours && kind.is_ours(*c)) return DatabaseOwner::kSluiceUnstamped;
  return Refuse(path, "it is not a " + kind.what + " (no application_id, user_version " +
                          std::to_string(c->user_version) + ", " + DescribeTables(c->tables) + "; a " +
                          kind.what + " has " + kind.expected + ")");
}

Status StampApplicationId(Database& db, std::string_view schema) {
  return db.Exec("PRAGMA " + QuoteIdentifier(schema) + ".application_id = " +
                 std::to_string(kApplicationId));
}

}  // namespace sluice
