// WireClient: a small DEALER peer that speaks the sluice protocol directly
// (schemas/PROTOCOL.md), so the integration tests and the benchmark depend
// only on the spec and the broker, not on the CLI or the client library.
//
// Requests are msgpack maps built from nlohmann::json (to_msgpack), except
// SUBMIT, which uses the proto::Submit encoder so that big batches are cheap.
// Replies are decoded back to nlohmann::json (from_msgpack). Raw Send*()
// calls exist for the bad-input tests.
//
// Not thread-safe: one socket, one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "schemas/curve_cert.h"
#include "schemas/messages.h"
#include "schemas/protocol.h"

namespace sluice::testing {

using nlohmann::json;
using Ms = std::chrono::milliseconds;

// A msgpack map encoded from a JSON object (for params).
std::string MsgpackMap(const json& object);

// One message received on the DEALER side.
struct WireMessage {
  std::vector<std::string> frames;  // all frames, as received
  std::uint8_t command = 0;         // frames[1][0] when there is one
  std::string body;                 // frames[2] when there is one
  // The body decoded as JSON; a discarded value when it is not msgpack.
  json Json() const;
};

// The answer to one request.
struct Answer {
  enum class Kind { kReply, kError, kTimeout, kUndecodable };
  Kind kind = Kind::kTimeout;
  json body;  // the decoded body (REPLY or ERROR)
  bool ok() const { return kind == Kind::kReply; }
  // ERROR `code`, or "" when not an ERROR.
  std::string code() const;
  std::string Describe() const;  // for failure messages
};

class WireClient {
 public:
  explicit WireClient(const std::string& endpoint);
  // A CURVE client of a broker with --curve-key.
  WireClient(const std::string& endpoint, const curve::ClientKeys& keys);
  ~WireClient();
  WireClient(const WireClient&) = delete;
  WireClient& operator=(const WireClient&) = delete;

  zmq::socket_t& socket() { return socket_; }
  // The `req` of the last request sent.
  std::uint64_t last_req() const { return last_req_; }

  // --- raw access -------------------------------------------------------
  // Sends exactly these frames. False if ZeroMQ refused (would block).
  bool SendFrames(const std::vector<std::string>& frames, Ms timeout = Ms(5000));
  // Sends a sluice-framed message (version frame, command byte, body).
  bool Send(proto::Command command, std::string_view body, Ms timeout = Ms(5000));
  // The next message, or nullopt after `timeout`.
  std::optional<WireMessage> Receive(Ms timeout);

  // --- requests ---------------------------------------------------------
  // Sends `body` (a JSON object; `req` is filled in) and waits for the
  // REPLY/ERROR carrying the same `req`. Other messages are dropped.
  Answer Request(proto::Command command, json body, Ms timeout = Ms(30000));

  // SUBMIT of a batch; on success `out` gets the replies in order.
  Answer Submit(const std::vector<proto::JobSpec>& jobs, std::vector<proto::SubmittedJob>* out,
                Ms timeout = Ms(60000));
  // Pipelining: sends a SUBMIT and returns its `req` without waiting.
  // `notify`: the broker pushes DONE for each job when it ends.
  // `send_timeout`: how long the send may block. A DEALER whose only
  // connection failed its handshake (a refused CURVE key) has no pipe left
  // to queue into, and blocks.
  std::uint64_t SendSubmit(const std::vector<proto::JobSpec>& jobs, bool notify = false,
                           Ms send_timeout = Ms(60000));
  // The next SUBMIT reply (any req). nullopt on timeout; an ERROR yields a
  // reply with no jobs and `error` set.
  struct SubmitAnswer {
    std::uint64_t req = 0;
    std::vector<proto::SubmittedJob> jobs;
    std::string error;  // "" on success
    // A DONE (after SUBMIT notify) instead of a reply: req 0, no jobs.
    std::optional<proto::DoneMsg> done;
  };
  std::optional<SubmitAnswer> ReceiveSubmitReply(Ms timeout);

  Answer Status(const std::string& id, Ms timeout = Ms(30000));
  Answer Stats(Ms timeout = Ms(30000));
  Answer Workers(Ms timeout = Ms(30000));
  Answer List(json filter, Ms timeout = Ms(30000));
  Answer Retry(const std::string& id, Ms timeout = Ms(30000));
  Answer Cancel(const std::string& id, Ms timeout = Ms(30000));

  // Convenience: the `job` object of STATUS, or a discarded json on failure.
  json Job(const std::string& id, Ms timeout = Ms(30000));
  // Convenience: STATS `jobs.<state>` (0 when absent), or -1 when STATS failed.
  std::int64_t CountInState(const std::string& state, Ms timeout = Ms(30000));

 private:
  std::uint64_t NextReq() { return ++last_req_; }

  zmq::context_t context_;
  zmq::socket_t socket_;
  std::uint64_t last_req_ = 0;
};

// A job spec with the common fields filled in.
proto::JobSpec Spec(std::string kind, const json& params = json::object(),
                    std::uint32_t max_attempts = 0);

}  // namespace sluice::testing
