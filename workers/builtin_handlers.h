// The built-in handlers, one file each (handler_<kind>.cc). They are wired
// to their kinds in handler_table.cc; see handler.h for the contract.
#pragma once

#include "workers/handler.h"

namespace sluice::worker {

// exec: runs a program. params: command (str, required; a bare name is
// looked up in PATH), args ([str]), env ({str: str}, added to the worker's
// environment), cwd (str). The child also gets SLUICE_JOB_ID and
// SLUICE_ATTEMPT (the job's id and attempt number; they win over `env`), to
// tag its side effects. The child gets its own process group; a stop
// (timeout, CANCEL, shutdown) kills the whole group: SIGTERM (with SIGCONT,
// so a stopped group acts on it), then SIGKILL after kExecKillGraceMs. When
// the program exits, whatever it left running
// in its group is killed too. Non-zero exit = failed; exit_code is the exit
// status, or -N when killed by signal N.
void RunExec(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);
inline constexpr int kExecKillGraceMs = 2000;

// extract.http: one conditional GET (libcurl) into the landing zone
// (HandlerSettings::landing_dir; layout and names in landing_names.h).
// params:
//   url (str, required)   {year} {month} {day} {date} expand from the period
//                         (pipeline/period.h: in a month period {day} is 01);
//                         http/https only. ${env:NAME} only when the worker
//                         runs with --secret-in-url (HandlerSettings::
//                         secret_in_url), else refused (bad params)
//   source (str, required) the landing sub-folder: 1-64 of [A-Za-z0-9._-],
//                         not starting with '.'
//   ext (str)             file extension before ".gz"; default: the URL's
//                         ("x.csv.gz" -> csv), else "bin"
//   headers ({str: str})  values may hold ${env:NAME}, from the worker's
//                         environment (secret_template.h) when the worker's
//                         --secret-env allows NAME (secret_allow_list.h)
//   timeout_s (number)    whole transfer, default 300; a transfer that sees
//                         no byte for min(timeout_s, 30) s fails too
//   max_bytes (uint)      body limit; 0 or absent: the worker's
//                         --extract-max-bytes (default 2 GiB, kDefault-
//                         ExtractMaxBytes). A value above that is refused
//                         (bad params). Over it: failed, not retryable,
//                         nothing kept
//   dedup (str)           etag | hash | auto (default: etag when the
//                         response has one, else hash of the content)
//   date (str)            the logical period, YYYY-MM-DD, YYYY-MM or YYYY,
//                         read in `period` units (default: now, UTC)
//   period (str)          day | month (default) | year: the fallback step
//   fallback_periods (uint) on 404, try up to this many earlier periods
//                         (only when the URL has a date placeholder)
//   cursor ({etag, last_modified, url}) set by the broker from the last
//                         success: sent as If-None-Match / If-Modified-Since
//                         with the job's own URL (period 0) or, when `url`
//                         is given, with that expanded URL only
// Outcomes: 304 or a file already landed: succeeded, files_skipped = 1,
// nothing written. 2xx: the body lands as one gzip file, atomically.
// Failed, retryable (retry_after_ms from Retry-After): DNS/connect errors,
// timeouts, stalls, truncated bodies, 408, 429, 5xx, local disk errors.
// Failed, not retryable: other statuses (404 after the fallback periods),
// bad params, a secret not allowed or unset, max_bytes exceeded, a
// Content-Encoding other than gzip. CANCEL / job timeout stop the transfer at once. No failure
// leaves a landing file or a temp file behind.
// outputs (always all keys): status_code (int, 0: no response), url (the
// expanded URL, secrets unresolved), period (fetched: 2024, 2024-03 or
// 2024-03-15), files_written, files_skipped (0/1), bytes_written (size of
// the landing file written), path (relative to the landing folder; "" on
// 304 and failures), sha256 (hex of the body as received; "" unless
// downloaded), etag, last_modified (the response's; on 304 the cursor's when
// the response has none; "" when absent or not printable ASCII), cursor_value
// (e.g. `period=2024-03 etag="abc"`), and extraction (PROTOCOL.md §5.9: the
// same counts, key and url, validators and cursor_value, for the broker).
void RunExtractHttp(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);

// load: the landing files that are new since the last load, into the
// lakehouse's raw tables (HandlerSettings::lakehouse_path; files under
// HandlerSettings::landing_dir), as declared by a sources file
// (pipeline/lakehouse/raw_source.h). params: models (a models folder; its
// sources.toml is read) or sources (the file itself) -- exactly one, inside
// the worker's models roots (models_roots.h; else refused, not retryable). Each
// file loads in one transaction with its ledger row, so a re-run loads only
// new files. A malformed file fails the job (not retryable) naming the
// file, the line and the reason, and nothing of it is loaded.
// outputs: files_loaded, files_skipped, rows_loaded, files ([{path, table,
// rows}], the first 100).
void RunLoad(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);

// transform.sql: the raw load of `{models}/sources.toml` (when it exists and
// `load` is not false), then the models folder's SQL models built in
// dependency order against the lakehouse (pipeline/models/model_run.h).
// params: models (str, required; inside the worker's models roots, see
// models_roots.h, else refused), start_ds / end_ds ('YYYY-MM-DD', the
// interval of incremental models; default end: today UTC), select ([str]:
// only these models), load (bool, default true). A bad folder (syntax,
// unknown table, cycle), a SQL error or a failed audit fails the job, not
// retryable; the failed model's previous table stays. A busy lakehouse or
// an I/O error is retryable.
// outputs: load (as load's outputs), models ([{name, kind, status, start_ds,
// end_ds, rows, ms}] in run order; status built | failed | skipped).
void RunTransformSql(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);

// export.serving: copies every serving_ table (and view) of the lakehouse
// (HandlerSettings::lakehouse_path) into a new SQLite file next to the
// analytics database (HandlerSettings::serving_path), fsyncs it and renames
// it over the old one (pipeline/serving/serving_export.h). params: serving
// (str) another file in the same folder, as a bare file name or a path
// whose folder is that folder (no `..`, symlinks resolved); not the
// lakehouse, not an SQLite -wal/-shm/-journal name, and when it exists an
// analytics database that an export wrote (a regular file). Anything else
// is refused (bad params) and nothing is written. Fails, not retryable,
// when there is no lakehouse or it has no serving_ table; retryable on
// SQLite or disk errors. A failure leaves the previous analytics database
// in place.
// outputs: version (int, grows by one per export of this lakehouse), path,
// tables ({name: rows}), rows, bytes.
void RunExportServing(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);

// backup: with the worker's --backup s3://bucket/prefix, a snapshot of the
// lakehouse (HandlerSettings::lakehouse_path) under {prefix}/lakehouse/
// (schemas/db_backup.h: online, consistent, gzipped, never replacing,
// pruned by the retention rules), and with param landing = true a mirror
// of a local landing folder under {prefix}/landing/: only the files not
// there yet are uploaded (landing files never change, so a name present is
// the file present). params: lakehouse (bool, default true), landing
// (bool, default false; ignored when the landing zone is in S3 already).
// Without --backup it succeeds at once and says so (outputs skipped, reason),
// so a workflow with a backup stage runs where there is no bucket. A
// missing lakehouse file is skipped, not an error. The store refusing the
// request (credentials, bucket) fails for good; 5xx and timeouts are
// retryable.
// outputs: location, lakehouse {key, stamp, db_bytes, gz_bytes, pruned},
// landing {files_uploaded, files_present, bytes_uploaded}.
void RunBackup(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);

// test.noop: succeeds at once.
void RunTestNoop(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);

// test.sleep: params ms (uint, required). Sleeps that long unless stopped.
void RunTestSleep(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);

// test.fail: params succeed_on (int, required). Attempts numbered below
// succeed_on fail (retryable), later ones succeed.
void RunTestFail(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);

// test.crash: aborts the whole worker process (std::abort), for recovery tests.
void RunTestCrash(const JobContext& job, const CancelToken& cancel, proto::JobResult* result);

}  // namespace sluice::worker
