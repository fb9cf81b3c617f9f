// export.serving: the lakehouse's serving_ tables into a new analytics
// database, swapped in atomically (pipeline/serving/serving_export.h).
#include <msgpack.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "pipeline/postgres/pg_export.h"
#include "pipeline/postgres/project_engine.h"
#include "pipeline/serving/serving_export.h"
#include "workers/builtin_handlers.h"
#include "workers/job_params.h"
#include "workers/param_scalars.h"
#include "workers/landing_names.h"
#include "workers/models_roots.h"

namespace sluice::worker {
namespace {

namespace fs = std::filesystem;

// A SQLite file in rollback-journal mode that holds _sluice_export: an
// analytics database that an export wrote. Read without changing a byte
// (the header first, then an immutable connection).
bool IsServingDatabase(const std::string& path) {
  char header[100] = {};
  {
    std::ifstream in(path, std::ios::binary);
    if (!in.read(header, sizeof header)) return false;
  }
  if (std::memcmp(header, "SQLite format 3", 16) != 0) return false;
  if (header[18] != 1 || header[19] != 1) return false;  // WAL: a lakehouse or a state DB
  Database db;
  if (!db.OpenImmutable(path).ok()) return false;
  auto st = db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
  if (!st.ok()) return false;
  st->Bind(1, serving::kExportMetaTable);
  return st->Step() == SQLITE_ROW;
}

// The file this export replaces. The worker's --serving, unless the job's
// `serving` param names another file in that file's folder: a bare file
// name, or a path without `..` whose folder is the same folder (compared
// with symlinks resolved). That file must not be the lakehouse nor an
// SQLite side file, and when it exists it must be an analytics database a
// previous export wrote (not a symlink, not another application's file).
// InvalidArgument otherwise: a job cannot have the worker overwrite any
// file it can write.
Result<std::string> ServingTarget(const std::string& param, const HandlerSettings& settings) {
  const std::string& configured = settings.serving_path;
  if (param == configured) return configured;
  const fs::path folder = fs::path(configured).parent_path().empty() ? fs::path(".")
                                                                     : fs::path(configured).parent_path();
  const fs::path canonical_folder = CanonicalPath(folder);
  auto refuse = [&](std::string_view why) -> Status {
    return Status::InvalidArgument("field 'serving' " + Quoted(param) + " " + std::string(why) +
                                   "; a job may only name another file in the folder of the worker's "
                                   "--serving (" + canonical_folder.string() +
                                   "), as a bare file name or a path in that folder");
  };
  if (param.find('\0') != std::string::npos) return refuse("contains a NUL byte");
  const fs::path given(param);
  for (const fs::path& part : given)
    if (part == "..") return refuse("must not contain '..'");
  const fs::path name = given.filename();
  if (name.empty() || name == "." || name == "..") return refuse("must name a file");
  if (given.has_parent_path()) {
    if (canonical_folder.empty() || CanonicalPath(given.parent_path()) != canonical_folder)
      return refuse("is not in the serving folder");
  }
  const std::string n = name.string();
  for (std::string_view side : {"-wal", "-shm", "-journal"})
    if (n.size() >= side.size() && n.compare(n.size() - side.size(), side.size(), side) == 0)
      return refuse("names an SQLite side file");
  const fs::path target = folder / name;
  if (CanonicalPath(target) == CanonicalPath(configured)) return configured;
  if (CanonicalPath(target) == CanonicalPath(settings.lakehouse_path)) return refuse("is the lakehouse");
  struct stat st;
  if (::lstat(target.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) return refuse("exists and is not a regular file");
    if (!IsServingDatabase(target.string()))
      return refuse("exists and is not an analytics database that export.serving wrote");
  } else if (errno != ENOENT) {
    return refuse(std::string("cannot be examined: ") + std::strerror(errno));
  }
  return target.string();
}

// The RESULT outputs: published, reason, version, path, tables {name: rows}, rows, bytes.
std::string ExportOutputs(const serving::ExportReport& report, const std::string& path) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  pk.pack_map(7);
  pk.pack("published"), pk.pack(report.published);
  pk.pack("reason"), pk.pack(report.reason);
  pk.pack("version"), pk.pack(report.version);
  pk.pack("path"), pk.pack(path);
  pk.pack("tables"), pk.pack_map(static_cast<std::uint32_t>(report.tables.size()));
  for (const auto& t : report.tables) pk.pack(t.name), pk.pack(t.rows);
  pk.pack("rows"), pk.pack(report.rows);
  pk.pack("bytes"), pk.pack(report.bytes);
  return std::string(buffer.data(), buffer.size());
}

}  // namespace

