#include "pipeline/postgres/pg_model_run.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "pipeline/models/iso_day.h"
#include "pipeline/models/model_actions.h"
#include "pipeline/models/model_file.h"
#include "pipeline/models/sql_tokens.h"
#include "pipeline/postgres/pg_lakehouse.h"
#include "pipeline/postgres/pg_model_build.h"
#include "pipeline/postgres/pg_model_state.h"

namespace sluice::postgres {

using models::Action;
using models::DayRange;
using models::Model;
using models::ModelAction;
using models::ModelRunResult;
using models::ModelRunStatus;

Result<std::set<std::string>> ListRawTables(PgConnection& c) {
  auto r = c.Query(
      "SELECT lower(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = 'raw' AND c.relkind IN ('r', 'v', 'm', 'p') AND c.relname LIKE 'raw\\_%'");
  if (!r.ok()) return r.status();
  std::set<std::string> names;
  for (int i = 0; i < r->rows(); ++i) names.insert(r->Text(i, 0));
  return names;
}

Result<models::ModelSet> LoadModelSet(PgConnection& c, const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  if (Status s = EnsureLakehouse(c); !s.ok()) return s;
  auto raw = ListRawTables(c);
  if (!raw.ok()) return raw.status();
  auto set = models::LoadModelSet(dir, *raw);
  if (!set.ok()) return set.status();
  std::string problems;
  for (Model& m : set->models) {
    const std::string rel = m.path.substr(0, m.path.size() - 4) + kVariantSuffix;  // "staging/x" + ".postgres.sql"
    std::error_code ec;
    if (!fs::is_regular_file(dir / rel, ec)) continue;
    std::ifstream in(dir / rel, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in.is_open() || in.bad()) {
      problems += rel + ": cannot read the file\n";
      continue;
    }
    auto variant = models::ParseModelFile(text.str(), rel);
    if (!variant.ok()) {
      problems += variant.status().message() + "\n";
      continue;
    }
    if (variant->name != m.name || variant->kind != m.kind ||
        models::Lower(variant->time_column) != models::Lower(m.time_column)) {
      problems += rel + ":" + std::to_string(variant->name_line) + ": the PostgreSQL variant of " + m.name +
                  " must name the same model with the same kind (and time column) as " + m.path + "\n";
      continue;
    }
    m.select_sql = variant->select_sql;
    m.select_line = variant->select_line;
    m.path = rel;
  }
  if (!problems.empty()) {
    problems.pop_back();
    return Status::InvalidArgument(problems);
  }
  return set;
}

namespace {

// Builds `m` as `action` says and records it, in one transaction.
Status BuildAndRecord(PgConnection& c, const models::ModelSet& set, const Model& m, const ModelAction& action,
                      ModelRunResult* r) {
  PgTransaction tx(c);
  if (Status s = tx.Begin(); !s.ok()) return s;
  std::vector<SavedView> views;
  if (action.rebuild) {
    auto saved = DropSavingViews(c, models::LayerName(m.layer), m.name);
    if (!saved.ok()) return Status::InvalidArgument(m.name + ": " + saved.status().message());
    views = std::move(*saved);
  }
  if (m.kind == models::ModelKind::kIncrementalByTimeRange) {
    for (const DayRange& range : action.intervals) {
      auto rows = BuildModel(c, m, range.from, range.to);
      if (!rows.ok()) return rows.status();
      r->rows += *rows;
    }
  } else {
    models::UpsertCounts counts;
    auto rows = BuildModel(c, m, r->start_ds, r->end_ds, &counts);
    if (!rows.ok()) return rows.status();
    r->rows = *rows;
    r->inserted = counts.inserted;
    r->updated = counts.updated;
  }
  if (Status s = RecreateViews(c, views); !s.ok()) return Status::InvalidArgument(m.name + ": " + s.message());
  models::BuildRecord record;
  record.kind = models::KindName(m.kind);
  record.fingerprint = action.fingerprint;
  auto inputs = CurrentVersions(c, models::EffectiveInputs(set, m));
  if (!inputs.ok()) return inputs.status();
  record.inputs = std::move(*inputs);
  auto version = RecordBuild(c, models::Lower(m.name), record);
  if (!version.ok()) return version.status();
  r->version = *version;
  for (std::size_t i = 0; i < action.intervals.size(); ++i) {
    Status s = RecordDays(c, models::Lower(m.name), action.fingerprint, *version, action.intervals[i].from,
                          action.intervals[i].to, action.rebuild && i == 0);
    if (!s.ok()) return s;
  }
  return tx.Commit();
}

}  // namespace

Status RunModels(PgConnection& c, const models::ModelSet& set, const models::RunOptions& options,
                 models::RunReport* report) {
  report->models.clear();
  std::string end_ds;
  if (Status s = models::CheckRunOptions(set, options, &end_ds); !s.ok()) return s;
  if (Status s = EnsureLakehouse(c); !s.ok()) return s;
  if (Status s = UseModelSearchPath(c); !s.ok()) return s;
  auto state = ReadModelState(c);
  if (!state.ok()) return state.status();
  c.SetCancelled(options.cancelled);
  struct Reset {
    PgConnection& c;
    ~Reset() { c.SetCancelled({}); }
  } reset{c};
  return models::ExecuteRun(set, *state, options, end_ds,
                            [&](const Model& m, const ModelAction& a, ModelRunResult* r) {
                              return BuildAndRecord(c, set, m, a, r);
                            },
                            report);
}

Status RunModelsFolder(PgConnection& c, const std::filesystem::path& dir, const models::RunOptions& options,
                       models::RunReport* report) {
  report->models.clear();
  auto set = LoadModelSet(c, dir);
  if (!set.ok()) return set.status();
  return RunModels(c, *set, options, report);
}

}  // namespace sluice::postgres
