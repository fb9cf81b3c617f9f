// A run of a models folder on PostgreSQL: the same contract as
// pipeline/models/model_run.h (options, report, changed-only decisions by
// DecideActions, stop at the first failure), with the state in the
// `sluice` schema (pg_model_state.h) and each model's build and its state
// rows in ONE transaction under the writer lock.
//
// Engine variants: a model file `x.sql` may have `x.postgres.sql` beside
// it, for SQL where the dialects truly differ (SQLite's json_each against
// PostgreSQL's json_array_elements). The variant is a whole model file whose
// header names the same model with the same kind and time column; on
// PostgreSQL its SELECT replaces x.sql's. x.sql's header rules everything
// else (grain, audits, start), and its SELECT, compiled by SQLite, still
// says what the model reads: the variant must read the same tables. SQLite
// (LoadModelSet) ignores variant files.
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "pipeline/models/model_run.h"
#include "pipeline/models/model_set.h"
#include "pipeline/postgres/pg_connection.h"
#include "schemas/status.h"

namespace sluice::postgres {

inline constexpr const char* kVariantSuffix = ".postgres.sql";

// The raw tables in the raw schema (lowercase).
Result<std::set<std::string>> ListRawTables(PgConnection& c);

// LoadModelSet, then each model's PostgreSQL variant in place of its SELECT.
// Problems of variants (unreadable, bad header, another model or kind) are
// reported like LoadModelSet's, one per line.
Result<models::ModelSet> LoadModelSet(PgConnection& c, const std::filesystem::path& dir);

// Creates the schemas and state tables when missing, sets the model search
// path, then runs `set` as models::RunModels does.
Status RunModels(PgConnection& c, const models::ModelSet& set, const models::RunOptions& options,
                 models::RunReport* report);

// LoadModelSet, then RunModels.
Status RunModelsFolder(PgConnection& c, const std::filesystem::path& dir, const models::RunOptions& options,
                       models::RunReport* report);

}  // namespace sluice::postgres
