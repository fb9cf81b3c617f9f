// RunStore: the workflow tables of the broker's state database (schema v3:
// runs, run_stages, cron_fires, workflow_state). Same connection and
// transaction as the JobStore, so a run, its stages' jobs and the cron fire
// that started it commit together.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::broker {

struct RunRow {
  std::int64_t seq = 0;
  std::string workflow;
  std::string state;         // queued | running | succeeded | failed | cancelled
  std::string trigger;       // manual | cron
  std::string logical_date;  // YYYY-MM-DD
  std::optional<std::int64_t> slot_ms;
  std::string params;        // JSON object
  std::string definition;    // JSON object
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> started_ms, finished_ms;
};

struct StageRow {
  std::string stage;
  std::string state;  // pending | submitted | succeeded | dead | cancelled | upstream_failed
  std::int64_t job_seq = 0;  // 0: none yet
};

class RunStore {
 public:
  Status Prepare(Database& db);

  std::int64_t AllocateRunSeq();  // persisted at once (same transaction)
  Status InsertRun(const RunRow& run);
  Status UpdateRun(const RunRow& run);  // state, started_ms, finished_ms
  Status UpsertStage(std::int64_t run_seq, const StageRow& stage);
  Result<std::vector<StageRow>> Stages(std::int64_t run_seq);
  Result<std::optional<RunRow>> Load(std::int64_t run_seq);
  // The run and stage a job belongs to.
  Result<std::optional<std::pair<std::int64_t, std::string>>> FindByJob(std::int64_t job_seq);
  // Runs queued or running, oldest first.
  Status LoadActive(const std::function<void(RunRow&&)>& fn);
  // Newest first. Empty workflow/state: any.
  Result<std::vector<RunRow>> List(const std::string& workflow, const std::string& state,
                                   std::int64_t limit);

  Status InsertFire(const std::string& workflow, std::int64_t slot_ms, std::int64_t fired_ms,
                    std::int64_t run_seq);
  Result<std::optional<std::int64_t>> LastFire(const std::string& workflow);

  // Deletes up to `max_rows` finished runs (with their stages) that ended
  // before `cutoff_ms`, and the cron fires recorded before it except each
  // workflow's latest (the one a restart must not fire again). Returns the
  // number of runs deleted.
  Result<std::int64_t> Prune(std::int64_t cutoff_ms, int max_rows);

  Result<std::set<std::string>> Paused();
  Status SetPaused(const std::string& workflow, bool paused);

 private:
  Database* db_ = nullptr;
  std::int64_t next_run_seq_ = 1;
  Statement save_seq_, insert_run_, update_run_, upsert_stage_, stages_, load_, find_by_job_,
      active_, insert_fire_, last_fire_, paused_, set_paused_;
};

}  // namespace sluice::broker
