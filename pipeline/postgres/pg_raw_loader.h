// Raw loading into PostgreSQL: the same rules as the SQLite loader
// (pipeline/lakehouse/raw_loader.h) with COPY ... FROM STDIN as the sink.
//
// For each source, in order, the landing files its glob matches (sorted by
// path) that the ledger (sluice.loaded_files) does not list yet are loaded,
// each in ONE transaction (under the writer lock) with its ledger row: a
// file is all in, or not at all. Rows get `_source_file`, `_ingest_date` and
// `_load_id` (the file's load_id: one more than the largest in the ledger).
// The landing glob, gzip, CSV and JSON readers are the SQLite loader's;
// only the sink differs: the rows stream to the server as COPY's text
// format in 1 MiB messages.
//
// Tables: raw.<table>, created on the first file, every column `text`
// (CSV values as written; JSON values as text: numbers as written, bools
// 1/0, null NULL, objects and arrays their JSON text), then `_source_file
// text`, `_ingest_date text`, `_load_id bigint`. A later file with new
// columns adds them. Column names are the header's (or the keys')
// lowercased, so that model SQL's unquoted names find them as they do on
// SQLite, which ignores case; a name longer than 63 bytes (PostgreSQL's
// limit) or holding a NUL is refused, as is a value holding a NUL byte
// (PostgreSQL text cannot hold one) or bytes that are not UTF-8.
//
// Errors: "<relative path>: line N: <reason>" as on SQLite; what the server
// refuses comes with its COPY context ("COPY raw_x, line K": the K-th row
// of the file). Cancel: asked between files and every 65,536 rows; a
// cancel rolls back the file in progress.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "pipeline/lakehouse/landing_files.h"
#include "pipeline/lakehouse/raw_loader.h"
#include "pipeline/lakehouse/raw_source.h"
#include "pipeline/postgres/pg_connection.h"
#include "schemas/status.h"

namespace sluice::postgres {

// Creates the schemas and state tables first when missing (EnsureLakehouse).
Result<lakehouse::LoadReport> LoadRaw(PgConnection& c, const std::vector<lakehouse::RawSource>& sources,
                                      lakehouse::LandingFiles& landing, const std::function<bool()>& cancelled = {});

}  // namespace sluice::postgres
