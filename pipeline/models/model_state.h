// What the lakehouse remembers of the models' builds (tables created by the
// lakehouse schema, version 2: pipeline/lakehouse/lakehouse_schema.h):
//
//   _sluice_model_builds      one row per model: the fingerprint of the SQL it
//                             was last built from, its build version (one
//                             counter for the whole lakehouse, +1 per build),
//                             and the version of every table it read then
//                             (a raw table's largest load_id, a model's build
//                             version).
//   _sluice_model_intervals   one row per day an incremental model processed,
//                             with the fingerprint it was processed with.
//
// A run compares these with the models folder and the load ledger to decide
// what to build (model_actions.h); each build writes its row in the same
// transaction as its data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::models {

struct BuildRecord {
  std::string kind;
  std::string fingerprint;
  std::int64_t version = 0;
  std::string built_at;
  std::map<std::string, std::int64_t> inputs;  // table (lowercase) -> its version when read
};

// A read of the model state and of the load ledger, taken before a run or a
// plan. Missing tables (a lakehouse that never ran a model, or none at all)
// read as empty.
class ModelState {
 public:
  static Result<ModelState> Read(Database& db);

  const BuildRecord* Build(std::string_view model) const;
  // Days the model processed with `fingerprint`, sorted.
  std::set<std::string> Days(std::string_view model, std::string_view fingerprint) const;
  // The first day recorded for `model`, whatever its fingerprint.
  std::optional<std::string> FirstDay(std::string_view model) const;
  // A raw table's version: the largest load_id of its files (0: none loaded).
  std::int64_t RawVersion(std::string_view raw_table) const;
  // Files loaded into `raw_table` with a load_id above `load_id`.
  std::int64_t FilesLoadedSince(std::string_view raw_table, std::int64_t load_id) const;
  // Tables and views that exist in the lakehouse (lowercase).
  bool Exists(std::string_view table) const { return objects_.count(std::string(table)) > 0; }

  // For another engine's reader (the same facts from its own tables).
  void AddBuild(std::string model, BuildRecord record) { builds_[std::move(model)] = std::move(record); }
  void AddDay(std::string model, std::string day, std::string fingerprint) {
    days_[std::move(model)][std::move(day)] = std::move(fingerprint);
  }
  void AddLoad(std::string raw_table, std::int64_t load_id) { loads_[std::move(raw_table)].insert(load_id); }
  void AddObject(std::string table) { objects_.insert(std::move(table)); }

 private:
  std::map<std::string, BuildRecord, std::less<>> builds_;
  std::map<std::string, std::map<std::string, std::string>, std::less<>> days_;  // model -> day -> fingerprint
  std::map<std::string, std::set<std::int64_t>, std::less<>> loads_;  // raw table -> load_ids
  std::set<std::string> objects_;
};

// Writes `model`'s build row (replacing the previous one) with the next
// build version, which it returns. Call inside the build's transaction.
Result<std::int64_t> RecordBuild(Database& db, std::string_view model, const BuildRecord& record);

// Records days [from, to] of `model` as processed by build `version` with
// `fingerprint`. With `forget_others`, every other day recorded for the
// model is forgotten first (the table was rebuilt from scratch).
Status RecordDays(Database& db, std::string_view model, std::string_view fingerprint, std::int64_t version,
                  std::string_view from, std::string_view to, bool forget_others);

// The current version of each table in `tables`: raw tables (raw_*) their
// largest load_id, models their build version (0 when unknown). Read inside
// the build's transaction, after upstream builds.
Result<std::map<std::string, std::int64_t>> CurrentVersions(Database& db, const std::set<std::string>& tables);

}  // namespace sluice::models
