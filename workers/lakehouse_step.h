// What the lakehouse job kinds (load, transform.sql) share: the raw-load
// step from a sources file, its report as RESULT outputs, and how a failure
// Status becomes a RESULT (retryable or not).
#pragma once

#include <msgpack.hpp>

#include <string>
#include <string_view>

#include "pipeline/lakehouse/raw_loader.h"
#include "pipeline/postgres/pg_connection.h"
#include "schemas/messages.h"
#include "schemas/sqlite_db.h"
#include "schemas/status.h"
#include "workers/cancel_token.h"
#include "workers/handler.h"

namespace sluice::worker {

// Reads `sources_path` (sources.toml) and loads the new landing files of
// the worker's landing zone (a folder, or s3://... through the calling
// thread's store client) into the lakehouse `db`.
Result<lakehouse::LoadReport> LoadSourcesFile(Database& db, const std::string& sources_path,
                                              const HandlerSettings& settings, const CancelToken& cancel);

// The same into PostgreSQL (a models folder with engine = "postgres":
// pipeline/postgres/pg_raw_loader.h).
Result<lakehouse::LoadReport> LoadSourcesFile(postgres::PgConnection& pg, const std::string& sources_path,
                                              const HandlerSettings& settings, const CancelToken& cancel);

// {files_loaded, files_skipped, rows_loaded, files: [{path, table, rows}]};
// files lists at most the first 100 (outputs stay small).
void PackLoadReport(msgpack::packer<msgpack::sbuffer>& pk, const lakehouse::LoadReport& report);

// Marks `result` failed with "<kind>: <message>". A stop of the token wins
// (cancelled / timed out / returned). Retryable only when a retry could
// help: I/O trouble or a busy lakehouse; malformed files, bad SQL, failed
// audits and bad folders fail the job for good.
void FailFromStatus(std::string_view kind, const Status& status, const CancelToken& cancel,
                    proto::JobResult* result);

}  // namespace sluice::worker
