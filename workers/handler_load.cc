// load: new landing files into the lakehouse's raw tables
// (pipeline/lakehouse/raw_loader.h), as declared by a sources file.
#include <filesystem>
#include <string>

#include "pipeline/lakehouse/lakehouse_db.h"
#include "schemas/job_kinds.h"
#include "workers/builtin_handlers.h"
#include "workers/job_params.h"
#include "workers/lakehouse_step.h"
#include "workers/models_roots.h"

namespace sluice::worker {

void RunLoad(const JobContext& job, const CancelToken& cancel, proto::JobResult* result) {
  proto::MapReader params(job.params, "load params");
  std::string models, sources;
  params.Str("models", &models, 4096, false);
  params.Str("sources", &sources, 4096, false);
  if (params.ok() && models.empty() == sources.empty())
    params.Fail("give either 'models' (a models folder with sources.toml) or 'sources' (a file)");
  if (!params.ok()) return SetBadParams(params.status(), result);
  // Only under the worker's models roots; the sources file a models folder
  // implies is checked too (it may be a symlink).
  const std::vector<std::string>& roots = job.settings.models_roots;
  std::string how;  // how the param became the path, for "no such file"
  if (sources.empty()) {
    auto folder = ConfineToModelsRoots("models", models, roots);
    if (!folder.ok()) return RefuseModelsPath(proto::kind::kLoad, folder.status(), result);
    sources = (std::filesystem::path(*folder) / "sources.toml").string();
    auto file = ConfineToModelsRoots("models", sources, roots);
    if (!file.ok()) return RefuseModelsPath(proto::kind::kLoad, file.status(), result);
    sources = std::move(file.value());
    how = DescribeResolution("models", models, roots);
  } else {
    how = DescribeResolution("sources", sources, roots);
    auto file = ConfineToModelsRoots("sources", sources, roots);
    if (!file.ok()) return RefuseModelsPath(proto::kind::kLoad, file.status(), result);
    sources = std::move(file.value());
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(sources, ec)) {
    result->outcome = Outcome::kFailed;
    result->retryable = false;
    result->error = "load: no sources file " + sources + " (" + how + ")";
    return;
  }

  Database db;
  if (Status s = lakehouse::OpenLakehouse(db, job.settings.lakehouse_path); !s.ok())
    return FailFromStatus(proto::kind::kLoad, s, cancel, result);
  auto report = LoadSourcesFile(db, sources, job.settings, cancel);
  if (!report.ok()) return FailFromStatus(proto::kind::kLoad, report.status(), cancel, result);
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  PackLoadReport(pk, *report);
  result->outputs.assign(buffer.data(), buffer.size());
}

}  // namespace sluice::worker
