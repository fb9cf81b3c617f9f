// sluice::Client — the C++ client library: submit and query jobs on a
// sluice broker over one ZeroMQ DEALER socket (schemas/PROTOCOL.md §6).
//
//   auto client = sluice::Client::Connect("tcp://127.0.0.1:5555");
//   if (!client.ok()) ...;
//   proto::JobSpec spec;
//   spec.kind = "exec";
//   auto ids = client->Submit({spec});        // Result<std::vector<SubmittedJob>>
//   auto job = client->Status(ids->at(0).id); // Result<proto::JobView>
//
// Contract:
// - No exception crosses this API: every call returns a Status or Result.
// - Every request waits at most `timeout` for its answer; a broker that does
//   not answer in time gives Code::kUnavailable. Nothing ever blocks longer.
//   A failed handshake (the broker refuses this client's CURVE key, or wants
//   CURVE from a client without keys) gives kUnavailable at once, saying so.
//   A late answer to a timed-out request is discarded when it arrives.
// - A broker ERROR becomes a Status whose message is "<code>: <message>"
//   (e.g. "not_found: no job j9"), with the Code mapped as:
//     bad_request -> kInvalidArgument, not_found -> kNotFound,
//     invalid_state -> kConflict, shutting_down -> kUnavailable,
//     anything else (internal, forbidden, version, unknown_command, ...) -> kInternal.
//   Failures on this side (no answer, a reply that is not a msgpack map) have
//   messages that do not start with "<code>: ".
// - Replies are matched by `req`; a reply whose `req` belongs to no pending
//   request (a late answer) is discarded. An ERROR with req 0 (the broker
//   could not read our request's req) answers the oldest pending request.
// - Requests are encoded and replies decoded with the typed codecs of
//   schemas/requests.h and schemas/replies.h: jobs, runs, workers, schedules
//   and extract runs come back as views (proto::ToJson gives the JSON the
//   broker built for them). A reply without its field, or with one of the
//   wrong type, is kInternal ("the broker's STATUS reply has no 'run' map").
//   Fields a newer broker adds are not kept; STATS is a document
//   (proto::StatsView) and keeps everything.
// - A Client is not thread-safe; use one per thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "schemas/curve_cert.h"
#include "schemas/messages.h"
#include "schemas/protocol.h"
#include "schemas/replies.h"
#include "schemas/status.h"

namespace sluice {

struct ClientOptions {
  // How long one request waits for its answer. For a pipelined Submit(), how
  // long it waits without any answer arriving.
  std::chrono::milliseconds timeout{5000};
  // How many SUBMIT messages Submit() keeps in flight when it splits a large
  // batch (>= 1).
  std::size_t submit_window = 4;
  // CURVE (schemas/curve_cert.h): this client's key pair and the broker's
  // public key; empty: a plain connection (a loopback broker).
  curve::ClientKeys curve;
};

// LIST filters; empty / 0 means "any" / the broker's default limit (100).
struct ListFilter {
  std::string state;  // one job state name, e.g. "queued"
  std::string queue;
  std::string kind;
  std::uint32_t limit = 0;  // at most 10,000
};

class Client {
 public:
  // Creates the socket and connects it to `endpoint` (e.g.
  // "tcp://127.0.0.1:5555"). ZeroMQ connects in the background, so success
  // does not mean a broker is there: the first request tells (kUnavailable).
  // A malformed endpoint gives kInvalidArgument.
  static Result<Client> Connect(const std::string& endpoint, ClientOptions options = {});

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();  // closes the socket at once (ZMQ_LINGER 0): unsent requests are dropped

  const std::string& endpoint() const { return endpoint_; }
  std::chrono::milliseconds timeout() const { return options_.timeout; }
  void set_timeout(std::chrono::milliseconds timeout) { options_.timeout = timeout; }

  // Submits jobs, answering one {id, created, state} per spec, in order.
  // Every spec is checked against the SUBMIT contract first; an invalid one
  // fails the call with kInvalidArgument naming "jobs[i]" and nothing is sent.
  // More than proto::kMaxJobsPerSubmit specs are sent as several SUBMITs,
  // up to `submit_window` in flight at once. Each SUBMIT is all-or-nothing on
  // the broker, but a batch split into several is not: if one fails, the
  // error message says how many jobs were confirmed submitted before.
  // An empty `jobs` succeeds with no round trip.
  Result<std::vector<proto::SubmittedJob>> Submit(const std::vector<proto::JobSpec>& jobs);
  // Submit() of specs that each passed ValidateJobSpec already (the CLI
  // checks each as it builds it, to name the flag or line): not checked twice.
  Result<std::vector<proto::SubmittedJob>> SubmitChecked(const std::vector<proto::JobSpec>& jobs);