void RunExportServing(const JobContext& job, const CancelToken& cancel, proto::JobResult* result) {
  proto::MapReader params(job.params, "export.serving params");
  std::string serving = job.settings.serving_path;
  // The worker's --serving unless the job names another file.
  params.Str("serving", &serving, 4096, false);
  bool force = false;
  ReadParamBool(params, "force", &force, false);
  // The models folder, only to learn its engine: one with engine =
  // "postgres" publishes the serving schema as `analytics` in the database
  // libpq's environment names (pipeline/postgres/pg_export.h).
  std::string models;
  params.Str("models", &models, 4096, false);
  if (params.ok() && serving.empty()) params.Fail("field 'serving' must not be empty");
  if (!params.ok()) return SetBadParams(params.status(), result);
  if (!models.empty()) {
    auto dir = ConfineToModelsRoots("models", models, job.settings.models_roots);
    if (!dir.ok()) return RefuseModelsPath(proto::kind::kExportServing, dir.status(), result);
    auto engine = postgres::ReadProjectEngine(*dir);
    if (!engine.ok()) return SetBadParams(Status::InvalidArgument("export.serving: " + engine.status().message()), result);
    if (*engine == postgres::Engine::kPostgres) {
      auto pg = postgres::PgConnection::FromEnvironment();
      auto report = pg.ok() ? postgres::ExportServing(**pg, [&cancel] { return cancel.stopped(); }, force)
                            : Result<serving::ExportReport>(pg.status());
      if (report.ok()) {
        result->outputs = ExportOutputs(*report, postgres::kAnalyticsSchema);
        return;
      }
      if (cancel.stopped()) {
        result->outcome = OutcomeFor(cancel.reason());
        result->error = "export.serving: " + std::string(Describe(cancel.reason()));
        return;
      }
      result->outcome = Outcome::kFailed;
      result->error = "export.serving: " + report.status().message();
      result->retryable = report.status().code() == Code::kIOError || report.status().code() == Code::kUnavailable;
      return;
    }
  }
  if (auto target = ServingTarget(serving, job.settings); target.ok()) {
    serving = std::move(target.value());
  } else {
    return SetBadParams(Status::InvalidArgument("export.serving: " + target.status().message()), result);
  }

  auto fail = [&](std::string error, bool retryable) {
    result->outcome = Outcome::kFailed;
    result->error = "export.serving: " + std::move(error);
    result->retryable = retryable;
  };
  const std::string& lakehouse_path = job.settings.lakehouse_path;
  std::error_code ec;
  if (!std::filesystem::exists(lakehouse_path, ec))
    return fail("no lakehouse at " + lakehouse_path + " (load and transform.sql create it)", false);
  Database lakehouse;
  if (Status s = lakehouse.Open(lakehouse_path); !s.ok()) return fail(s.message(), true);

  auto report = serving::ExportServing(lakehouse, serving, [&cancel] { return cancel.stopped(); }, force);
  if (!report.ok()) {
    if (cancel.stopped()) {
      result->outcome = OutcomeFor(cancel.reason());
      result->error = "export.serving: " + std::string(Describe(cancel.reason()));
      return;
    }
    // Nothing to export is a pipeline mistake that a retry cannot fix; disk
    // and lock trouble may pass.
    return fail(report.status().message(), report.status().code() != Code::kNotFound);
  }
  result->outputs = ExportOutputs(*report, serving);
}

}  // namespace sluice::worker
