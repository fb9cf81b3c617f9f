// export.serving: the lakehouse's serving_ tables into a new analytics
// database, swapped in atomically (pipeline/serving/serving_export.h).
#include <msgpack.hpp>

#include <filesystem>
#include <string>

#include "pipeline/serving/serving_export.h"
#include "workers/builtin_handlers.h"
#include "workers/job_params.h"

namespace sluice::worker {

void RunExportServing(const JobContext& job, const CancelToken& cancel, proto::JobResult* result) {
  proto::MapReader params(job.params, "export.serving params");
  std::string serving = job.settings.serving_path;
  // The worker's --serving unless the job names another file.
  params.Str("serving", &serving, 4096, false);
  if (params.ok() && serving.empty()) params.Fail("field 'serving' must not be empty");
  if (!params.ok()) return SetBadParams(params.status(), result);

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

  auto report = serving::ExportServing(lakehouse, serving, [&cancel] { return cancel.stopped(); });
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
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  pk.pack_map(5);
  pk.pack("version"), pk.pack(report->version);
  pk.pack("path"), pk.pack(serving);
  pk.pack("tables"), pk.pack_map(static_cast<std::uint32_t>(report->tables.size()));
  for (const auto& t : report->tables) pk.pack(t.name), pk.pack(t.rows);
  pk.pack("rows"), pk.pack(report->rows);
  pk.pack("bytes"), pk.pack(report->bytes);
  result->outputs.assign(buffer.data(), buffer.size());
}

}  // namespace sluice::worker
