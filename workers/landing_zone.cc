#include "workers/landing_zone.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <vector>

#include "workers/folder_sync.h"
#include "workers/landing_names.h"
#include "workers/open_folders.h"

namespace sluice::worker {
namespace {

std::string Errno(int err) { return std::strerror(err); }

Status IoError(std::string_view what, std::string_view path, int err) {
  return Status::IOError("landing: " + std::string(what) + " " + std::string(path) + ": " + Errno(err));
}

// Opens (creating if missing) the folder `name` under `parent_fd`, never
// through a symlink. `created` tells whether it was made just now.
int OpenSubdir(int parent_fd, const char* name, bool* created) {
  *created = false;
  if (::mkdirat(parent_fd, name, 0755) == 0) {
    *created = true;
  } else if (errno != EEXIST) {
    return -1;
  }
  return ::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

std::string RandomHex16() {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^
                                          (static_cast<std::uint64_t>(std::random_device{}()) << 32)};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

TempFile::~TempFile() {
  if (fd_ >= 0) ::close(fd_);  // an unnamed one is gone with its last fd
  if (!published_ && !name_.empty()) ::unlinkat(dir_fd_, name_.c_str(), 0);
}

Status TempFile::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write", Describe(), errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    size_ += static_cast<std::uint64_t>(n);
  }
  return Status::Ok();
}

Result<std::string> PartitionDir(std::string_view source, std::chrono::system_clock::time_point fetch_time) {
  if (Status st = ValidateSource(source); !st.ok()) return st;
  const std::time_t t = std::chrono::system_clock::to_time_t(fetch_time);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char yyyymm[32];
  std::snprintf(yyyymm, sizeof yyyymm, "%04d/%02d", utc.tm_year + 1900, utc.tm_mon + 1);
  return std::string(source) + "/" + yyyymm;
}

Result<std::unique_ptr<LandingPartition>> LandingPartition::Open(
    const std::string& landing_dir, std::string_view source,
    std::chrono::system_clock::time_point fetch_time) {
  Result<std::string> partition_dir = PartitionDir(source, fetch_time);
  if (!partition_dir.ok()) return partition_dir.status();
  if (landing_dir.empty()) return Status::InvalidArgument("landing: the landing folder is not set");
  const std::string full_path = landing_dir + "/" + *partition_dir;
  if (std::shared_ptr<OpenFolder> kept = OpenFolders::Find(full_path))
    return std::unique_ptr<LandingPartition>(new FolderPartition(std::move(kept), *partition_dir));
  std::error_code ec;
  std::filesystem::create_directories(landing_dir, ec);
  if (ec) return Status::IOError("landing: cannot create " + landing_dir + ": " + ec.message());
  int fd = ::open(landing_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("open", landing_dir, errno);

  std::vector<std::string> components;
  for (std::size_t start = 0; start <= partition_dir->size();) {
    const std::size_t slash = partition_dir->find('/', start);
    const std::size_t end = slash == std::string::npos ? partition_dir->size() : slash;
    components.push_back(partition_dir->substr(start, end - start));
    start = end + 1;
  }
  std::string relative;
  for (const std::string& c : components) {
    relative += (relative.empty() ? "" : "/") + c;
    bool created = false;
    int sub = OpenSubdir(fd, c.c_str(), &created);
    int err = errno;
    if (sub >= 0 && created) ::fsync(fd);  // the new entry survives a power cut
    ::close(fd);
    if (sub < 0) {
      if (err == ELOOP || err == ENOTDIR)
        return Status::IOError("landing: " + landing_dir + "/" + relative +
                               " is not a folder (a symlink or file is in the way)");
      return IoError("open", landing_dir + "/" + relative, err);
    }
    fd = sub;
  }
  // Belt and braces: the folder reached is where the names say it is.
  std::error_code ec_root, ec_dir;
  const std::filesystem::path root = std::filesystem::canonical(landing_dir, ec_root);
  const std::filesystem::path dir = std::filesystem::canonical(std::filesystem::path(landing_dir) / relative, ec_dir);
  if (ec_root || ec_dir || dir != root / relative) {
    ::close(fd);
    return Status::IOError("landing: " + landing_dir + "/" + relative + " is not inside " + landing_dir);
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return IoError("stat", landing_dir + "/" + relative, err);
  }
  auto folder = std::make_shared<OpenFolder>(fd, st.st_dev, st.st_ino);
  OpenFolders::Keep(full_path, folder);
  return std::unique_ptr<LandingPartition>(new FolderPartition(std::move(folder), std::move(relative)));
}

FolderPartition::~FolderPartition() = default;

int FolderPartition::SweepStaleTemps(std::chrono::system_clock::time_point now, std::chrono::seconds max_age) {
  int dup_fd = ::fcntl(dir_fd(), F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return 0;
  DIR* dir = ::fdopendir(dup_fd);
  if (dir == nullptr) {
    ::close(dup_fd);
    return 0;
  }
  const std::time_t cutoff = std::chrono::system_clock::to_time_t(now - max_age);
  int swept = 0;
  while (dirent* e = ::readdir(dir)) {
    if (!std::string_view(e->d_name).starts_with(kTempPrefix)) continue;
    struct stat st{};
    if (::fstatat(dir_fd(), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode) || st.st_mtime >= cutoff) continue;
    if (::unlinkat(dir_fd(), e->d_name, 0) == 0) ++swept;
  }
  ::closedir(dir);
  return swept;
}

Result<bool> FolderPartition::Exists(std::string_view name) {
  if (!IsSafeFileName(name)) return false;
  struct stat st{};
  return ::fstatat(dir_fd(), std::string(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

Result<std::unique_ptr<TempFile>> TempFile::CreateIn(int dir_fd, const std::string& where, bool allow_unnamed) {
  if (allow_unnamed) {
    int fd = ::openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
    if (fd >= 0) return std::unique_ptr<TempFile>(new TempFile(dir_fd, fd, std::string()));
    // EOPNOTSUPP (the filesystem), EISDIR or EINVAL (older kernels): named.
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
      return IoError("create a temp file in", where, errno);
  }
  for (int tries = 0; tries < 8; ++tries) {
    std::string name = std::string(kTempPrefix) + RandomHex16();
    int fd = ::openat(dir_fd, name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) return std::unique_ptr<TempFile>(new TempFile(dir_fd, fd, std::move(name)));
    if (errno != EEXIST) return IoError("create a temp file in", where, errno);
  }
  return Status::IOError("landing: cannot create a temp file in " + where + ": names taken");
}

Result<std::unique_ptr<TempFile>> FolderPartition::CreateTemp(bool allow_unnamed) {
  return TempFile::CreateIn(dir_fd(), relative_dir_, allow_unnamed);
}

Status FolderPartition::SyncFolder() {
  Status st = FolderSync::Sync(dir_fd(), folder_->dev(), folder_->ino());
  return st.ok() ? st : Status::IOError("landing: " + relative_dir_ + ": " + st.message());
}

Result<bool> FolderPartition::Publish(TempFile* temp, std::string_view name) {
  if (!IsSafeFileName(name)) return Status::Internal("landing: unsafe file name " + Quoted(name));
  const std::string target(name);
  if (::fsync(temp->fd_) != 0) return IoError("fsync", RelativePath(temp->Describe()), errno);
  int rc;
  if (temp->name_.empty()) {
    // linkat refuses an existing name: the no-replace rule for free. Through
    // /proc (any user); AT_EMPTY_PATH where /proc is not mounted (needs
    // CAP_DAC_READ_SEARCH).
    char proc_path[64];
    std::snprintf(proc_path, sizeof proc_path, "/proc/self/fd/%d", temp->fd_);
    rc = ::linkat(AT_FDCWD, proc_path, dir_fd(), target.c_str(), AT_SYMLINK_FOLLOW);
    if (rc != 0 && errno == ENOENT) rc = ::linkat(temp->fd_, "", dir_fd(), target.c_str(), AT_EMPTY_PATH);
    const int err = errno;
    ::close(temp->fd_);  // an unnamed file not linked is freed here
    temp->fd_ = -1;
    errno = err;
    if (rc != 0 && errno != EEXIST) return IoError("link into", RelativePath(target), errno);
  } else {
    if (::close(temp->fd_) != 0) {
      temp->fd_ = -1;
      return IoError("close", RelativePath(temp->name_), errno);
    }
    temp->fd_ = -1;
    rc = ::renameat2(dir_fd(), temp->name_.c_str(), dir_fd(), target.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
      // No RENAME_NOREPLACE here (NFS, some FUSE): a hard link also refuses
      // to replace, and is just as atomic.
      rc = ::linkat(dir_fd(), temp->name_.c_str(), dir_fd(), target.c_str(), 0);
      if (rc == 0) ::unlinkat(dir_fd(), temp->name_.c_str(), 0);
    }
    if (rc != 0 && errno != EEXIST) return IoError("rename into", RelativePath(target), errno);
  }
  if (rc != 0) return false;  // EEXIST: the destructor deletes a named temp file
  temp->published_ = true;
  if (Status st = SyncFolder(); !st.ok()) return st;
  return true;
}

}  // namespace sluice::worker
