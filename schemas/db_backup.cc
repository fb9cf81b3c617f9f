#include "schemas/db_backup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "schemas/database_owner.h"
#include "schemas/sqlite_db.h"
#include "schemas/state_schema.h"

namespace sluice::backup {
namespace {

constexpr std::string_view kSuffix = ".sqlite.gz";
constexpr std::size_t kMaxSnapshots = 100'000;

std::string Errno() { return std::strerror(errno); }

// A temp file path in `dir` that is removed when this goes away.
class TempPath {
 public:
  TempPath() = default;
  ~TempPath() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  // Creates an empty file "DIR/.NAME-XXXXXX"; returns its fd (to close).
  Result<int> Create(const std::string& dir, const std::string& name) {
    std::string path = dir + "/." + name + "-XXXXXX";
    const int fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd < 0) return Status::IOError("cannot create a temp file in " + dir + ": " + Errno());
    path_ = path;
    return fd;
  }
  const std::string& path() const { return path_; }
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

std::string SubjectPrefix(const s3::Location& location, const Subject& subject) {
  return location.Key(subject.name + "/" + subject.name + "-");
}

std::string SnapshotKey(const s3::Location& location, const Subject& subject, const std::string& stamp) {
  return SubjectPrefix(location, subject) + stamp + std::string(kSuffix);
}

// gzip `from` into the open file `to_fd` (closed here).
Status GzipFile(const std::string& from, int to_fd, const std::string& to_name) {
  gzFile out = gzdopen(to_fd, "wb6");
  if (out == nullptr) {
    ::close(to_fd);
    return Status::IOError("gzip: cannot open " + to_name);
  }
  FILE* in = std::fopen(from.c_str(), "rb");
  if (in == nullptr) {
    gzclose(out);
    return Status::IOError("cannot read the snapshot " + from + ": " + Errno());
  }
  std::vector<char> buf(1 << 20);
  Status st;
  while (st.ok()) {
    const std::size_t n = std::fread(buf.data(), 1, buf.size(), in);
    if (n > 0 && gzwrite(out, buf.data(), static_cast<unsigned>(n)) != static_cast<int>(n))
      st = Status::IOError("gzip: cannot write " + to_name + " (disk full?)");
    if (n < buf.size()) {
      if (std::ferror(in)) st = Status::IOError("cannot read the snapshot " + from);
      break;
    }
  }
  std::fclose(in);
  if (gzclose(out) != Z_OK && st.ok()) st = Status::IOError("gzip: cannot finish " + to_name + " (disk full?)");
  return st;
}

// gunzip `from` into the open file `to_fd` (fsynced and closed here).
Status GunzipFile(const std::string& from, int to_fd, const std::string& to_name) {
  gzFile in = gzopen(from.c_str(), "rb");
  if (in == nullptr) {
    ::close(to_fd);
    return Status::IOError("cannot open the download " + from);
  }
  std::vector<char> buf(1 << 20);
  Status st;
  while (st.ok()) {
    const int n = gzread(in, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int errnum = 0;
      st = Status::Corruption(std::string("the snapshot is not valid gzip: ") + gzerror(in, &errnum));
      break;
    }
    if (n == 0) break;
    if (gzdirect(in) == 1) {  // zlib copies what is not gzip as it is
      st = Status::Corruption("the snapshot is not gzip");
      break;
    }
    const char* p = buf.data();
    std::size_t left = static_cast<std::size_t>(n);
    while (left > 0) {
      const ssize_t w = ::write(to_fd, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        st = Status::IOError("cannot write " + to_name + ": " + Errno());
        break;
      }
      p += w;
      left -= static_cast<std::size_t>(w);
    }
  }
  gzclose(in);
  if (st.ok() && ::fsync(to_fd) != 0) st = Status::IOError("cannot fsync " + to_name + ": " + Errno());
  ::close(to_fd);
  return st;
}

Status FsyncFolder(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open " + dir + ": " + Errno());
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Status::IOError("cannot fsync " + dir + ": " + Errno());
}

std::string ParentDir(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace

Subject StateSubject() {
  Subject s;
  s.name = "state";
  s.what = "state database";
  s.min_version = 1;
  s.max_version = schema::CurrentVersion();
  s.tables = {"jobs", "attempts", "counters"};
  return s;
}

Result<std::vector<std::string>> ListSnapshots(s3::Client& client, const s3::Location& location,
                                               const Subject& subject) {
  const std::string prefix = SubjectPrefix(location, subject);
  Result<std::vector<s3::ObjectInfo>> objects = client.List(location.bucket, prefix, kMaxSnapshots);
  if (!objects.ok()) return objects.status();
  std::vector<std::string> stamps;
  for (const s3::ObjectInfo& o : objects.value()) {
    std::string_view rest = std::string_view(o.key).substr(prefix.size());
    if (rest.size() <= kSuffix.size() || rest.substr(rest.size() - kSuffix.size()) != kSuffix) continue;
    rest.remove_suffix(kSuffix.size());
    if (IsStamp(rest)) stamps.emplace_back(rest);
  }
  std::sort(stamps.begin(), stamps.end());
  return stamps;
}

Result<BackupReport> BackupDatabase(s3::Client& client, const s3::Location& location, const Subject& subject,
                                    const std::string& db_path, const std::string& temp_dir,
                                    const Retention& retention, std::chrono::system_clock::time_point now) {
  BackupReport report;
  report.stamp = Stamp(now);
  report.key = SnapshotKey(location, subject, report.stamp);
  std::error_code ec;
  std::filesystem::create_directories(temp_dir, ec);

  // 1. The snapshot: SQLite's online backup, all pages in one step, so
  // one read transaction of the source (a consistent copy; in WAL mode the
  // writer goes on). (VACUUM INTO would compact, but re-inserts rows and
  // trips over tables that were altered since.)
  TempPath snapshot;
  {
    Result<int> fd = snapshot.Create(temp_dir, subject.name + "-snapshot");
    if (!fd.ok()) return fd.status();
    ::close(fd.value());
  }
  {
    Database src;
    if (Status st = src.Open(db_path, /*read_only=*/true); !st.ok())
      return Status::IOError("backup of the " + subject.what + " " + db_path + ": " + st.message());
    (void)src.Exec("PRAGMA busy_timeout = 5000");
    Database dst;
    if (Status st = dst.Open(snapshot.path()); !st.ok())
      return Status::IOError("backup: cannot create " + snapshot.path() + ": " + st.message());
    sqlite3_backup* copy = sqlite3_backup_init(dst.handle(), "main", src.handle(), "main");
    if (copy == nullptr) return Status::IOError("backup: " + dst.error());
    int rc = SQLITE_OK;
    for (int tries = 0; tries < 50; ++tries) {
      rc = sqlite3_backup_step(copy, -1);
      if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
      sqlite3_sleep(100);
    }
    sqlite3_backup_finish(copy);
    if (rc != SQLITE_DONE)
      return Status::IOError("backup of the " + subject.what + " " + db_path + ": " + sqlite3_errstr(rc) + ": " +
                             dst.error());
  }
  struct stat sb{};
  if (::stat(snapshot.path().c_str(), &sb) == 0) report.db_bytes = static_cast<std::uint64_t>(sb.st_size);
  if (Status st = CheckSnapshotFile(snapshot.path(), subject); !st.ok())
    return Status::InvalidArgument("backup of " + db_path + ": " + st.message() + "; nothing was uploaded");

  // 2. gzip.
  TempPath gz;
  Result<int> gz_fd = gz.Create(temp_dir, subject.name + "-snapshot-gz");
  if (!gz_fd.ok()) return gz_fd.status();
  if (Status st = GzipFile(snapshot.path(), gz_fd.value(), gz.path()); !st.ok()) return st;

  // 3. Upload, never replacing.
  const int fd = ::open(gz.path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot reopen " + gz.path() + ": " + Errno());
  struct stat gst{};
  ::fstat(fd, &gst);
  report.gz_bytes = static_cast<std::uint64_t>(gst.st_size);
  s3::PutOptions options;
  options.if_absent = true;
  options.content_type = "application/gzip";
  Result<s3::PutOutcome> put = client.PutFile(location.bucket, report.key, fd, report.gz_bytes, options);
  ::close(fd);
  if (!put.ok()) return put.status();
  if (put.value() == s3::PutOutcome::kExists)
    return Status::Conflict("backup: s3://" + location.bucket + "/" + report.key + " exists already");

  // 4. Retention.
  Result<std::vector<std::string>> stamps = ListSnapshots(client, location, subject);
  if (!stamps.ok()) return stamps.status();
  for (const std::string& old : ToPrune(stamps.value(), retention)) {
    if (old == report.stamp) continue;
    if (Status st = client.Delete(location.bucket, SnapshotKey(location, subject, old)); !st.ok()) return st;
    report.pruned.push_back(old);
  }
  return report;
}

Status CheckSnapshotFile(const std::string& path, const Subject& subject) {
  Database db;
  if (Status st = db.OpenImmutable(path); !st.ok())
    return Status::Corruption("the snapshot does not open as SQLite: " + st.message());
  auto one = [&db](const char* sql, std::string* text, std::int64_t* num) -> Status {
    Result<Statement> q = db.Prepare(sql);
    if (!q.ok()) return q.status();
    const int rc = q->Step();
    if (rc != SQLITE_ROW) return Status::Corruption(std::string(sql) + ": " + q->error());
    if (text != nullptr) *text = std::string(q->Text(0));
    if (num != nullptr) *num = q->Int(0);
    return Status::Ok();
  };
  std::string check;
  if (Status st = one("PRAGMA integrity_check(1)", &check, nullptr); !st.ok())
    return Status::Corruption("the snapshot fails PRAGMA integrity_check: " + st.message());
  if (check != "ok") return Status::Corruption("the snapshot fails PRAGMA integrity_check: " + check);
  std::int64_t app = 0, version = 0;
  if (Status st = one("PRAGMA application_id", nullptr, &app); !st.ok()) return Status::Corruption(st.message());
  if (Status st = one("PRAGMA user_version", nullptr, &version); !st.ok()) return Status::Corruption(st.message());
  if (app != kApplicationId)
    return Status::Corruption("the snapshot is not a sluice database (application_id " + std::to_string(app) + ")");
  if (version < subject.min_version || version > subject.max_version)
    return Status::Corruption("the snapshot's schema version " + std::to_string(version) +
                              " is not one this build reads (" + std::to_string(subject.min_version) + ".." +
                              std::to_string(subject.max_version) + ")");
  for (const std::string& table : subject.tables) {
    Result<Statement> q = db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    if (!q.ok()) return q.status();
    q->Bind(1, table);
    if (q->Step() != SQLITE_ROW)
      return Status::Corruption("the snapshot has no table " + table + ": not a " + subject.what);
  }
  return Status::Ok();
}

Result<std::string> RestoreDatabase(s3::Client& client, const s3::Location& location, const Subject& subject,
                                    const std::string& target, const RestoreOptions& options) {
  std::error_code ec;
  if (!options.replace && std::filesystem::exists(target, ec))
    return Status::Conflict(target + " exists; restoring would replace it (stop what uses it, then --force)");
  Result<std::vector<std::string>> stamps = ListSnapshots(client, location, subject);
  if (!stamps.ok()) return stamps.status();
  std::string chosen;
  for (const std::string& s : stamps.value())
    if (options.at.empty() || s.rfind(options.at, 0) == 0) chosen = s;  // oldest first: the last match is newest
  if (chosen.empty())
    return Status::NotFound("no " + subject.what + " snapshot at " + location.ToString() + "/" + subject.name +
                            "/" + (options.at.empty() ? "" : " matching '" + options.at + "'"));

  const std::string dir = ParentDir(target);
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  const std::string base = std::filesystem::path(target).filename().string();

  TempPath download;
  Result<int> dl_fd = download.Create(dir, base + ".download");
  if (!dl_fd.ok()) return dl_fd.status();
  const int fd = dl_fd.value();
  Status st = client.Get(location.bucket, SnapshotKey(location, subject, chosen), [fd](std::string_view chunk) {
    while (!chunk.empty()) {
      const ssize_t n = ::write(fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::IOError("writing the download: " + Errno());
      chunk.remove_prefix(static_cast<std::size_t>(n));
    }
    return Status::Ok();
  });
  ::close(fd);
  if (!st.ok()) return st;

  TempPath restored;
  Result<int> out_fd = restored.Create(dir, base + ".restore");
  if (!out_fd.ok()) return out_fd.status();
  if (st = GunzipFile(download.path(), out_fd.value(), restored.path()); !st.ok()) return st;
  if (st = CheckSnapshotFile(restored.path(), subject); !st.ok())
    return Status::Corruption(subject.what + " snapshot " + chosen + ": " + st.message() + "; " + target +
                              " is untouched");

  // The old file's WAL and index belong to it, not to the restored one.
  for (const char* side : {"-wal", "-shm", "-journal"}) ::unlink((target + side).c_str());
  if (::rename(restored.path().c_str(), target.c_str()) != 0)
    return Status::IOError("cannot rename the restored file to " + target + ": " + Errno());
  restored.Release();
  if (st = FsyncFolder(dir); !st.ok()) return st;
  return chosen;
}

}  // namespace sluice::backup
