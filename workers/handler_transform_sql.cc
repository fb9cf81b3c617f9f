// transform.sql: (optionally) the raw load, then the SQL models of a models
// folder built in order against the lakehouse (pipeline/models/model_run.h).
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/lakehouse/lakehouse_db.h"
#include "schemas/job_kinds.h"
#include "pipeline/models/model_run.h"
#include "pipeline/postgres/pg_model_run.h"
#include "pipeline/postgres/project_engine.h"
#include "workers/builtin_handlers.h"
#include "workers/job_params.h"
#include "workers/param_scalars.h"
#include "workers/lakehouse_step.h"
#include "workers/models_roots.h"

namespace sluice::worker {
namespace {

void PackModels(msgpack::packer<msgpack::sbuffer>& pk, const models::RunReport& report) {
  pk.pack_array(static_cast<std::uint32_t>(report.models.size()));
  for (const auto& m : report.models) {
    pk.pack_map(13);
    pk.pack("name"), pk.pack(m.name);
    pk.pack("kind"), pk.pack(models::KindName(m.kind));
    pk.pack("status"), pk.pack(models::ModelRunStatusName(m.status));
    pk.pack("start_ds"), pk.pack(m.start_ds);
    pk.pack("end_ds"), pk.pack(m.end_ds);
    pk.pack("rows"), pk.pack(m.rows);
    pk.pack("ms"), pk.pack(m.milliseconds);
    pk.pack("action"), pk.pack(models::ActionName(m.action));
    pk.pack("reason"), pk.pack(m.reason);
    pk.pack("version"), pk.pack(m.version);
    pk.pack("inserted"), pk.pack(m.inserted);
    pk.pack("updated"), pk.pack(m.updated);
    pk.pack("intervals"), pk.pack_array(static_cast<std::uint32_t>(m.intervals.size()));
    for (const models::DayRange& d : m.intervals) {
      pk.pack_map(2);
      pk.pack("start"), pk.pack(d.from);
      pk.pack("end"), pk.pack(d.to);
    }
  }
}

}  // namespace

void RunTransformSql(const JobContext& job, const CancelToken& cancel, proto::JobResult* result) {
  proto::MapReader params(job.params, "transform.sql params");
  std::string dir;
  bool load = true;
  models::RunOptions options;
  params.Str("models", &dir, 4096, true);
  params.Str("start_ds", &options.start_ds, 10, false);
  params.Str("end_ds", &options.end_ds, 10, false);
  ReadParamBool(params, "load", &load, false);
  ReadParamBool(params, "full_refresh", &options.full_refresh, false);
  ReadStringList(params, "select", &options.select);
  if (!params.ok()) return SetBadParams(params.status(), result);
  options.cancelled = [&cancel] { return cancel.stopped(); };
  // Only under the worker's models roots (models_roots.h).
  auto confined = ConfineToModelsRoots("models", dir, job.settings.models_roots);
  if (!confined.ok()) return RefuseModelsPath(proto::kind::kTransformSql, confined.status(), result);
  std::string param = std::move(dir);
  dir = std::move(confined.value());

  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    result->outcome = Outcome::kFailed;
    result->retryable = false;
    result->error = "transform.sql: no models folder " + dir + " (" +
                    DescribeResolution("models", param, job.settings.models_roots) + ")";
    return;
  }
  std::string sources = (std::filesystem::path(dir) / "sources.toml").string();
  load = load && std::filesystem::exists(sources, ec);
  if (load) {  // it may be a symlink
    auto file = ConfineToModelsRoots("models", sources, job.settings.models_roots);
    if (!file.ok()) return RefuseModelsPath(proto::kind::kTransformSql, file.status(), result);
    sources = std::move(file.value());
  }
  // A folder whose [project] says engine = "postgres" runs on the database
  // libpq's environment names (pipeline/postgres), not on --lakehouse.
  auto engine = postgres::ReadProjectEngine(dir);
  if (!engine.ok()) {
    result->outcome = Outcome::kFailed;
    result->retryable = false;
    result->error = "transform.sql: " + engine.status().message();
    return;
  }
  if (*engine == postgres::Engine::kPostgres) {
    auto pg = postgres::PgConnection::FromEnvironment();
    if (!pg.ok()) return FailFromStatus(proto::kind::kTransformSql, pg.status(), cancel, result);
    lakehouse::LoadReport loaded;
    if (load) {
      auto report = LoadSourcesFile(**pg, sources, job.settings, cancel);
      if (!report.ok()) return FailFromStatus("transform.sql: load", report.status(), cancel, result);
      loaded = std::move(*report);
    }
    models::RunReport run;
    Status s = postgres::RunModelsFolder(**pg, dir, options, &run);
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> pk(buffer);
    pk.pack_map(2);
    pk.pack("load"), PackLoadReport(pk, loaded);
    pk.pack("models"), PackModels(pk, run);
    result->outputs.assign(buffer.data(), buffer.size());
    if (!s.ok()) FailFromStatus(proto::kind::kTransformSql, s, cancel, result);
    return;
  }
  Database db;
  if (Status s = lakehouse::OpenLakehouse(db, job.settings.lakehouse_path); !s.ok())
    return FailFromStatus(proto::kind::kTransformSql, s, cancel, result);

  lakehouse::LoadReport loaded;
  if (load) {
    auto report = LoadSourcesFile(db, sources, job.settings, cancel);
    if (!report.ok()) return FailFromStatus("transform.sql: load", report.status(), cancel, result);
    loaded = std::move(*report);
  }
  models::RunReport run;
  Status s = models::RunModelsFolder(db, dir, options, &run);
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  pk.pack_map(2);
  pk.pack("load"), PackLoadReport(pk, loaded);
  pk.pack("models"), PackModels(pk, run);
  result->outputs.assign(buffer.data(), buffer.size());
  if (!s.ok()) FailFromStatus(proto::kind::kTransformSql, s, cancel, result);
}

}  // namespace sluice::worker
