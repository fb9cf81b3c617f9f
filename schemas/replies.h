// The broker's REPLY bodies to client requests other than SUBMIT
// (messages.h), typed, with their msgpack codecs (PROTOCOL.md §6.2-6.13).
//
// Wire shape: what the broker sends (broker/commands.cc builds these views
// and encodes them here). Each reply is a map {req, ok: true, <field>}
// (RELOAD: {req, ok, workflows, path}) whose objects carry the fields of
// PROTOCOL.md's job object, run object, etc. Encode() writes every map's
// keys in byte order, a nil where the JSON form (ToJson) has null, and
// integers in their shortest form: the very bytes of the reply's JSON
// through to_msgpack, as the broker sent when it built its replies as JSON
// (tests/broker/typed_replies_test.cc checks it on the wire).
//
// Conventions of the views:
// - a str-or-nil field the broker sends as nil when empty is a std::string
//   ("" <-> nil); a uint-or-nil field is a std::optional;
// - a field the broker leaves out when empty (`waiting`, `concurrency_key`)
//   is left out when empty;
// - STATUS's detail fields (`params`, `outputs`, `attempts`) are written
//   only when `detail` is set; `params` and `outputs` are carried as one
//   encoded msgpack value each ("" for nil), which the broker sends as
//   stored: the same values as their JSON, their map keys in the order
//   they were submitted.
//
// Decode() reads what a broker sends, old or new: unknown keys are ignored,
// absent fields keep their defaults, only the fields that identify an
// object are required (a job's and a run's `id` and `state`, a worker's
// `worker`, a schedule entry's `workflow`, an extract run's `run_id`, the
// reply's `req`, RELOAD's `workflows`). A field of the wrong type is an
// InvalidArgument naming it. What is decoded is bounded: the body by the
// limits of §2.1, ids and names by their limits, free text clamped to
// kMaxReplyTextBytes (and repaired when it is not UTF-8: a stored tail is
// shown, not refused), lists to kMaxReplyItems, a STATS document and raw
// params by the nesting limit.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "schemas/messages.h"
#include "schemas/status.h"

