#include "workers/s3_landing.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "pipeline/lakehouse/landing_glob.h"
#include "workers/landing_names.h"

namespace sluice::worker {
namespace {

class S3Partition final : public LandingPartition {
 public:
  S3Partition(s3::Client* client, s3::Location location, std::string relative_dir, int spool_fd,
              std::string spool_dir)
      : LandingPartition(std::move(relative_dir)),
        client_(client),
        location_(std::move(location)),
        spool_fd_(spool_fd),
        spool_dir_(std::move(spool_dir)) {}
  ~S3Partition() override { ::close(spool_fd_); }

  Result<bool> Exists(std::string_view name) override {
    if (!IsSafeFileName(name)) return false;
    Result<s3::ObjectInfo> head = client_->Head(location_.bucket, Key(name));
    if (head.ok()) return true;
    if (head.status().code() == Code::kNotFound) return false;
    return head.status();
  }

  Result<std::unique_ptr<TempFile>> CreateTemp(bool allow_unnamed) override {
    return TempFile::CreateIn(spool_fd_, spool_dir_, allow_unnamed);
  }

  Result<bool> Publish(TempFile* temp, std::string_view name) override {
    if (!IsSafeFileName(name)) return Status::Internal("landing: unsafe file name " + Quoted(name));
    Result<bool> exists = Exists(name);
    if (!exists.ok()) return exists.status();
    if (exists.value()) return false;
    s3::PutOptions options;
    options.if_absent = true;
    options.content_type = "application/gzip";
    Result<s3::PutOutcome> put = client_->PutFile(location_.bucket, Key(name), temp->fd(), temp->size(), options);
    if (!put.ok()) return put.status();
    return put.value() == s3::PutOutcome::kCreated;
  }

 private:
  std::string Key(std::string_view name) const { return location_.Key(RelativePath(name)); }

  s3::Client* client_;
  s3::Location location_;
  int spool_fd_;
  std::string spool_dir_;
};

// Listing more than this under one glob is refused, not loaded.
constexpr std::size_t kMaxListed = 1'000'000;

}  // namespace

S3LandingFiles::~S3LandingFiles() { DropSpool(); }

void S3LandingFiles::DropSpool() {
  if (!spool_path_.empty()) ::unlink(spool_path_.c_str());
  spool_path_.clear();
  if (spool_fd_ >= 0) ::close(spool_fd_);
  spool_fd_ = -1;
}

Result<std::vector<std::string>> S3LandingFiles::Find(const std::string& glob) {
  const std::string list_prefix = location_.ListPrefix() + lakehouse::GlobFixedFolders(glob);
  Result<std::vector<s3::ObjectInfo>> objects = client_->List(location_.bucket, list_prefix, kMaxListed);
  if (!objects.ok()) return objects.status();
  std::vector<std::string> out;
  for (const s3::ObjectInfo& o : objects.value()) {
    std::string rel = location_.Relative(o.key);
    if (!rel.empty() && lakehouse::GlobSelects(glob, rel)) out.push_back(std::move(rel));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::string> S3LandingFiles::Fetch(const std::string& relative) {
  DropSpool();
  std::error_code ec;
  std::filesystem::create_directories(spool_dir_, ec);
  // An unnamed file, read back through /proc: a killed worker leaves
  // nothing behind. A named one where either is missing.
  int fd = ::open(spool_dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  std::string path;
  if (fd >= 0) {
    path = "/proc/self/fd/" + std::to_string(fd);
    if (::access(path.c_str(), R_OK) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  if (fd < 0) {
    path = spool_dir_ + "/.sluice-load-XXXXXX";
    fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd < 0)
      return Status::IOError("load: cannot create a spool file in " + spool_dir_ + ": " + std::strerror(errno));
    spool_path_ = path;
  }
  spool_fd_ = fd;
  Status st = client_->Get(location_.bucket, location_.Key(relative), [fd](std::string_view chunk) {
    while (!chunk.empty()) {
      const ssize_t n = ::write(fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::IOError(std::string("load: writing the spool file: ") + std::strerror(errno));
      chunk.remove_prefix(static_cast<std::size_t>(n));
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    DropSpool();
    return st;
  }
  return path;
}

Result<std::unique_ptr<LandingPartition>> OpenS3Partition(s3::Client* client, const s3::Location& location,
                                                          std::string_view source,
                                                          std::chrono::system_clock::time_point fetch_time,
                                                          const std::string& spool_dir) {
  Result<std::string> relative = PartitionDir(source, fetch_time);
  if (!relative.ok()) return relative.status();
  std::error_code ec;
  std::filesystem::create_directories(spool_dir, ec);
  if (ec) return Status::IOError("landing: cannot create the spool folder " + spool_dir + ": " + ec.message());
  const int fd = ::open(spool_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return Status::IOError("landing: cannot open the spool folder " + spool_dir + ": " + std::strerror(errno));
  return std::unique_ptr<LandingPartition>(
      new S3Partition(client, location, std::move(relative).value(), fd, spool_dir));
}

s3::Client* ThreadS3Client(const s3::Config& config, std::function<bool()> stop) {
  thread_local std::unique_ptr<s3::Client> client;
  thread_local const s3::Config* made_for = nullptr;
  if (!client || made_for != &config) {
    client = std::make_unique<s3::Client>(config);
    made_for = &config;
  }
  client->SetStop(std::move(stop));
  return client.get();
}

}  // namespace sluice::worker
