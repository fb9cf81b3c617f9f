// The client requests other than SUBMIT (messages.h), typed, with their
// msgpack codecs: what the client encodes and the broker decodes
// (PROTOCOL.md §6.2-6.13).
//
// One strictness for all of them:
// - the body is a map within the decoding limits (§2.1) and every `str` in
//   it is UTF-8;
// - `req` is required (a uint);
// - names (queue, kind, source, workflow, RUN params keys) follow the name
//   rule: 1-64 characters of [A-Za-z0-9._-];
// - ids are 1..kMaxIdBytes bytes; whether one names a job or a run is the
//   handler's to tell (ParseJobId / ParseRunId, job_id.h): not_found;
// - `limit` is 0 (or absent: the command's default, protocol.h) to
//   kMaxLimit; above it the request is refused, never clamped;
// - a job `state` is a job state (job_state.h), a run `state` one of
//   kRunStates.
// Unknown keys are ignored. Decode() never throws; a refusal is an
// InvalidArgument naming the command and the field ("LIST: field 'limit'
// must be at most 10000"), which the broker answers as bad_request:
//
//   proto::ListRequest r;
//   if (Status s = proto::Decode(body, &r); !s.ok()) ... bad_request, s.message()
//
// Encode() appends the body, `req` first (so that PeekReq finds it even in
// a body refused later), and leaves out optional fields that are empty or 0.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "schemas/status.h"

namespace sluice::proto {

// STATUS: a job id (j12) or a run id (r3).
struct StatusRequest {
  std::uint64_t req = 0;
  std::string id;
};

// LIST: empty / 0 means any / the default (kDefaultListLimit).
struct ListRequest {
  std::uint64_t req = 0;
  std::string state;  // a job state
  std::string queue;
  std::string kind;
  std::uint32_t limit = 0;
};

// RETRY: a job id.
struct RetryRequest {
  std::uint64_t req = 0;
  std::string id;
};

// CANCEL_JOB: a job id or a run id.
struct CancelJobRequest {
  std::uint64_t req = 0;
  std::string id;
};

// EXTRACTIONS: empty / 0 means any / the default (kDefaultExtractionsLimit).
struct ExtractionsRequest {
  std::uint64_t req = 0;
  std::string source;
  std::uint32_t limit = 0;
};

// RUN: overrides of the workflow's run parameters (at most kMaxRunParams,
// keys names, values UTF-8 of at most kMaxRunParamBytes).
struct RunRequest {
  std::uint64_t req = 0;
  std::string workflow;
  std::map<std::string, std::string> params;
};

// RUNS: empty / 0 means any / the default (kDefaultRunsLimit).
struct RunsRequest {
  std::uint64_t req = 0;
  std::string workflow;
  std::string state;  // a run state
  std::uint32_t limit = 0;
};

struct PauseRequest {
  std::uint64_t req = 0;
  std::string workflow;
};

struct ResumeRequest {
  std::uint64_t req = 0;
  std::string workflow;
};

// The requests that carry nothing but `req`.
struct SchedulesRequest {
  std::uint64_t req = 0;
};
struct ReloadRequest {
  std::uint64_t req = 0;
};
struct WorkersRequest {
  std::uint64_t req = 0;
};
struct StatsRequest {
  std::uint64_t req = 0;
};

void Encode(const StatusRequest& m, std::string* out);
void Encode(const ListRequest& m, std::string* out);
void Encode(const RetryRequest& m, std::string* out);
void Encode(const CancelJobRequest& m, std::string* out);
void Encode(const ExtractionsRequest& m, std::string* out);
void Encode(const RunRequest& m, std::string* out);
void Encode(const RunsRequest& m, std::string* out);
void Encode(const PauseRequest& m, std::string* out);
void Encode(const ResumeRequest& m, std::string* out);
void Encode(const SchedulesRequest& m, std::string* out);
void Encode(const ReloadRequest& m, std::string* out);
void Encode(const WorkersRequest& m, std::string* out);
void Encode(const StatsRequest& m, std::string* out);

Status Decode(std::string_view body, StatusRequest* out);
Status Decode(std::string_view body, ListRequest* out);
Status Decode(std::string_view body, RetryRequest* out);
Status Decode(std::string_view body, CancelJobRequest* out);
Status Decode(std::string_view body, ExtractionsRequest* out);
Status Decode(std::string_view body, RunRequest* out);
Status Decode(std::string_view body, RunsRequest* out);
Status Decode(std::string_view body, PauseRequest* out);
Status Decode(std::string_view body, ResumeRequest* out);
Status Decode(std::string_view body, SchedulesRequest* out);
Status Decode(std::string_view body, ReloadRequest* out);
Status Decode(std::string_view body, WorkersRequest* out);
Status Decode(std::string_view body, StatsRequest* out);

// A `limit` as the handler applies it: 0 -> `default_limit`.
inline std::uint32_t EffectiveLimit(std::uint32_t limit, std::uint32_t default_limit) {
  return limit == 0 ? default_limit : limit;
}

// True if `state` is one of kRunStates.
bool IsRunState(std::string_view state);

}  // namespace sluice::proto
