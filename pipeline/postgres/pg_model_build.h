// Materializing one model on PostgreSQL, as <layer>.<name> (pg_lakehouse.h),
// inside the caller's transaction (RunModels: one per model, with its state
// rows), so a build is all there or not at all:
//
//   FULL        CREATE TABLE <layer>._sluice_build_<name> AS <select>; the
//               audits on it; then DROP the old table (or view) and RENAME
//               the new one in. Readers in other sessions see the old table
//               until the COMMIT, then the new one.
//   VIEW        DROP the old view (or table), CREATE VIEW, audits.
//   INCREMENTAL_BY_TIME_RANGE
//               the SELECT into a temporary table; rows outside
//               [start_ds, end_ds] (or with a NULL time) are an error; the
//               interval's rows deleted from the table and the new ones
//               inserted; audits on the interval (unique_grain over the whole
//               table for the keys in it). The first build creates the table
//               (and an index on the time column).
//
// Views that read a replaced table or view (other view models, or a
// reader's own views in any schema) would be dropped with it (CASCADE):
// they are recreated from their definitions (pg_get_viewdef) in the same
// transaction, so they survive every rebuild.
//
// Audits are audits.h's, in PostgreSQL's SQL; an accepted_values list must
// have the column's type (0, 1 for an integer column, 'a', 'b' for text).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/models/model.h"
#include "pipeline/models/model_build.h"
#include "pipeline/postgres/pg_connection.h"
#include "schemas/status.h"

namespace sluice::postgres {

// The longest model name PostgreSQL takes here: its 63-byte identifiers,
// less the build table's prefix.
inline constexpr std::size_t kMaxModelName = 49;

// Builds `model` for [start_ds, end_ds]; rows built as model_build.h
// counts them. Call inside a transaction with the model search path set.
// Errors start with the model's name; a failed audit is Conflict with
// audits.h's message. `counts` (may be null) gets an
// INCREMENTAL_BY_UNIQUE_KEY upsert's counts.
Result<std::int64_t> BuildModel(PgConnection& c, const models::Model& model, std::string_view start_ds,
                                std::string_view end_ds, models::UpsertCounts* counts = nullptr);

// A view to recreate: its definition as pg_get_viewdef gives it.
struct SavedView {
  std::string schema, name, definition;
  int depth = 0;  // 1: reads the dropped object; 2: reads such a view; ...
};

// Drops `schema.name` (a table or view; nothing if neither) with CASCADE
// and returns the views that went with it, dependencies first.
Result<std::vector<SavedView>> DropSavingViews(PgConnection& c, const std::string& schema, const std::string& name);
// Creates those of `views` that do not exist (again), in order. Fails
// naming a view whose definition no longer compiles.
Status RecreateViews(PgConnection& c, const std::vector<SavedView>& views);

}  // namespace sluice::postgres
