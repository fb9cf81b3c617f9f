// What a run does with each model, and why: the changed-only rules.
//
//   FULL   builds when it was never built here (no build recorded, or its
//          table is gone), when its fingerprint changed ("sql changed"), or
//          when a table it reads changed since its build: a raw table loaded
//          files ("upstream raw_x loaded 2 files"), a model was built again
//          ("upstream staging_x rebuilt"), or a model it reads builds earlier
//          in the same run ("upstream staging_x builds in this run").
//          Otherwise it is skipped.
//   INCREMENTAL_BY_UNIQUE_KEY
//          as FULL (its rows are upserted by key); never built or a new
//          fingerprint: the table is rebuilt from scratch.
//   VIEW   is (re)created only when new or its fingerprint changed; it reads
//          its upstream when queried. A model reading a view depends on what
//          the view reads.
//   INCREMENTAL_BY_TIME_RANGE
//          processes days (action "backfill"): the days from its `start` (or
//          the first day it processed, or the run's end day) to the run's end
//          day that it has not processed with its current fingerprint
//          ("missing intervals 2026-11-29..2026-12-03"); with a new
//          fingerprint, or never built, the whole history, the table rebuilt
//          from scratch; a backfill's days on request; the `lookback` days
//          before the end day whenever it processes days; and, when a table
//          it reads changed but no day is missing, the end day (and its
//          lookback days) again: the days still being filled. Otherwise it
//          is skipped.
//
// A full refresh builds every model and reprocesses every incremental
// model's history.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pipeline/models/model.h"
#include "pipeline/models/model_set.h"
#include "pipeline/models/model_state.h"
#include "schemas/status.h"

namespace sluice::models {

enum class Action { kBuild, kSkip, kBackfill };
const char* ActionName(Action action);  // "build", "skip", "backfill"

// Days 'YYYY-MM-DD', both included.
struct DayRange {
  std::string from;
  std::string to;
};
std::string FormatDayRange(const DayRange& r);  // "a..b", or "a" for one day

struct ModelAction {
  std::string name;
  Action action = Action::kSkip;
  std::string reason;
  std::vector<DayRange> intervals;  // incremental, backfill: the days to process, in order
  bool rebuild = false;             // incremental: drop the table and its recorded days first
  std::string fingerprint;
};

struct ActionOptions {
  std::string end_ds;                // the run's end day (resolved, not empty)
  std::vector<std::string> select;   // empty: every model; otherwise just these
  // Days that incremental models process again whether processed or not:
  // the models in `backfill_models`, every incremental model when empty.
  std::optional<DayRange> backfill;
  std::vector<std::string> backfill_models;
  bool full_refresh = false;
};

// The action of each selected model of `set`, in run order.
std::vector<ModelAction> DecideActions(const ModelSet& set, const ModelState& state, const ActionOptions& options);

// What `model` depends on for change tracking: the tables it reads, with a
// view replaced by what the view reads (transitively). Lowercase.
std::set<std::string> EffectiveInputs(const ModelSet& set, const Model& model);

}  // namespace sluice::models
