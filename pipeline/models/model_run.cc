#include "pipeline/models/model_run.h"

#include <algorithm>
#include <chrono>

#include "pipeline/models/iso_day.h"
#include "pipeline/models/model_build.h"
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

Status RunModels(Database& db, const ModelSet& set, const RunOptions& options, RunReport* report) {
  report->models.clear();
  const std::string end_ds = options.end_ds.empty() ? TodayUtc() : options.end_ds;
  if (!IsIsoDay(end_ds)) return Status::InvalidArgument("end_ds '" + end_ds + "' is not a date 'YYYY-MM-DD'");
  if (!options.start_ds.empty() && !IsIsoDay(options.start_ds))
    return Status::InvalidArgument("start_ds '" + options.start_ds + "' is not a date 'YYYY-MM-DD'");
  if (!options.start_ds.empty() && options.start_ds > end_ds)
    return Status::InvalidArgument("start_ds " + options.start_ds + " is after end_ds " + end_ds);
  std::string unknown;
  for (const std::string& name : options.select)
    if (!set.Find(name)) unknown += (unknown.empty() ? "" : ", ") + name;
  if (!unknown.empty()) return Status::NotFound("no such model: " + unknown);

  for (const Model& m : set.models) {
    if (!options.select.empty() &&
        std::find(options.select.begin(), options.select.end(), m.name) == options.select.end())
      continue;
    ModelRunResult r;
    r.name = m.name;
    r.kind = m.kind;
    r.end_ds = end_ds;
    r.start_ds = options.start_ds.empty() ? m.start.value_or(end_ds) : options.start_ds;
    if (m.start && *m.start > r.start_ds) r.start_ds = *m.start;
    report->models.push_back(std::move(r));
  }

  ProgressGuard guard(db, options.cancelled);
  Status result;
  for (ModelRunResult& r : report->models) {
    if (!result.ok()) {
      r.error = result.code() == Code::kUnavailable ? "cancelled" : "not run: an earlier model failed";
      continue;
    }
    if (options.cancelled && options.cancelled()) {
      result = Status::Unavailable("cancelled");
      r.error = "cancelled";
      continue;
    }
    if (r.start_ds > r.end_ds) {
      r.error = "nothing to build: the model starts on " + r.start_ds + ", after " + r.end_ds;
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto rows = BuildModel(db, *set.Find(r.name), r.start_ds, r.end_ds);
    r.milliseconds = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (rows.ok()) {
      r.status = ModelRunStatus::kBuilt;
      r.rows = *rows;
      continue;
    }
    if (options.cancelled && options.cancelled()) {
      r.error = "cancelled";
      result = Status::Unavailable("cancelled");
    } else {
      r.status = ModelRunStatus::kFailed;
      r.error = rows.status().message();
      result = rows.status();
    }
  }
  return result;
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
  TextTable table({"model", "kind", "status", "interval", "rows", "ms"});
  std::string errors;
  for (const ModelRunResult& r : report.models) {
    table.AddRow({r.name, KindName(r.kind), ModelRunStatusName(r.status), r.start_ds + ".." + r.end_ds,
                  r.status == ModelRunStatus::kBuilt ? std::to_string(r.rows) : "-",
                  r.status == ModelRunStatus::kSkipped ? "-" : std::to_string(r.milliseconds)});
    if (!r.error.empty()) errors += "\n" + r.name + ": " + r.error;
  }
  return table.Render() + errors + (errors.empty() ? "" : "\n");
}

}  // namespace sluice::models
