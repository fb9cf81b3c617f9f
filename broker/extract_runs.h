// ExtractRuns: what the broker records for `extract.http` jobs (the worker
// stays stateless: it reports, the broker records).
//
// - At dispatch: a row in `extraction_runs` with status 'running', and the
//   job's params as sent gain `date` (the logical period, today UTC when the
//   job has none, so broker and worker expand the URL template alike) and
//   `cursor` {etag, last_modified} from `extract_cursors` for (source, URL).
// - When the attempt ends: the row gets finished_at, status 'success' or
//   'failed', the counts and cursor_value from the RESULT's outputs, or the
//   error; a success stores the new cursor for (source, fetched URL).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "broker/job.h"
#include "broker/kind_hooks.h"
#include "schemas/replies.h"
#include "broker/utc_text.h"
#include "schemas/sqlite_db.h"
#include "schemas/job_state.h"
#include "schemas/job_kinds.h"
#include "schemas/status.h"

namespace sluice::broker {

inline constexpr std::string_view kExtractKind = proto::kind::kExtractHttp;

// The hooks of extract.http (kind_hooks.h).
class ExtractRuns : public KindHooks {
 public:
  Status Prepare(Database& db, MetricCounters* metrics) override;
  // "extract.http:<source>" (DefaultExtractConcurrency below).
  void DefaultConcurrency(std::string_view params, std::string* key, std::uint32_t* limit) const override;
  // Records the run's start; *params_out is the params to send.
  Status OnDispatch(const Job& job, std::int64_t now_ms, std::string* params_out) override;
  // Records the end of the job's current attempt. `outputs` is the RESULT's
  // outputs map (may be empty).
  Status OnEnd(const Job& job, Outcome outcome, std::string_view error, std::string_view outputs,
               std::int64_t now_ms) override;
  // The newest runs (of `source`, when not empty), as PROTOCOL.md §6.8 objects.
  Result<std::vector<proto::ExtractionRow>> Recent(Database& db, const std::string& source, std::int64_t limit);

 private:
  Statement insert_run_, finish_run_, get_cursor_, put_cursor_;
  MetricCounters* metrics_ = nullptr;  // sluice_extract_files_total, sluice_extract_bytes_total
};

// The concurrency key and limit an extract job gets when it names none:
// "extract.http:<source>", params.concurrency_limit or 4.
void DefaultExtractConcurrency(std::string_view params, std::string* key, std::uint32_t* limit);

}  // namespace sluice::broker
