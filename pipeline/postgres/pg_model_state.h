// The model state on PostgreSQL: the same facts as the SQLite lakehouse's
// (pipeline/models/model_state.h), kept in the `sluice` schema
// (pg_lakehouse.h): sluice.model_builds, sluice.model_intervals and the
// load ledger sluice.loaded_files. ReadModelState fills a models::ModelState
// from them, so the engine-agnostic DecideActions (model_actions.h) decides
// on PostgreSQL exactly as on SQLite: only what changed is built, and an
// incremental model processes only the days it is missing.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "pipeline/models/model_state.h"
#include "pipeline/postgres/pg_connection.h"
#include "schemas/status.h"

namespace sluice::postgres {

// Builds, days, loads, and the tables and views of the raw and layer
// schemas (lowercase). The state tables must exist (EnsureLakehouse).
Result<models::ModelState> ReadModelState(PgConnection& c);

// The model's build row, replaced, with the next build version (the
// largest recorded + 1), which it returns. Inside the build's transaction.
Result<std::int64_t> RecordBuild(PgConnection& c, std::string_view model, const models::BuildRecord& record);

// Days [from, to] of `model` processed by build `version` with
// `fingerprint`; with `forget_others`, every other day of the model is
// forgotten first (the table was rebuilt from scratch).
Status RecordDays(PgConnection& c, std::string_view model, std::string_view fingerprint, std::int64_t version,
                  std::string_view from, std::string_view to, bool forget_others);

// Each table's version now: raw_* its largest load_id, a model its build
// version (0 when unknown).
Result<std::map<std::string, std::int64_t>> CurrentVersions(PgConnection& c, const std::set<std::string>& tables);

}  // namespace sluice::postgres
