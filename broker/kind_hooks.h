// KindHooks: what the broker does differently for a job because of its kind.
// The lifecycle asks the table (kind_hook_table.h) for a kind's hooks at
// three points — a job submitted without a concurrency key, an attempt
// dispatched, an attempt ended — and never tests a kind name itself.
//
// The stock hooks:
//   - extract.http (ExtractRuns, extract_runs.h): a key per source, the
//     extraction_runs row of each attempt, the cursor sent with it;
//   - every other kind (CustomExtractionHooks, extract_runs.h): the same
//     for a job whose params mark it as an extraction run (PROTOCOL.md
//     §5.9), nothing for the others;
//   - load, transform.sql, export.serving (LakehouseHooks): the lakehouse is
//     one SQLite file with one writer, so they share the key "lakehouse"
//     with limit 1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "broker/job.h"
#include "broker/metric_counters.h"
#include "schemas/job_state.h"
#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::broker {

class KindHooks {
 public:
  virtual ~KindHooks() = default;
  // The state database is open (at start, and again after a reload).
  // `metrics`: its persisted counters (JobStore::metrics()), for hooks that
  // count what their kind did.
  virtual Status Prepare(Database& db, MetricCounters* metrics) {
    (void)db, (void)metrics;
    return Status::Ok();
  }
  // The concurrency key and limit of a job whose SUBMIT names no key; leaves
  // them untouched for none.
  virtual void DefaultConcurrency(std::string_view params, std::string* key, std::uint32_t* limit) const {
    (void)params, (void)key, (void)limit;
  }
  // Attempt `job.attempt` is being dispatched (written in the same
  // transaction); *params_out is what the worker is sent.
  virtual Status OnDispatch(const Job& job, std::int64_t now_ms, std::string* params_out) {
    (void)now_ms;
    *params_out = job.params;
    return Status::Ok();
  }
  // The job's current attempt ended (`outputs`: the RESULT's map, may be empty).
  virtual Status OnEnd(const Job& job, Outcome outcome, std::string_view error, std::string_view outputs,
                       std::int64_t now_ms) {
    (void)job, (void)outcome, (void)error, (void)outputs, (void)now_ms;
    return Status::Ok();
  }
};

// The lakehouse's single writer.
inline constexpr char kLakehouseConcurrencyKey[] = "lakehouse";

class LakehouseHooks : public KindHooks {
 public:
  void DefaultConcurrency(std::string_view params, std::string* key, std::uint32_t* limit) const override;
};

}  // namespace sluice::broker