  // STATUS: the job, with params, outputs and attempts (`detail`).
  Result<proto::JobView> Status(const std::string& id);
  // LIST: jobs, newest first.
  Result<std::vector<proto::JobView>> List(const ListFilter& filter);
  // RETRY: the job after the retry.
  Result<proto::JobView> Retry(const std::string& id);
  // CANCEL_JOB: the job after the cancel.
  Result<proto::JobView> Cancel(const std::string& id);
  // WORKERS: the connected workers.
  Result<std::vector<proto::WorkerView>> Workers();
  // STATS: the `stats` document.
  Result<proto::StatsView> Stats();
  // EXTRACTIONS: the newest extract runs (of `source`, if not empty); a
  // `limit` of 0 is the broker's default (50), at most proto::kMaxLimit.
  Result<std::vector<proto::ExtractionRow>> Extractions(const std::string& source, std::int64_t limit);

  // Workflow runs (PROTOCOL.md §6.9-6.13). A run id is `r` and digits.
  // RUN: starts a run of `workflow` with these params (registry defaults are
  // filled in by the broker; `date` sets the logical date); the run object.
  // Empty `params` sends none.
  Result<proto::RunView> Run(const std::string& workflow,
                             const std::map<std::string, std::string>& params = {});
  // RUNS: runs, newest first; empty `workflow` / `state` and a 0 `limit`
  // (the broker's default, 50) mean "any".
  Result<std::vector<proto::RunView>> Runs(const std::string& workflow, const std::string& state,
                                           std::uint32_t limit);
  // STATUS of a run id: the run (Status() is for job ids).
  Result<proto::RunView> RunStatus(const std::string& id);
  // CANCEL_JOB of a run id: cancels its unfinished stages; the run.
  Result<proto::RunView> CancelRun(const std::string& id);
  // SCHEDULES: the schedule entries, one per workflow, by name.
  Result<std::vector<proto::ScheduleView>> Schedules();
  // PAUSE / RESUME a workflow's schedule: the schedule entry after it.
  Result<proto::ScheduleView> Pause(const std::string& workflow);
  Result<proto::ScheduleView> Resume(const std::string& workflow);
  // RELOAD: the broker reads its registry file again; answers `workflows`
  // and `path`. A file that does not load is kInvalidArgument
  // ("bad_request: ...") and the broker keeps the old registry.
  Result<proto::ReloadReply> Reload();

  // Any client command: `body` must be a JSON object (or null for an empty
  // one); its `req` is set here. Returns the whole REPLY map (with `req` and
  // `ok`) as JSON.
  Result<nlohmann::json> Request(proto::Command command, nlohmann::json body);

 private:
  struct Socket;  // the ZeroMQ context and socket
  struct Reply {
    std::uint64_t req = 0;
    sluice::Status error;  // not ok: the broker answered ERROR
    std::string body;      // the REPLY's msgpack body
  };

  Client(std::string endpoint, ClientOptions options, std::unique_ptr<Socket> socket);

  // Sends one request; returns its req, or kUnavailable if it cannot be queued.
  Result<std::uint64_t> Send(proto::Command command, std::string_view body);
  // Waits until one of `pending` is answered or `timeout` passes with no
  // answer (kUnavailable). Answers to other reqs are discarded.
  Result<Reply> AwaitAny(const std::vector<std::uint64_t>& pending);
  // Send + AwaitAny: the REPLY's msgpack body, or the broker's ERROR.
  Result<std::string> RoundTripBytes(proto::Command command, std::string_view body);
  // Send + AwaitAny + decode the REPLY body into JSON.
  Result<nlohmann::json> RoundTrip(proto::Command command, std::string_view body);
  // Encodes `request` (with a new req), sends it and decodes the REPLY as
  // `ReplyT`, whose `field` must be there as a map (or an array, `array`).
  template <typename RequestT, typename ReplyT>
  Result<ReplyT> Call(proto::Command command, RequestT request, const char* field, bool array);
  // Encodes one SUBMIT of specs[begin, end) with a new req.
  std::string EncodeSubmit(const std::vector<proto::JobSpec>& specs, std::size_t begin,
                           std::size_t end, std::uint64_t req) const;

  std::string endpoint_;
  ClientOptions options_;
  std::unique_ptr<Socket> socket_;
  std::uint64_t next_req_ = 1;  // 0 is never used: the broker's "unknown req"
};

}  // namespace sluice
