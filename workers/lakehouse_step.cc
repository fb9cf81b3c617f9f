#include "workers/lakehouse_step.h"

#include <algorithm>

#include "pipeline/lakehouse/raw_source.h"
#include "pipeline/postgres/pg_raw_loader.h"
#include "workers/s3_landing.h"

namespace sluice::worker {

Result<lakehouse::LoadReport> LoadSourcesFile(Database& db, const std::string& sources_path,
                                              const HandlerSettings& settings, const CancelToken& cancel) {
  auto sources = lakehouse::ReadSources(sources_path);
  if (!sources.ok()) return sources.status();
  auto cancelled = [&cancel] { return cancel.stopped(); };
  if (!settings.store) return lakehouse::LoadRaw(db, *sources, settings.landing_dir, cancelled);
  Result<s3::Location> location = s3::ParseLocation(settings.landing_dir);
  if (!location.ok()) return location.status();
  s3::Client* client = ThreadS3Client(*settings.store, cancelled);
  S3LandingFiles landing(client, location.value(), settings.spool_dir);
  auto report = lakehouse::LoadRaw(db, *sources, landing, cancelled);
  ThreadS3Client(*settings.store, nullptr);
  return report;
}

Result<lakehouse::LoadReport> LoadSourcesFile(postgres::PgConnection& pg, const std::string& sources_path,
                                              const HandlerSettings& settings, const CancelToken& cancel) {
  auto sources = lakehouse::ReadSources(sources_path);
  if (!sources.ok()) return sources.status();
  auto cancelled = [&cancel] { return cancel.stopped(); };
  if (!settings.store) {
    lakehouse::FolderLandingFiles folder(settings.landing_dir);
    return postgres::LoadRaw(pg, *sources, folder, cancelled);
  }
  Result<s3::Location> location = s3::ParseLocation(settings.landing_dir);
  if (!location.ok()) return location.status();
  s3::Client* client = ThreadS3Client(*settings.store, cancelled);
  S3LandingFiles landing(client, location.value(), settings.spool_dir);
  auto report = postgres::LoadRaw(pg, *sources, landing, cancelled);
  ThreadS3Client(*settings.store, nullptr);
  return report;
}

void PackLoadReport(msgpack::packer<msgpack::sbuffer>& pk, const lakehouse::LoadReport& report) {
  constexpr std::size_t kMaxFiles = 100;
  pk.pack_map(4);
  pk.pack("files_loaded"), pk.pack(report.files_loaded);
  pk.pack("files_skipped"), pk.pack(report.files_skipped);
  pk.pack("rows_loaded"), pk.pack(report.rows_loaded);
  std::size_t n = std::min(report.files.size(), kMaxFiles);
  pk.pack("files"), pk.pack_array(static_cast<std::uint32_t>(n));
  for (std::size_t i = 0; i < n; ++i) {
    const auto& f = report.files[i];
    pk.pack_map(3);
    pk.pack("path"), pk.pack(f.path);
    pk.pack("table"), pk.pack(f.table);
    pk.pack("rows"), pk.pack(f.rows);
  }
}

void FailFromStatus(std::string_view kind, const Status& status, const CancelToken& cancel,
                    proto::JobResult* result) {
  if (cancel.stopped()) {
    result->outcome = OutcomeFor(cancel.reason());
    result->error = std::string(kind) + ": " + std::string(Describe(cancel.reason()));
    return;
  }
  const std::string& m = status.message();
  bool busy = m.find("database is locked") != std::string::npos ||
              m.find("database table is locked") != std::string::npos;
  result->outcome = Outcome::kFailed;
  result->error = std::string(kind) + ": " + m;
  result->retryable = busy || status.code() == Code::kIOError || status.code() == Code::kUnavailable;
}

}  // namespace sluice::worker
