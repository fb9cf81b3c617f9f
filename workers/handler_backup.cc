// backup: the lakehouse (and, on request, a local landing folder) into the
// worker's --backup location (builtin_handlers.h has the contract).
#include <msgpack.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>

#include "pipeline/lakehouse/landing_glob.h"
#include "pipeline/lakehouse/lakehouse_db.h"
#include "schemas/db_backup.h"
#include "schemas/job_kinds.h"
#include "schemas/s3_location.h"
#include "workers/builtin_handlers.h"
#include "workers/job_params.h"
#include "workers/lakehouse_step.h"
#include "workers/param_scalars.h"
#include "workers/s3_landing.h"

namespace sluice::worker {
namespace {

constexpr std::size_t kMaxMirrored = 1'000'000;

struct Mirror {
  std::int64_t uploaded = 0;
  std::int64_t present = 0;
  std::uint64_t bytes = 0;
};

// Uploads the landing files not yet under {backup}/landing/, by name: a
// landing file never changes once written, so a present name is a present
// file.
Result<Mirror> MirrorLanding(s3::Client& client, const s3::Location& backup, const std::string& landing_dir) {
  Mirror m;
  const s3::Location target = backup.Child("landing");
  Result<std::vector<std::string>> files = lakehouse::FindLandingFiles(landing_dir, "*");
  if (!files.ok()) return files.status();
  if (files->size() > kMaxMirrored) return Status::InvalidArgument("more than 1,000,000 landing files to mirror");
  Result<std::vector<s3::ObjectInfo>> objects = client.List(target.bucket, target.ListPrefix(), kMaxMirrored);
  if (!objects.ok()) return objects.status();
  std::set<std::string> have;
  for (const s3::ObjectInfo& o : objects.value()) have.insert(target.Relative(o.key));
  for (const std::string& rel : files.value()) {
    if (have.count(rel) != 0) {
      ++m.present;
      continue;
    }
    const std::string path = landing_dir + "/" + rel;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return Status::IOError("backup: cannot open " + path + ": " + std::strerror(errno));
    struct stat st{};
    ::fstat(fd, &st);
    s3::PutOptions options;
    options.if_absent = true;
    options.content_type = "application/gzip";
    Result<s3::PutOutcome> put =
        client.PutFile(target.bucket, target.Key(rel), fd, static_cast<std::uint64_t>(st.st_size), options);
    ::close(fd);
    if (!put.ok()) return put.status();
    if (put.value() == s3::PutOutcome::kCreated) {
      ++m.uploaded;
      m.bytes += static_cast<std::uint64_t>(st.st_size);
    } else {
      ++m.present;
    }
  }
  return m;
}

}  // namespace

void RunBackup(const JobContext& job, const CancelToken& cancel, proto::JobResult* result) {
  proto::MapReader params(job.params, "backup params");
  bool lakehouse = true, landing = false;
  ReadParamBool(params, "lakehouse", &lakehouse, false);
  ReadParamBool(params, "landing", &landing, false);
  if (!params.ok()) return SetBadParams(params.status(), result);

  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  const HandlerSettings& settings = job.settings;
  if (!settings.backup) {
    job.log.Info("backup: this worker has no --backup; nothing to do");
    pk.pack_map(2);
    pk.pack("skipped"), pk.pack(true);
    pk.pack("reason"), pk.pack("this worker has no --backup location");
    result->outputs.assign(buffer.data(), buffer.size());
    return;
  }
  const backup::Retention retention;
  s3::Client* client = ThreadS3Client(settings.backup->config, [&cancel] { return cancel.stopped(); });
  struct Done {
    ~Done() { ThreadS3Client(*config, nullptr); }
    const s3::Config* config;
  } done{&settings.backup->config};

  const bool mirror = landing && !s3::IsS3Url(settings.landing_dir);
  pk.pack_map(1 + (lakehouse ? 1 : 0) + (mirror ? 1 : 0));
  pk.pack("location"), pk.pack(settings.backup->location.ToString());
  if (lakehouse) {
    std::error_code ec;
    pk.pack("lakehouse");
    if (!std::filesystem::is_regular_file(settings.lakehouse_path, ec)) {
      job.log.Info("backup: no lakehouse at %s yet; nothing to snapshot", settings.lakehouse_path.c_str());
      pk.pack_map(1);
      pk.pack("skipped"), pk.pack("no lakehouse file yet");
    } else {
      std::string dir = std::filesystem::path(settings.lakehouse_path).parent_path().string();
      if (dir.empty()) dir = ".";
      auto report = backup::BackupDatabase(*client, settings.backup->location, lakehouse::LakehouseSubject(),
                                           settings.lakehouse_path, dir, retention, std::chrono::system_clock::now());
      if (!report.ok()) return FailFromStatus(proto::kind::kBackup, report.status(), cancel, result);
      pk.pack_map(5);
      pk.pack("key"), pk.pack(report->key);
      pk.pack("stamp"), pk.pack(report->stamp);
      pk.pack("db_bytes"), pk.pack(report->db_bytes);
      pk.pack("gz_bytes"), pk.pack(report->gz_bytes);
      pk.pack("pruned"), pk.pack(static_cast<std::uint64_t>(report->pruned.size()));
    }
  }
  if (mirror) {
    auto m = MirrorLanding(*client, settings.backup->location, settings.landing_dir);
    if (!m.ok()) return FailFromStatus(proto::kind::kBackup, m.status(), cancel, result);
    pk.pack("landing");
    pk.pack_map(3);
    pk.pack("files_uploaded"), pk.pack(m->uploaded);
    pk.pack("files_present"), pk.pack(m->present);
    pk.pack("bytes_uploaded"), pk.pack(m->bytes);
  }
  result->outputs.assign(buffer.data(), buffer.size());
}

}  // namespace sluice::worker
