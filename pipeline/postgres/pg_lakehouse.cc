#include "pipeline/postgres/pg_lakehouse.h"

namespace sluice::postgres {

Status EnsureLakehouse(PgConnection& c) {
  PgTransaction tx(c);
  Status s = tx.Begin();
  if (!s.ok()) return s;
  s = c.Exec(
      "CREATE SCHEMA IF NOT EXISTS raw;"
      "CREATE SCHEMA IF NOT EXISTS staging;"
      "CREATE SCHEMA IF NOT EXISTS foundation;"
      "CREATE SCHEMA IF NOT EXISTS serving;"
      "CREATE SCHEMA IF NOT EXISTS sluice;"
      "CREATE TABLE IF NOT EXISTS sluice.loaded_files ("
      "  path text PRIMARY KEY, raw_table text NOT NULL, rows bigint NOT NULL,"
      "  loaded_at timestamptz NOT NULL DEFAULT now(), load_id bigint NOT NULL UNIQUE);"
      "CREATE TABLE IF NOT EXISTS sluice.model_builds ("
      "  model text PRIMARY KEY, kind text NOT NULL, fingerprint text NOT NULL, version bigint NOT NULL,"
      "  built_at timestamptz NOT NULL DEFAULT now(), inputs jsonb NOT NULL DEFAULT '{}');"
      "CREATE TABLE IF NOT EXISTS sluice.model_intervals ("
      "  model text NOT NULL, day text NOT NULL, fingerprint text NOT NULL, version bigint NOT NULL,"
      "  processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (model, day));"
      "CREATE TABLE IF NOT EXISTS sluice.exports ("
      "  version bigint PRIMARY KEY, exported_at timestamptz NOT NULL DEFAULT now(),"
      "  tables integer NOT NULL, rows bigint NOT NULL, inputs jsonb NOT NULL DEFAULT '{}');");
  if (!s.ok()) return s;
  return tx.Commit();
}

Status UseModelSearchPath(PgConnection& c) {
  return c.Exec(std::string("SET search_path TO ") + kModelSearchPath);
}

std::string ModelTable(const models::Model& m) {
  return QuoteIdent(models::LayerName(m.layer)) + "." + QuoteIdent(m.name);
}

std::string RawTable(std::string_view table) { return QuoteIdent(kRawSchema) + "." + QuoteIdent(table); }

std::string SchemaOf(std::string_view table) {
  if (table.substr(0, 4) == "raw_") return kRawSchema;
  for (models::Layer l : {models::Layer::kStaging, models::Layer::kFoundation, models::Layer::kServing})
    if (table.substr(0, std::string_view(models::LayerPrefix(l)).size()) == models::LayerPrefix(l))
      return models::LayerName(l);
  return "";
}

}  // namespace sluice::postgres
