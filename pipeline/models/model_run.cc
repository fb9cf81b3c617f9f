#include "pipeline/models/model_run.h"

#include <algorithm>
#include <chrono>

#include "pipeline/models/iso_day.h"
#include "pipeline/models/model_build.h"
#include "pipeline/models/model_state.h"
#include "pipeline/models/sql_rows.h"
#include "pipeline/models/sql_tokens.h"
#include "pipeline/models/text_table.h"

namespace sluice::models {

namespace {

int CancelCallback(void* arg) {
  const auto* cancelled = static_cast<const std::function<bool()>*>(arg);
  return (*cancelled)() ? 1 : 0;
}

// Installs the cancel check as SQLite's progress handler for its lifetime.
class ProgressGuard {
 public:
  ProgressGuard(Database& db, std::function<bool()> cancelled) : db_(db), cancelled_(std::move(cancelled)) {
    if (cancelled_) sqlite3_progress_handler(db_.handle(), 10000, CancelCallback, &cancelled_);
  }
  ~ProgressGuard() { sqlite3_progress_handler(db_.handle(), 0, nullptr, nullptr); }
  ProgressGuard(const ProgressGuard&) = delete;
  ProgressGuard& operator=(const ProgressGuard&) = delete;

 private:
  Database& db_;
  std::function<bool()> cancelled_;
};

}  // namespace

const char* ModelRunStatusName(ModelRunStatus s) {
  switch (s) {
    case ModelRunStatus::kBuilt: return "built";
    case ModelRunStatus::kFailed: return "failed";
    case ModelRunStatus::kSkipped: return "skipped";
  }
  return "?";
}

namespace {

// One model's build and its record, in one SAVEPOINT (inside it, BuildModel
// opens its own).
class ModelTransaction {
 public:
  explicit ModelTransaction(Database& db) : db_(db) {}
  ModelTransaction(const ModelTransaction&) = delete;
  ModelTransaction& operator=(const ModelTransaction&) = delete;
  ~ModelTransaction() {
    if (!open_) return;
    if (sqlite3_get_autocommit(db_.handle())) return;
    (void)db_.Exec("ROLLBACK TO sluice_model_run");
    (void)db_.Exec("RELEASE sluice_model_run");
  }
  Status Begin() {
    Status s = db_.Exec("SAVEPOINT sluice_model_run");
    open_ = s.ok();
    return s;
  }
  Status Commit() {
    open_ = false;
    return db_.Exec("RELEASE sluice_model_run");
  }