namespace sluice::proto {

// One attempt of a job (STATUS only).
struct AttemptView {
  std::uint32_t attempt = 0;
  std::string worker;                  // "" <-> nil
  std::string host;                    // "" <-> nil
  std::int64_t started_ms = 0;
  std::optional<std::int64_t> finished_ms;  // nil while running
  std::string outcome;                 // "" <-> nil (while running)
  std::string error;                   // "" <-> nil
  std::optional<std::int64_t> exit_code;
  std::string stdout_tail;             // `stdout`, "" <-> nil
  std::string stderr_tail;             // `stderr`, "" <-> nil
};

// A job object (STATUS, LIST, RETRY, CANCEL_JOB).
struct JobView {
  std::string id;
  std::string state;  // a job state name
  std::string kind;
  std::string queue;
  std::int64_t priority = 0;
  std::uint32_t attempt = 0;
  std::uint32_t failures = 0;
  std::uint32_t max_attempts = 0;
  std::uint64_t backoff_ms = 0;
  std::uint64_t timeout_ms = 0;
  std::int64_t run_at_ms = 0;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  std::optional<std::int64_t> finished_ms;
  std::string key;    // "" <-> nil
  std::string error;  // "" <-> nil
  std::string concurrency_key;  // "" -> neither it nor concurrency_limit
  std::uint32_t concurrency_limit = 0;
  std::string waiting;  // "" -> left out
  // STATUS's detail.
  bool detail = false;
  std::string params;   // one encoded msgpack value ("" <-> nil)
  std::string outputs;  // one encoded msgpack value ("" <-> nil)
  std::vector<AttemptView> attempts;
};

// A stage of a run object.
struct StageView {
  std::string name;
  std::string kind;
  std::string state;
  std::string job;  // its job id; "" <-> nil
  std::uint32_t attempt = 0;
  std::optional<std::int64_t> started_ms;
  std::optional<std::int64_t> finished_ms;
  std::string error;  // "" <-> nil
  std::vector<std::string> depends_on;
  std::string queue;
  bool kind_served = false;
};

// A run object (RUN, RUNS, STATUS / CANCEL_JOB of a run id).
struct RunView {
  std::string id;
  std::string state;  // a run state (kRunStates)
  std::string workflow;
  std::string trigger;
  std::string logical_date;
  std::string slot;  // "" <-> nil
  std::map<std::string, std::string> params;
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> started_ms;
  std::optional<std::int64_t> finished_ms;
  std::vector<StageView> stages;
};

// A connected worker (WORKERS).
struct WorkerView {
  std::string worker;
  std::string host;
  std::int64_t pid = 0;
  std::vector<std::string> queues;
  std::vector<std::string> kinds;
  std::uint32_t slots = 0;
  std::uint32_t prefetch = 0;
  // READY `adaptive`, and the part of `prefetch` its pace allows now.
  bool adaptive = false;
  std::uint32_t window = 0;
  std::uint64_t busy = 0;
  std::string version;
  std::int64_t connected_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::vector<JobAttempt> running;
  std::string key;  // the name of its CURVE key ("" <-> nil: no CURVE)  // [[job, attempt], ...]
};

// A stage no connected worker serves (SCHEDULES).
struct UnservedStage {
  std::string stage;
  std::string kind;
  std::string queue;
};

// A schedule entry (SCHEDULES, PAUSE, RESUME).
struct ScheduleView {
  std::string workflow;
  std::string schedule;  // cron text; "" <-> nil (manual runs only)
  bool paused = false;
  std::string catch_up;
  std::uint32_t max_active_runs = 0;
  std::string next_fire;  // "" <-> nil
  std::string last_fire;  // "" <-> nil
  std::uint32_t active_runs = 0;
  std::vector<UnservedStage> unserved_stages;
};

// A row of extraction_runs (EXTRACTIONS); a nullopt text is a NULL column.
struct ExtractionRow {
  std::int64_t run_id = 0;
  std::optional<std::string> extractor;
  std::optional<std::string> started_at;
  std::optional<std::string> finished_at;
  std::optional<std::string> status;
  std::int64_t files_written = 0;
  std::int64_t files_skipped = 0;
  std::int64_t bytes_written = 0;
  std::optional<std::string> cursor_value;
  std::optional<std::string> error_message;
  std::optional<std::string> job_id;
  std::int64_t attempt = 0;
  std::optional<std::string> source;
  std::optional<std::string> url;
};

// The STATS object. Its shape is large and grows with the broker's
// counters, so it stays a document: a JSON object as the broker built it.
struct StatsView {
  nlohmann::json doc = nlohmann::json::object();
};

// The replies, by command.
struct JobReply {  // STATUS, RETRY, CANCEL_JOB of a job id
  std::uint64_t req = 0;
  JobView job;
};
struct ListReply {  // LIST
  std::uint64_t req = 0;
  std::vector<JobView> jobs;
};
struct RunReply {  // RUN, STATUS / CANCEL_JOB of a run id
  std::uint64_t req = 0;
  RunView run;
};
struct RunsReply {  // RUNS
  std::uint64_t req = 0;
  std::vector<RunView> runs;
};
struct WorkersReply {  // WORKERS
  std::uint64_t req = 0;
  std::vector<WorkerView> workers;
};
struct SchedulesReply {  // SCHEDULES
  std::uint64_t req = 0;
  std::vector<ScheduleView> schedules;
};
struct ScheduleReply {  // PAUSE, RESUME
  std::uint64_t req = 0;
  ScheduleView schedule;
};
struct ReloadReply {  // RELOAD
  std::uint64_t req = 0;
  std::uint64_t workflows = 0;
  std::string path;
};
struct ExtractionsReply {  // EXTRACTIONS
  std::uint64_t req = 0;
  std::vector<ExtractionRow> extractions;
};
struct StatsReply {  // STATS
  std::uint64_t req = 0;
  StatsView stats;
};

void Encode(const JobReply& m, std::string* out);
void Encode(const ListReply& m, std::string* out);
void Encode(const RunReply& m, std::string* out);
void Encode(const RunsReply& m, std::string* out);
void Encode(const WorkersReply& m, std::string* out);
void Encode(const SchedulesReply& m, std::string* out);
void Encode(const ScheduleReply& m, std::string* out);
void Encode(const ReloadReply& m, std::string* out);
void Encode(const ExtractionsReply& m, std::string* out);
void Encode(const StatsReply& m, std::string* out);

Status Decode(std::string_view body, JobReply* out);
Status Decode(std::string_view body, ListReply* out);
Status Decode(std::string_view body, RunReply* out);
Status Decode(std::string_view body, RunsReply* out);
Status Decode(std::string_view body, WorkersReply* out);
Status Decode(std::string_view body, SchedulesReply* out);
Status Decode(std::string_view body, ScheduleReply* out);
Status Decode(std::string_view body, ReloadReply* out);
Status Decode(std::string_view body, ExtractionsReply* out);
Status Decode(std::string_view body, StatsReply* out);

// The views as the JSON the broker builds for them (the same keys, values
// and nils), for display and `--json` output.
nlohmann::json ToJson(const JobView& v);
nlohmann::json ToJson(const AttemptView& v);
nlohmann::json ToJson(const RunView& v);
nlohmann::json ToJson(const StageView& v);
nlohmann::json ToJson(const WorkerView& v);
nlohmann::json ToJson(const ScheduleView& v);
nlohmann::json ToJson(const UnservedStage& v);
nlohmann::json ToJson(const ExtractionRow& v);
nlohmann::json ToJson(const StatsView& v);
// RELOAD's {workflows, path}.
nlohmann::json ToJson(const ReloadReply& v);
// A list of views as a JSON array.
template <typename View>
nlohmann::json ToJson(const std::vector<View>& views) {
  nlohmann::json out = nlohmann::json::array();
  for (const View& v : views) out.push_back(ToJson(v));
  return out;
}

}  // namespace sluice::proto
