// The sluice wire protocol's constants: the version frame, the one-byte
// command codes, limits and error codes. Every wire string is defined here
// once. schemas/PROTOCOL.md is the normative spec; this header mirrors it.
//
// Every message, after the ROUTER's routing-id frame on the broker side, is:
//
//   frame 0: "SLUICE1"            protocol name + major version (7 bytes)
//   frame 1: one byte              the command code below
//   frame 2: msgpack map           the body (keys are strings); may be absent
//                                  for commands whose body is empty
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::proto {

inline constexpr std::string_view kProtocol = "SLUICE1";

enum class Command : std::uint8_t {
  // worker -> broker
  kReady = 0x01,
  kHeartbeat = 0x02,  // both directions
  kResult = 0x03,
  kBye = 0x04,  // both directions
  // broker -> worker
  kJob = 0x05,
  kCancel = 0x06,
  kAck = 0x07,
  kRecall = 0x08,  // only to workers whose READY said `adaptive`
  // client -> broker (requests; each carries `req`, echoed in the reply)
  kSubmit = 0x10,
  kRun = 0x11,
  kStatus = 0x12,
  kList = 0x13,
  kRetry = 0x14,
  kCancelJob = 0x15,
  kWorkers = 0x16,
  kStats = 0x17,
  kExtractions = 0x18,
  kRuns = 0x19,
  kSchedules = 0x1A,
  kPause = 0x1B,
  kResume = 0x1C,
  kReload = 0x1D,
  // broker -> client / any peer
  kReply = 0x20,
  kError = 0x21,
  kDone = 0x22,  // after SUBMIT `notify`: a job ended
};

// "READY", "JOB", ... or nullptr for a byte that is no command.
const char* CommandName(std::uint8_t code);

// Limits. A message over kMaxMessageBytes is dropped by ZeroMQ itself
// (ZMQ_MAXMSGSIZE) and the connection closed; the others are checked by the
// decoders, which answer bad_request.
inline constexpr std::int64_t kMaxMessageBytes = 64 << 20;
inline constexpr std::size_t kMaxJobsPerSubmit = 10000;
inline constexpr std::size_t kMaxIdBytes = 64;       // job ids, worker ids
inline constexpr std::size_t kMaxNameBytes = 64;     // kinds, queues, hosts
inline constexpr std::size_t kMaxKeyBytes = 256;     // idempotency keys
inline constexpr std::size_t kMaxParamsBytes = 1 << 20;   // encoded params map
inline constexpr std::size_t kMaxOutputsBytes = 1 << 20;  // encoded outputs map
inline constexpr std::size_t kMaxErrorBytes = 2000;  // longer error text is clamped
inline constexpr std::size_t kMaxTailBytes = 4096;   // stdout/stderr tails, clamped (keeps the end)
inline constexpr std::size_t kMaxListItems = 256;    // queues or kinds in READY
inline constexpr std::size_t kMaxRunning = 4096;     // (job, attempt) pairs in READY
inline constexpr std::uint32_t kMaxSlots = 4096;
inline constexpr std::int64_t kMinPriority = -1000;
inline constexpr std::int64_t kMaxPriority = 1000;
inline constexpr std::uint32_t kMaxAttempts = 1000;
inline constexpr std::uint32_t kMaxConcurrencyLimit = 100000;

// Decoding limits (PROTOCOL.md §2.1), checked on the raw bytes before any
// object is built, by every decoder of peer input (proto::UnpackBody): a
// message over them is answered bad_request and changes nothing.
//   - Nesting: at most kMaxDepth maps and arrays inside one another, the
//     body's own map counting as the first. So a SUBMIT job's params (the
//     body, `jobs`, the job spec, then params) may nest 61 levels.
//   - Size: at most kMaxElements values in one message (a map entry is two:
//     key and value), and no array, map, str, bin or ext longer than the
//     bytes left in the message. Decoded, a value costs ~24 bytes, so one
//     message never takes more than ~100 MiB on top of its own bytes.
inline constexpr std::size_t kMaxDepth = 64;
inline constexpr std::size_t kMaxElements = std::size_t{1} << 22;
// Times in ms (run_at_ms) are at most 9999-12-31T23:59:59.999Z, so that any
// sum of a time and a duration stays far from INT64_MAX.
inline constexpr std::int64_t kMaxUnixMs = 253402300799999;
// Durations a client may ask for (backoff_ms, timeout_ms: one year;
// delay_ms: ten years).
inline constexpr std::uint64_t kMaxDurationMs = 366ull * 24 * 3600 * 1000;
inline constexpr std::uint64_t kMaxDelayMs = 10 * kMaxDurationMs;

// Client requests' limits (PROTOCOL.md §6). A `limit` of 0 (or none) means
// the command's default; one above kMaxLimit is refused with bad_request
// (LIST, RUNS and EXTRACTIONS alike).
inline constexpr std::uint32_t kMaxLimit = 10000;
inline constexpr std::uint32_t kDefaultListLimit = 100;         // LIST
inline constexpr std::uint32_t kDefaultRunsLimit = 50;          // RUNS
inline constexpr std::uint32_t kDefaultExtractionsLimit = 50;   // EXTRACTIONS
inline constexpr std::size_t kMaxStateBytes = 32;               // a job or run state name
inline constexpr std::size_t kMaxRunParams = 256;               // RUN `params` entries
inline constexpr std::size_t kMaxRunParamBytes = 16 << 10;      // one RUN `params` value
// Replies (broker -> client) are bounded too: free text (errors, tails,
// paths) is clamped to kMaxReplyTextBytes (and repaired when not UTF-8),
// lists hold at most kMaxReplyItems entries.
inline constexpr std::size_t kMaxReplyTextBytes = 64 << 10;
inline constexpr std::size_t kMaxReplyItems = 100000;

// The run states (RUNS `state`, a run object's `state`).
inline constexpr std::string_view kRunStates[] = {"queued", "running", "succeeded", "failed",
                                                   "cancelled"};

// Field names of the message bodies: every encoder, decoder and MapReader
// call names a field through these.
namespace key {
inline constexpr std::string_view kReq = "req";
inline constexpr std::string_view kOk = "ok";
inline constexpr std::string_view kCode = "code";
inline constexpr std::string_view kMessage = "message";
inline constexpr std::string_view kId = "id";
inline constexpr std::string_view kJob = "job";
inline constexpr std::string_view kJobs = "jobs";
inline constexpr std::string_view kAttempt = "attempt";
inline constexpr std::string_view kAttempts = "attempts";
inline constexpr std::string_view kWorker = "worker";
inline constexpr std::string_view kWorkers = "workers";
inline constexpr std::string_view kHost = "host";
inline constexpr std::string_view kPid = "pid";
inline constexpr std::string_view kQueue = "queue";
inline constexpr std::string_view kQueues = "queues";
inline constexpr std::string_view kKind = "kind";
inline constexpr std::string_view kKinds = "kinds";
inline constexpr std::string_view kSlots = "slots";
inline constexpr std::string_view kPrefetch = "prefetch";
inline constexpr std::string_view kAdaptive = "adaptive";
inline constexpr std::string_view kNotify = "notify";
inline constexpr std::string_view kWindow = "window";
inline constexpr std::string_view kHeartbeatMs = "heartbeat_ms";
inline constexpr std::string_view kVersion = "version";
inline constexpr std::string_view kRunning = "running";
inline constexpr std::string_view kOutcome = "outcome";
inline constexpr std::string_view kError = "error";
inline constexpr std::string_view kRetryable = "retryable";
inline constexpr std::string_view kRetryAfterMs = "retry_after_ms";
inline constexpr std::string_view kExitCode = "exit_code";
inline constexpr std::string_view kStdout = "stdout";
inline constexpr std::string_view kStderr = "stderr";
inline constexpr std::string_view kOutputs = "outputs";
inline constexpr std::string_view kReason = "reason";
inline constexpr std::string_view kParams = "params";
inline constexpr std::string_view kTimeoutMs = "timeout_ms";
inline constexpr std::string_view kAcks = "acks";
inline constexpr std::string_view kPriority = "priority";
inline constexpr std::string_view kMaxAttempts = "max_attempts";
inline constexpr std::string_view kBackoffMs = "backoff_ms";
inline constexpr std::string_view kDelayMs = "delay_ms";
inline constexpr std::string_view kRunAtMs = "run_at_ms";
inline constexpr std::string_view kKey = "key";
inline constexpr std::string_view kConcurrencyKey = "concurrency_key";
inline constexpr std::string_view kConcurrencyLimit = "concurrency_limit";
inline constexpr std::string_view kCreated = "created";
inline constexpr std::string_view kState = "state";
inline constexpr std::string_view kLimit = "limit";
inline constexpr std::string_view kSource = "source";
inline constexpr std::string_view kWorkflow = "workflow";
inline constexpr std::string_view kWorkflows = "workflows";
// Reply views (replies.h).
inline constexpr std::string_view kFailures = "failures";
inline constexpr std::string_view kCreatedMs = "created_ms";
inline constexpr std::string_view kUpdatedMs = "updated_ms";
inline constexpr std::string_view kStartedMs = "started_ms";
inline constexpr std::string_view kFinishedMs = "finished_ms";
inline constexpr std::string_view kWaiting = "waiting";
inline constexpr std::string_view kBusy = "busy";
inline constexpr std::string_view kConnectedMs = "connected_ms";
inline constexpr std::string_view kLastSeenMs = "last_seen_ms";
inline constexpr std::string_view kRun = "run";
inline constexpr std::string_view kRuns = "runs";
inline constexpr std::string_view kTrigger = "trigger";
inline constexpr std::string_view kLogicalDate = "logical_date";
inline constexpr std::string_view kSlot = "slot";
inline constexpr std::string_view kStages = "stages";
inline constexpr std::string_view kName = "name";
inline constexpr std::string_view kDependsOn = "depends_on";
inline constexpr std::string_view kKindServed = "kind_served";
inline constexpr std::string_view kSchedule = "schedule";
inline constexpr std::string_view kSchedules = "schedules";
inline constexpr std::string_view kPaused = "paused";
inline constexpr std::string_view kCatchUp = "catch_up";
inline constexpr std::string_view kMaxActiveRuns = "max_active_runs";
inline constexpr std::string_view kNextFire = "next_fire";
inline constexpr std::string_view kLastFire = "last_fire";
inline constexpr std::string_view kActiveRuns = "active_runs";
inline constexpr std::string_view kUnservedStages = "unserved_stages";
inline constexpr std::string_view kStage = "stage";
inline constexpr std::string_view kPath = "path";
inline constexpr std::string_view kStats = "stats";
inline constexpr std::string_view kExtractions = "extractions";
inline constexpr std::string_view kRunId = "run_id";
inline constexpr std::string_view kExtractor = "extractor";
inline constexpr std::string_view kStartedAt = "started_at";
inline constexpr std::string_view kFinishedAt = "finished_at";
inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kFilesWritten = "files_written";
inline constexpr std::string_view kFilesSkipped = "files_skipped";
inline constexpr std::string_view kBytesWritten = "bytes_written";
inline constexpr std::string_view kCursorValue = "cursor_value";
inline constexpr std::string_view kErrorMessage = "error_message";
inline constexpr std::string_view kJobId = "job_id";
inline constexpr std::string_view kUrl = "url";
}  // namespace key

// Error codes carried by ERROR (`code` field).
namespace err {
inline constexpr std::string_view kBadRequest = "bad_request";
inline constexpr std::string_view kVersion = "version";
inline constexpr std::string_view kUnknownCommand = "unknown_command";
inline constexpr std::string_view kNotFound = "not_found";
inline constexpr std::string_view kInvalidState = "invalid_state";
inline constexpr std::string_view kUnknownWorker = "unknown_worker";
inline constexpr std::string_view kShuttingDown = "shutting_down";
inline constexpr std::string_view kInternal = "internal";
// The peer's key is not (or no longer) authorized for this command (CURVE roles).
inline constexpr std::string_view kForbidden = "forbidden";
}  // namespace err

}  // namespace sluice::proto
