// The typed messages of the sluice protocol and their msgpack codecs.
// PROTOCOL.md is the spec; field names here are the wire keys.
//
// Decode*() never throws: malformed msgpack, a missing required field, a
// wrong type or a value over its limit yields an InvalidArgument Status that
// names the message and the field. Unknown keys are ignored.
//
// `params` and `outputs` are carried as raw msgpack bytes (an encoded map):
// the broker stores and forwards them without looking inside.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/job_state.h"
#include "schemas/status.h"

namespace sluice::proto {

inline const std::string kEmptyMap(1, static_cast<char>(0x80));

struct JobAttempt {
  std::string job;
  std::uint32_t attempt = 0;
};

// worker -> broker, first message on a connection (and again after the
// broker said unknown_worker).
struct Ready {
  std::string worker;                // stable id of the worker process, <= 64 bytes printable
  std::string host;
  std::int64_t pid = 0;
  std::vector<std::string> queues;   // empty -> {"default"}
  std::vector<std::string> kinds;    // job kinds it can run
  std::uint32_t slots = 1;           // concurrent jobs, 0..kMaxSlots
  std::uint32_t prefetch = 0;        // jobs it queues locally beyond `slots`, 0..kMaxSlots
  // Adaptive prefetch (PROTOCOL.md §5.1): the broker uses as much of
  // `prefetch` as the worker's recent pace calls for, and may RECALL
  // prefetched jobs that another worker's free slot could start.
  bool adaptive = false;
  std::uint32_t heartbeat_ms = 1000; // how often it beats; the broker beats back as often
  std::string version;
  std::vector<JobAttempt> running;   // what it is still running (re-adoption)
};

// both directions. A worker may include `slots` to change its capacity
// (0: draining, take no new jobs).
struct Heartbeat {
  std::optional<std::uint32_t> slots;
};

// worker -> broker: the end of one attempt. Kept by the worker until ACKed.
struct JobResult {
  std::string job;
  std::uint32_t attempt = 0;
  Outcome outcome = Outcome::kSucceeded;
  std::string error;              // clamped to kMaxErrorBytes
  bool retryable = true;          // false: fail the job now, no further attempts
  std::uint64_t retry_after_ms = 0;  // minimum delay before the next attempt
  std::optional<std::int64_t> exit_code;
  std::string stdout_tail;        // clamped to kMaxTailBytes (keeps the end)
  std::string stderr_tail;
  std::string outputs = kEmptyMap;  // raw msgpack map
};

struct Bye {
  std::string reason;
};

// broker -> worker: run this attempt.
struct JobMsg {
  std::string job;
  std::uint32_t attempt = 0;
  std::string kind;
  std::string queue;
  std::string params = kEmptyMap;  // raw msgpack map
  std::uint64_t timeout_ms = 0;    // 0: no timeout
};

// broker -> worker: stop this attempt (report it `cancelled`).
struct CancelMsg {
  std::string job;
  std::uint32_t attempt = 0;
};

// broker -> worker (only to a worker whose READY said `adaptive`): hand
// back those of these attempts that have not started (RESULT `returned`).
struct RecallMsg {
  std::vector<JobAttempt> jobs;
};

// broker -> worker: these results are recorded; forget them.
struct Ack {
  std::vector<JobAttempt> acks;
};

// One job in a SUBMIT.
struct JobSpec {
  std::string kind;
  std::string params = kEmptyMap;  // raw msgpack map
  std::string queue = "default";
  std::int64_t priority = 0;       // higher runs first, kMinPriority..kMaxPriority
  std::uint32_t max_attempts = 0;  // 0: broker default
  std::uint64_t backoff_ms = 0;    // 0: broker default
  std::uint64_t timeout_ms = 0;    // 0: broker default
  std::uint64_t delay_ms = 0;      // run no earlier than now + delay
  std::uint64_t run_at_ms = 0;     // run no earlier than this (Unix ms); wins over delay
  std::string key;                 // idempotency key, optional
  // At most concurrency_limit jobs with the same concurrency_key run at
  // once (limit 0 with a key: 1). Empty key: no limit.
  std::string concurrency_key;
  std::uint32_t concurrency_limit = 0;
};

struct Submit {
  std::uint64_t req = 0;
  std::vector<JobSpec> jobs;
  // DONE is pushed to this connection when each job ends (PROTOCOL.md §3.2).
  bool notify = false;
};

// broker -> client, after SUBMIT `notify`: the job has ended, and its end is
// recorded (sent after the commit).
struct DoneMsg {
  std::string job;
  JobState state = JobState::kSucceeded;
};

struct SubmittedJob {
  std::string id;
  bool created = true;  // false: an existing job with the same key
  JobState state = JobState::kQueued;
};

struct SubmitReply {
  std::uint64_t req = 0;
  std::vector<SubmittedJob> jobs;
};

// broker -> any peer. `req` is 0 when the failing message had none.
struct ErrorMsg {
  std::uint64_t req = 0;
  std::string code;     // one of proto::err
  std::string message;  // one line
  // A RESULT refused as bad_request: its job and attempt, when they could
  // be read (else empty and 0), so that the worker stops re-sending it.
  std::string job;
  std::uint32_t attempt = 0;
};

// Encoders append a msgpack map to `out`.
void Encode(const Ready& m, std::string* out);
void Encode(const Heartbeat& m, std::string* out);
void Encode(const JobResult& m, std::string* out);
void Encode(const Bye& m, std::string* out);
void Encode(const JobMsg& m, std::string* out);
void Encode(const CancelMsg& m, std::string* out);
void Encode(const RecallMsg& m, std::string* out);
void Encode(const DoneMsg& m, std::string* out);
void Encode(const Ack& m, std::string* out);
void Encode(const Submit& m, std::string* out);
void Encode(const SubmitReply& m, std::string* out);
void Encode(const ErrorMsg& m, std::string* out);

// JOB without building a JobMsg (the broker's hot path: no params copy).
void EncodeJob(std::string_view job, std::uint32_t attempt, std::string_view kind,
               std::string_view queue, std::string_view params, std::uint64_t timeout_ms,
               std::string* out);

Status Decode(std::string_view body, Ready* out);
Status Decode(std::string_view body, Heartbeat* out);  // empty body allowed
Status Decode(std::string_view body, JobResult* out);
Status Decode(std::string_view body, Bye* out);        // empty body allowed
Status Decode(std::string_view body, JobMsg* out);
Status Decode(std::string_view body, CancelMsg* out);
Status Decode(std::string_view body, RecallMsg* out);
Status Decode(std::string_view body, DoneMsg* out);
Status Decode(std::string_view body, Ack* out);
Status Decode(std::string_view body, Submit* out);
Status Decode(std::string_view body, SubmitReply* out);
Status Decode(std::string_view body, ErrorMsg* out);

// The `job` and `attempt` at the top of a JOB body, read even when the rest
// cannot be decoded (params nested too deep, say), so that a worker can
// refuse that attempt by name. InvalidArgument when they are not there.
Status PeekAttempt(std::string_view body, JobAttempt* out);

// The top-level `req` of a request body, or 0 when there is none. Read
// like PeekAttempt: a body that fails to decode after its `req` (nested too
// deep, say) still has its error matched to the request.
std::uint64_t PeekReq(std::string_view body);

}  // namespace sluice::proto