 private:
  Database& db_;
  bool open_ = false;
};

// Builds `m` as `action` says and records it; the rows built (summed over
// an incremental model's ranges) and the build version go into `r`.
Status BuildAndRecord(Database& db, const ModelSet& set, const Model& m, const ModelAction& action,
                      ModelRunResult* r) {
  ModelTransaction tx(db);
  if (Status s = tx.Begin(); !s.ok()) return Status::IOError(m.name + ": " + s.message());
  if (action.rebuild) {
    auto type = ObjectType(db, m.name);
    if (!type.ok()) return type.status();
    if (!type->empty()) {
      Status s = db.Exec((*type == "view" ? "DROP VIEW " : "DROP TABLE ") + QuoteIdentifier(m.name));
      if (!s.ok()) return Status::IOError(m.name + ": " + s.message());
    }
  }
  if (m.kind == ModelKind::kIncrementalByTimeRange) {
    for (const DayRange& range : action.intervals) {
      auto rows = BuildModel(db, m, range.from, range.to);
      if (!rows.ok()) return rows.status();
      r->rows += *rows;
    }
  } else {
    UpsertCounts counts;
    auto rows = BuildModel(db, m, r->start_ds, r->end_ds, &counts);
    if (!rows.ok()) return rows.status();
    r->rows = *rows;
    r->inserted = counts.inserted;
    r->updated = counts.updated;
  }
  BuildRecord record;
  record.kind = KindName(m.kind);
  record.fingerprint = action.fingerprint;
  auto inputs = CurrentVersions(db, EffectiveInputs(set, m));
  if (!inputs.ok()) return inputs.status();
  record.inputs = std::move(*inputs);
  auto version = RecordBuild(db, Lower(m.name), record);
  if (!version.ok()) return version.status();
  r->version = *version;
  for (std::size_t i = 0; i < action.intervals.size(); ++i) {
    Status s = RecordDays(db, Lower(m.name), action.fingerprint, *version, action.intervals[i].from,
                          action.intervals[i].to, action.rebuild && i == 0);
    if (!s.ok()) return s;
  }
  return tx.Commit();
}

}  // namespace

Status CheckRunOptions(const ModelSet& set, const RunOptions& options, std::string* end_ds) {
  *end_ds = options.end_ds.empty() ? TodayUtc() : options.end_ds;
  if (!IsIsoDay(*end_ds)) return Status::InvalidArgument("end_ds '" + *end_ds + "' is not a date 'YYYY-MM-DD'");
  if (!options.start_ds.empty() && !IsIsoDay(options.start_ds))
    return Status::InvalidArgument("start_ds '" + options.start_ds + "' is not a date 'YYYY-MM-DD'");
  if (!options.start_ds.empty() && options.start_ds > *end_ds)
    return Status::InvalidArgument("start_ds " + options.start_ds + " is after end_ds " + *end_ds);
  std::string unknown;
  for (const std::string& name : options.select)
    if (!set.Find(name)) unknown += (unknown.empty() ? "" : ", ") + name;
  for (const std::string& name : options.backfill_models)
    if (!set.Find(name)) unknown += (unknown.empty() ? "" : ", ") + name;
  if (!unknown.empty()) return Status::NotFound("no such model: " + unknown);
  return Status::Ok();
}

Status ExecuteRun(const ModelSet& set, const ModelState& state, const RunOptions& options, const std::string& end_ds,
                  const BuildStep& build, RunReport* report) {
  ActionOptions decide;
  decide.end_ds = end_ds;
  decide.select = options.select;
  if (!options.start_ds.empty()) decide.backfill = DayRange{options.start_ds, end_ds};
  decide.backfill_models = options.backfill_models;
  decide.full_refresh = options.full_refresh;
  const std::vector<ModelAction> actions = DecideActions(set, state, decide);

  for (const ModelAction& a : actions) {
    const Model& m = *set.Find(a.name);
    ModelRunResult r;
    r.name = m.name;
    r.kind = m.kind;
    r.action = a.action;
    r.reason = a.reason;
    r.intervals = a.intervals;
    r.end_ds = end_ds;
    r.start_ds = options.start_ds.empty() ? m.start.value_or(end_ds) : options.start_ds;
    if (m.start && *m.start > r.start_ds) r.start_ds = *m.start;
    if (!a.intervals.empty()) {
      r.start_ds = a.intervals.front().from;
      r.end_ds = a.intervals.back().to;
    }
    report->models.push_back(std::move(r));
  }

  Status result;
  for (std::size_t i = 0; i < actions.size(); ++i) {
    ModelRunResult& r = report->models[i];
    if (!result.ok()) {
      r.error = result.code() == Code::kUnavailable ? "cancelled" : "not run: an earlier model failed";
      continue;
    }
    if (options.cancelled && options.cancelled()) {
      result = Status::Unavailable("cancelled");
      r.error = "cancelled";
      continue;
    }
    if (actions[i].action == Action::kSkip) continue;
    const auto t0 = std::chrono::steady_clock::now();
    Status built = build(*set.Find(r.name), actions[i], &r);
    r.milliseconds = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (built.ok()) {
      r.status = ModelRunStatus::kBuilt;
      continue;
    }
    r.rows = 0;
    if ((options.cancelled && options.cancelled()) || built.code() == Code::kUnavailable) {
      r.error = "cancelled";
      result = Status::Unavailable("cancelled");
    } else {
      r.status = ModelRunStatus::kFailed;
      r.error = built.message();
      result = built;
    }
  }
  return result;
}

Status RunModels(Database& db, const ModelSet& set, const RunOptions& options, RunReport* report) {
  report->models.clear();
  std::string end_ds;
  if (Status s = CheckRunOptions(set, options, &end_ds); !s.ok()) return s;
  auto state = ModelState::Read(db);
  if (!state.ok()) return state.status();
  ProgressGuard guard(db, options.cancelled);
  return ExecuteRun(set, *state, options, end_ds,
                    [&](const Model& m, const ModelAction& a, ModelRunResult* r) {
                      return BuildAndRecord(db, set, m, a, r);
                    },
                    report);
}

Result<std::set<std::string>> ListRawTables(Database& db) {
  auto st = db.Prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name LIKE 'raw\\_%' ESCAPE '\\'");
  if (!st.ok()) return st.status();
  std::set<std::string> names;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) names.insert(Lower(st->Text(0)));
  if (rc != SQLITE_DONE) return Status::IOError(st->error());
  return names;
}

Status RunModelsFolder(Database& db, const std::filesystem::path& dir, const RunOptions& options, RunReport* report) {
  report->models.clear();
  auto raw = ListRawTables(db);
  if (!raw.ok()) return raw.status();
  auto set = LoadModelSet(dir, *raw);
  if (!set.ok()) return set.status();
  return RunModels(db, *set, options, report);
}

std::string FormatRunReport(const RunReport& report) {
  TextTable table({"model", "kind", "status", "interval", "rows", "ms", "reason"});
  std::string errors;
  for (const ModelRunResult& r : report.models) {
    std::string interval = r.start_ds + ".." + r.end_ds;
    if (!r.intervals.empty()) {
      interval.clear();
      for (const DayRange& d : r.intervals) interval += (interval.empty() ? "" : ", ") + FormatDayRange(d);
    }
    table.AddRow({r.name, KindName(r.kind), ModelRunStatusName(r.status), interval,
                  r.status == ModelRunStatus::kBuilt ? std::to_string(r.rows) : "-",
                  r.status == ModelRunStatus::kSkipped ? "-" : std::to_string(r.milliseconds), r.reason});
    if (!r.error.empty()) errors += "\n" + r.name + ": " + r.error;
  }
  return table.Render() + errors + (errors.empty() ? "" : "\n");
}

}  // namespace sluice::models
