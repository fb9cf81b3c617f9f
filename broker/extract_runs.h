// ExtractRuns: what the broker records for extraction runs (the worker
// stays stateless: it reports, the broker records). Two kinds of job are
// extraction runs (PROTOCOL.md §5.9):
//
// - `extract.http` jobs (ExtractRuns itself is their hooks);
// - a job of any kind without hooks of its own whose params say
//   `extraction: true` and name a `source` (CustomExtractionHooks): the
//   extractors of the Python SDK, or any worker's.
//
// For both:
// - At dispatch: a row in `extraction_runs` with status 'running', and the
//   params as sent carry `cursor`, the last cursor stored for (source, key).
//   extract.http's key is the URL it fetches (its `url` expanded for the
//   job's `date`; the params as sent gain `date`, today UTC when the job has
//   none, so that broker and worker expand it alike) and its cursor the map
//   {etag, last_modified}; a custom extraction's key is its `cursor_key`
//   param ("" when absent) and its cursor what it last reported: a string,
//   or {etag, last_modified}.
// - When the attempt ends: the row gets finished_at, status 'success' or
//   'failed', the counts and cursor_value of the RESULT's
//   `outputs.extraction` (an extract.http worker of an earlier release
//   reports the same fields at the top of its outputs), or the error; a
//   success stores the new cursor for (source, key).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "broker/job.h"
#include "broker/kind_hooks.h"
#include "schemas/replies.h"
#include "broker/utc_text.h"
#include "schemas/sqlite_db.h"
#include "schemas/job_state.h"
#include "schemas/job_kinds.h"
#include "schemas/status.h"

namespace sluice::broker {

inline constexpr std::string_view kExtractKind = proto::kind::kExtractHttp;

// Bounds of what an extraction reports and of its params (PROTOCOL.md §5.9);
// a value over them is read as absent.
inline constexpr std::size_t kMaxCursorKeyBytes = 16384;  // a URL, for extract.http
inline constexpr std::size_t kMaxCursorBytes = 16384;
inline constexpr std::size_t kMaxValidatorBytes = 1024;  // etag, last_modified
inline constexpr std::size_t kMaxCursorValueBytes = 4096;  // longer is cut
inline constexpr std::size_t kMaxExtractionUrlBytes = 16384;

// What one attempt of an extraction reported: RESULT `outputs.extraction`.
struct ExtractionReport {
  std::int64_t files_written = 0;
  std::int64_t files_skipped = 0;
  std::int64_t bytes_written = 0;
  std::string key;                    // whose cursor (with the job's source)
  std::string url;                    // "": none
  std::string cursor_value;           // "": none (the row keeps what it had)
  std::optional<std::string> cursor;  // a string cursor
  std::string etag, last_modified;    // or HTTP validators ("" = none)
};

// Reads `outputs.extraction` (nullopt when `outputs` has none). Fields of the
// wrong type or over their bound are read as absent; counts below 0 as 0;
// `key` defaults to `default_key`; `cursor_value` (by default the cursor)
// is cut to kMaxCursorValueBytes between UTF-8 characters.
std::optional<ExtractionReport> ReadExtractionReport(const msgpack::object& outputs, std::string_view default_key);

// The hooks of extract.http (kind_hooks.h), and the recorder every
// extraction run goes through.
class ExtractRuns : public KindHooks {
 public:
  Status Prepare(Database& db, MetricCounters* metrics) override;
  // "extract.http:<source>" (DefaultExtractConcurrency below).
  void DefaultConcurrency(std::string_view params, std::string* key, std::uint32_t* limit) const override;
  // Records the run's start; *params_out is the params to send.
  Status OnDispatch(const Job& job, std::int64_t now_ms, std::string* params_out) override;
  // Records the end of the job's current attempt. `outputs` is the RESULT's
  // outputs map (may be empty).
  Status OnEnd(const Job& job, Outcome outcome, std::string_view error, std::string_view outputs,
               std::int64_t now_ms) override;
  // The newest runs (of `source`, when not empty), as PROTOCOL.md §6.8 objects.
  Result<std::vector<proto::ExtractionRow>> Recent(Database& db, const std::string& source, std::int64_t limit);

  // The recorder, shared with CustomExtractionHooks.
  // The row of a dispatched attempt; `url` "" is NULL.
  Status RecordStart(const Job& job, std::string_view extractor, std::string_view source, std::string_view url,
                     std::int64_t now_ms);
  // The cursor stored for (source, key): nullopt when none; else a string
  // cursor, or etag / last_modified (one of them not empty).
  struct StoredCursor {
    std::optional<std::string> cursor;
    std::string etag, last_modified;
  };
  std::optional<StoredCursor> LookUpCursor(std::string_view source, std::string_view key);
  // The end of the job's current attempt: the row, the metrics and, on a
  // success, the cursor. `report` null: the attempt reported nothing.
  Status RecordEnd(const Job& job, std::string_view source, Outcome outcome, std::string_view error,
                   const ExtractionReport* report, std::int64_t now_ms);

 private:
  Statement insert_run_, finish_run_, get_cursor_, put_cursor_;
  MetricCounters* metrics_ = nullptr;  // sluice_extract_files_total, sluice_extract_bytes_total
};

// The hooks of every kind that has none of its own: a job whose params
// mark it as an extraction (IsCustomExtraction) is recorded by ExtractRuns;
// any other job passes untouched, at the cost of one substring search of
// its params.
class CustomExtractionHooks : public KindHooks {
 public:
  explicit CustomExtractionHooks(ExtractRuns* runs) : runs_(runs) {}
  // "<kind>:<source>", params.concurrency_limit or 4, for an extraction.
  void DefaultConcurrency(std::string_view params, std::string* key, std::uint32_t* limit) const override;
  Status OnDispatch(const Job& job, std::int64_t now_ms, std::string* params_out) override;
  Status OnEnd(const Job& job, Outcome outcome, std::string_view error, std::string_view outputs,
               std::int64_t now_ms) override;

 private:
  ExtractRuns* runs_;
};

// What marks a job of a custom kind as an extraction run: its params hold
// `extraction` true (or "true"), `source` a landing source name (1-64 of
// [A-Za-z0-9._-], not starting with '.') and, when present, `cursor_key` a
// string of at most kMaxCursorKeyBytes. Fills *source and *cursor_key.
bool IsCustomExtraction(const msgpack::object& params, std::string* source, std::string* cursor_key);

// The concurrency key and limit an extract job gets when it names none:
// "extract.http:<source>", params.concurrency_limit or 4.
void DefaultExtractConcurrency(std::string_view params, std::string* key, std::uint32_t* limit);

}  // namespace sluice::broker
