// The lakehouse on PostgreSQL: one database, a schema per layer, and sluice's
// own bookkeeping in the schema `sluice`.
//
//   raw          raw tables, named as in sources.toml: raw.raw_usda_psd
//   staging      models of the layer, each <layer>.<model name>:
//   foundation     staging.staging_prices, serving.serving_total, ...
//   serving
//   sluice       loaded_files     the load ledger (load_ledger.h's rules):
//                                 path PRIMARY KEY, raw_table, rows,
//                                 loaded_at, load_id UNIQUE (1, 2, ...)
//                model_builds     one row per model: kind, fingerprint,
//                                 version (max + 1 over the table, as on
//                                 SQLite), built_at, inputs (jsonb: table ->
//                                 its version when read)
//                model_intervals  (model, day) PRIMARY KEY, fingerprint,
//                                 version, processed_at: the days an
//                                 incremental model processed
//                exports          one row per export of the serving schema:
//                                 version, exported_at, tables, rows, inputs
//
// Model SQL names tables unqualified; they resolve through search_path
// (ModelSearchPath), so the same SQL runs on SQLite and PostgreSQL. Every
// name in a layer schema starts with its layer's prefix, so a name resolves
// to one table whatever the order. The `sluice` schema is not on the path:
// models cannot read the bookkeeping, as on SQLite.
#pragma once

#include <string>
#include <string_view>

#include "pipeline/models/model.h"
#include "pipeline/postgres/pg_connection.h"
#include "schemas/status.h"

namespace sluice::postgres {

inline constexpr const char* kRawSchema = "raw";
inline constexpr const char* kStateSchema = "sluice";
inline constexpr const char* kLedgerTable = "sluice.loaded_files";
// raw, staging, foundation, serving, then public (extensions' functions).
inline constexpr const char* kModelSearchPath = "raw, staging, foundation, serving, public";

// Creates what is missing: the five schemas and the state tables. Idempotent;
// one transaction under the writer lock.
Status EnsureLakehouse(PgConnection& c);

// SET search_path for model SQL (session-wide).
Status UseModelSearchPath(PgConnection& c);

// "staging"."staging_x": the model's table or view.
std::string ModelTable(const models::Model& m);
// "raw"."raw_x".
std::string RawTable(std::string_view table);

// The schema a table name belongs to: "raw" for raw_*, the layer for a
// model's prefix, "" for anything else.
std::string SchemaOf(std::string_view table);

}  // namespace sluice::postgres
