#include "broker/run_store.h"

namespace sluice::broker {
namespace {

constexpr char kRunColumns[] =
    "seq, workflow, state, trigger, logical_date, slot_ms, params, definition, created_ms, "
    "started_ms, finished_ms";

RunRow ReadRun(const Statement& st) {
  RunRow r;
  r.seq = st.Int(0);
  r.workflow = st.Text(1);
  r.state = st.Text(2);
  r.trigger = st.Text(3);
  r.logical_date = st.Text(4);
  if (!st.IsNull(5)) r.slot_ms = st.Int(5);
  r.params = st.Text(6);
  r.definition = st.Text(7);
  r.created_ms = st.Int(8);
  if (!st.IsNull(9)) r.started_ms = st.Int(9);
  if (!st.IsNull(10)) r.finished_ms = st.Int(10);
  return r;
}

void BindOptionalInt(Statement& st, int i, const std::optional<std::int64_t>& v) {
  if (v) st.Bind(i, *v);
  else st.BindNull(i);
}

}  // namespace

Status RunStore::Prepare(Database& db) {
  db_ = &db;
  const std::string cols = kRunColumns;
  struct P { Statement* st; std::string sql; };
  const P all[] = {
      {&save_seq_, "UPDATE counters SET value = ?1 WHERE name = 'next_run_seq'"},
      {&insert_run_, "INSERT INTO runs(" + cols + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"},
      {&update_run_, "UPDATE runs SET state = ?2, started_ms = ?3, finished_ms = ?4 WHERE seq = ?1"},
      {&upsert_stage_,
       "INSERT INTO run_stages(run_seq, stage, state, job_seq) VALUES (?1, ?2, ?3, ?4) "
       "ON CONFLICT(run_seq, stage) DO UPDATE SET state = excluded.state, job_seq = excluded.job_seq"},
      {&stages_, "SELECT stage, state, coalesce(job_seq, 0) FROM run_stages WHERE run_seq = ?1"},
      {&load_, "SELECT " + cols + " FROM runs WHERE seq = ?1"},
      {&find_by_job_, "SELECT run_seq, stage FROM run_stages WHERE job_seq = ?1"},
      {&active_, "SELECT " + cols + " FROM runs WHERE state = 'queued' OR state = 'running' ORDER BY seq"},
      {&insert_fire_, "INSERT INTO cron_fires(workflow, slot_ms, fired_ms, run_seq) VALUES (?1, ?2, ?3, ?4)"},
      {&last_fire_, "SELECT max(slot_ms) FROM cron_fires WHERE workflow = ?1"},
      {&paused_, "SELECT workflow FROM workflow_state WHERE paused = 1"},
      {&set_paused_,
       "INSERT INTO workflow_state(workflow, paused) VALUES (?1, ?2) "
       "ON CONFLICT(workflow) DO UPDATE SET paused = excluded.paused"},
  };
  for (const P& p : all) {
    auto st = db.Prepare(p.sql);
    if (!st.ok()) return st.status();
    *p.st = std::move(*st);
  }
  auto seq = db.Prepare("SELECT value FROM counters WHERE name = 'next_run_seq'");
  if (!seq.ok()) return seq.status();
  if (seq->Step() == SQLITE_ROW) next_run_seq_ = seq->Int(0);
  return Status::Ok();
}

std::int64_t RunStore::AllocateRunSeq() {
  std::int64_t seq = next_run_seq_++;
  save_seq_.Bind(1, next_run_seq_);
  (void)save_seq_.Run();  // a failure shows in the run insert that follows
  return seq;
}

Status RunStore::InsertRun(const RunRow& r) {
  insert_run_.Bind(1, r.seq).Bind(2, r.workflow).Bind(3, r.state).Bind(4, r.trigger).Bind(5, r.logical_date);
  BindOptionalInt(insert_run_, 6, r.slot_ms);
  insert_run_.Bind(7, r.params).Bind(8, r.definition).Bind(9, r.created_ms);
  BindOptionalInt(insert_run_, 10, r.started_ms);
  BindOptionalInt(insert_run_, 11, r.finished_ms);
  return insert_run_.Run();
}

Status RunStore::UpdateRun(const RunRow& r) {
  update_run_.Bind(1, r.seq).Bind(2, r.state);
  BindOptionalInt(update_run_, 3, r.started_ms);
  BindOptionalInt(update_run_, 4, r.finished_ms);
  return update_run_.Run();
}

Status RunStore::UpsertStage(std::int64_t run_seq, const StageRow& s) {
  upsert_stage_.Bind(1, run_seq).Bind(2, s.stage).Bind(3, s.state);
  if (s.job_seq) upsert_stage_.Bind(4, s.job_seq);
  else upsert_stage_.BindNull(4);
  return upsert_stage_.Run();
}

Result<std::vector<StageRow>> RunStore::Stages(std::int64_t run_seq) {
  std::vector<StageRow> out;
  stages_.Bind(1, run_seq);
  int rc;
  while ((rc = stages_.Step()) == SQLITE_ROW)
    out.push_back({std::string(stages_.Text(0)), std::string(stages_.Text(1)), stages_.Int(2)});
  std::string err = rc == SQLITE_DONE ? "" : stages_.error();
  stages_.Reset();
  if (!err.empty()) return Status::Internal(err);
  return out;
}

Result<std::optional<RunRow>> RunStore::Load(std::int64_t run_seq) {
  load_.Bind(1, run_seq);
  std::optional<RunRow> out;
  int rc = load_.Step();
  if (rc == SQLITE_ROW) out = ReadRun(load_);
  std::string err = rc == SQLITE_ROW || rc == SQLITE_DONE ? "" : load_.error();
  load_.Reset();
  if (!err.empty()) return Status::Internal(err);
  return out;
}

Result<std::optional<std::pair<std::int64_t, std::string>>> RunStore::FindByJob(std::int64_t job_seq) {
  find_by_job_.Bind(1, job_seq);
  std::optional<std::pair<std::int64_t, std::string>> out;
  int rc = find_by_job_.Step();
  if (rc == SQLITE_ROW) out.emplace(find_by_job_.Int(0), std::string(find_by_job_.Text(1)));
  std::string err = rc == SQLITE_ROW || rc == SQLITE_DONE ? "" : find_by_job_.error();
  find_by_job_.Reset();
  if (!err.empty()) return Status::Internal(err);
  return out;
}

Status RunStore::LoadActive(const std::function<void(RunRow&&)>& fn) {
  int rc;
  while ((rc = active_.Step()) == SQLITE_ROW) fn(ReadRun(active_));
  std::string err = rc == SQLITE_DONE ? "" : active_.error();
  active_.Reset();
  return err.empty() ? Status::Ok() : Status::Internal(err);
}

Result<std::vector<RunRow>> RunStore::List(const std::string& workflow, const std::string& state,
                                           std::int64_t limit) {
  auto st = db_->Prepare(std::string("SELECT ") + kRunColumns +
                         " FROM runs WHERE (?1 = '' OR workflow = ?1) AND (?2 = '' OR state = ?2) "
                         "ORDER BY seq DESC LIMIT ?3");
  if (!st.ok()) return st.status();
  st->Bind(1, workflow).Bind(2, state).Bind(3, limit);
  std::vector<RunRow> out;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) out.push_back(ReadRun(*st));
  if (rc != SQLITE_DONE) return Status::Internal(st->error());
  return out;
}

Status RunStore::InsertFire(const std::string& workflow, std::int64_t slot_ms, std::int64_t fired_ms,
                            std::int64_t run_seq) {
  insert_fire_.Bind(1, workflow).Bind(2, slot_ms).Bind(3, fired_ms).Bind(4, run_seq);
  return insert_fire_.Run();
}

Result<std::optional<std::int64_t>> RunStore::LastFire(const std::string& workflow) {
  last_fire_.Bind(1, workflow);
  std::optional<std::int64_t> out;
  int rc = last_fire_.Step();
  if (rc == SQLITE_ROW && !last_fire_.IsNull(0)) out = last_fire_.Int(0);
  std::string err = rc == SQLITE_ROW || rc == SQLITE_DONE ? "" : last_fire_.error();
  last_fire_.Reset();
  if (!err.empty()) return Status::Internal(err);
  return out;
}

Result<std::int64_t> RunStore::Prune(std::int64_t cutoff_ms, int max_rows) {
  // Runs first (a temp list, so stages and runs go by the same seqs).
  auto pick = db_->Prepare(
      "SELECT seq FROM runs WHERE finished_ms IS NOT NULL AND finished_ms < ?1 "
      "AND state <> 'queued' AND state <> 'running' ORDER BY seq LIMIT ?2");
  if (!pick.ok()) return pick.status();
  pick->Bind(1, cutoff_ms).Bind(2, static_cast<std::int64_t>(max_rows));
  std::vector<std::int64_t> seqs;
  int rc;
  while ((rc = pick->Step()) == SQLITE_ROW) seqs.push_back(pick->Int(0));
  if (rc != SQLITE_DONE) return Status::Internal(pick->error());
  auto del_stages = db_->Prepare("DELETE FROM run_stages WHERE run_seq = ?1");
  auto del_run = db_->Prepare("DELETE FROM runs WHERE seq = ?1");
  if (!del_stages.ok()) return del_stages.status();
  if (!del_run.ok()) return del_run.status();
  for (std::int64_t seq : seqs) {
    del_stages->Bind(1, seq);
    if (Status s = del_stages->Run(); !s.ok()) return s;
    del_run->Bind(1, seq);
    if (Status s = del_run->Run(); !s.ok()) return s;
  }
  auto fires = db_->Prepare(
      "DELETE FROM cron_fires WHERE fired_ms < ?1 AND slot_ms < "
      "(SELECT max(slot_ms) FROM cron_fires AS latest WHERE latest.workflow = cron_fires.workflow)");
  if (!fires.ok()) return fires.status();
  fires->Bind(1, cutoff_ms);
  if (Status s = fires->Run(); !s.ok()) return s;
  return static_cast<std::int64_t>(seqs.size());
}

Result<std::set<std::string>> RunStore::Paused() {
  std::set<std::string> out;
  int rc;
  while ((rc = paused_.Step()) == SQLITE_ROW) out.emplace(paused_.Text(0));
  std::string err = rc == SQLITE_DONE ? "" : paused_.error();
  paused_.Reset();
  if (!err.empty()) return Status::Internal(err);
  return out;
}

Status RunStore::SetPaused(const std::string& workflow, bool paused) {
  set_paused_.Bind(1, workflow).Bind(2, static_cast<std::int64_t>(paused ? 1 : 0));
  return set_paused_.Run();
}

}  // namespace sluice::broker
