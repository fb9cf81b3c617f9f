#include "producers/client.h"

#include <algorithm>
#include <deque>
#include <utility>

#include <zmq.hpp>

#include "producers/job_spec.h"
#include "schemas/envelope.h"
#include "schemas/msgpack_json.h"

namespace sluice {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// ERROR code -> Status, message "<code>: <message>".
sluice::Status FromBrokerError(const proto::ErrorMsg& e) {
  std::string msg = e.code + ": " + e.message;
  if (e.code == proto::err::kBadRequest) return sluice::Status::InvalidArgument(std::move(msg));
  if (e.code == proto::err::kNotFound) return sluice::Status::NotFound(std::move(msg));
  if (e.code == proto::err::kInvalidState) return sluice::Status::Conflict(std::move(msg));
  if (e.code == proto::err::kShuttingDown) return sluice::Status::Unavailable(std::move(msg));
  return sluice::Status::Internal(std::move(msg));
}

// `s` with its code and another message.
sluice::Status WithMessage(const sluice::Status& s, std::string msg) {
  switch (s.code()) {
    case Code::kOk: return s;
    case Code::kInvalidArgument: return sluice::Status::InvalidArgument(std::move(msg));
    case Code::kNotFound: return sluice::Status::NotFound(std::move(msg));
    case Code::kConflict: return sluice::Status::Conflict(std::move(msg));
    case Code::kIOError: return sluice::Status::IOError(std::move(msg));
    case Code::kCorruption: return sluice::Status::Corruption(std::move(msg));
    case Code::kUnavailable: return sluice::Status::Unavailable(std::move(msg));
    case Code::kInternal: return sluice::Status::Internal(std::move(msg));
  }
  return sluice::Status::Internal(std::move(msg));
}

std::string Seconds(std::chrono::milliseconds d) {
  const auto ms = d.count();
  std::string s = std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    std::string frac = std::to_string(1000 + ms % 1000).substr(1);
    while (frac.back() == '0') frac.pop_back();
    s += "." + frac;
  }
  return s + " s";
}

}  // namespace

struct Client::Socket {
  zmq::context_t context{1};
  zmq::socket_t socket{context, zmq::socket_type::dealer};
};

Result<Client> Client::Connect(const std::string& endpoint, ClientOptions options) {
  if (options.submit_window == 0) options.submit_window = 1;
  try {
    auto s = std::make_unique<Socket>();
    s->socket.set(zmq::sockopt::linger, 0);
    s->socket.connect(endpoint);
    return Client(endpoint, options, std::move(s));
  } catch (const zmq::error_t& e) {
    return sluice::Status::InvalidArgument("cannot connect to '" + endpoint + "': " + e.what());
  }
}

Client::Client(std::string endpoint, ClientOptions options, std::unique_ptr<Socket> socket)
    : endpoint_(std::move(endpoint)), options_(options), socket_(std::move(socket)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

Result<std::uint64_t> Client::Send(proto::Command command, std::string_view body) {
  const std::uint64_t req = next_req_++;
  if (!proto::SendMessage(socket_->socket, {}, command, body))
    return sluice::Status::Unavailable("cannot send to the broker at " + endpoint_ +
                                       ": its queue is full");
  return req;
}

Result<Client::Reply> Client::AwaitAny(const std::vector<std::uint64_t>& pending) {
  const auto deadline = Clock::now() + options_.timeout;
  while (true) {
    const auto now = Clock::now();
    if (now >= deadline) break;
    // Rounded up, so that a silent broker is given the whole timeout.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    zmq::pollitem_t item{socket_->socket.handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, left);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return sluice::Status::Unavailable(std::string("poll failed: ") + e.what());
    }
    if (!(item.revents & ZMQ_POLLIN)) continue;
    // Read what is waiting until the answer we want; anything left stays
    // queued for the next wait (another pipelined SUBMIT's answer).
    try {
      proto::Incoming in;
      proto::FrameError frame_error;
      while (proto::ReceiveMessage(socket_->socket, false, &in, &frame_error)) {
        if (frame_error != proto::FrameError::kNone) continue;  // not ours: drop
        Reply reply;
        if (in.command == static_cast<std::uint8_t>(proto::Command::kReply)) {
          reply.req = proto::PeekReq(in.body);
          reply.body.assign(in.body);
        } else if (in.command == static_cast<std::uint8_t>(proto::Command::kError)) {
          proto::ErrorMsg e;
          if (!proto::Decode(in.body, &e).ok()) continue;
          reply.req = e.req;
          reply.error = FromBrokerError(e);
          // req 0: the broker could not read our req; it answers the oldest.
          if (reply.req == 0 && !pending.empty())
            reply.req = *std::min_element(pending.begin(), pending.end());
        } else {
          continue;  // HEARTBEAT or anything else is not for a client
        }
        if (std::find(pending.begin(), pending.end(), reply.req) != pending.end()) return reply;
        // A stale answer to a request that already timed out: discarded.
      }
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) return sluice::Status::Unavailable(std::string("receive failed: ") + e.what());
    }
  }
  return sluice::Status::Unavailable("no answer from the broker at " + endpoint_ + " within " +
                                     Seconds(options_.timeout));
}

Result<json> Client::RoundTrip(proto::Command command, std::string_view body) {
  auto req = Send(command, body);
  if (!req.ok()) return req.status();
  auto reply = AwaitAny({*req});
  if (!reply.ok()) return reply.status();
  if (!reply->error.ok()) return reply->error;
  // Bounded like any decoder of peer input (schemas/msgpack_json.h).
  auto j = proto::MsgpackToJson(reply->body);
  if (!j.ok() || !j->is_object())
    return sluice::Status::Internal("the broker's " +
                                    std::string(proto::CommandName(static_cast<std::uint8_t>(command))) +
                                    " reply is not a msgpack map with string keys" +
                                    (j.ok() ? "" : ": " + j.status().message()));
  return std::move(j).value();
}

Result<json> Client::Request(proto::Command command, json body) {
  if (body.is_null()) body = json::object();
  if (!body.is_object()) return sluice::Status::InvalidArgument("a request body must be a JSON object");
  body["req"] = next_req_;  // Send() takes this same number
  std::string packed;
  json::to_msgpack(body, packed);
  return RoundTrip(command, packed);
}

Result<json> Client::RequestField(proto::Command command, json body, const char* field,
                                  json::value_t type) {
  auto reply = Request(command, std::move(body));
  if (!reply.ok()) return reply.status();
  auto it = reply->find(field);
  if (it == reply->end() || it->type() != type)
    return sluice::Status::Internal(
        std::string("the broker's ") + proto::CommandName(static_cast<std::uint8_t>(command)) +
        " reply has no '" + field + "' " + (type == json::value_t::array ? "array" : "map"));
  return std::move(*it);
}

Result<json> Client::Status(const std::string& id) {
  return RequestField(proto::Command::kStatus, {{"id", id}}, "job", json::value_t::object);
}

Result<json> Client::List(const ListFilter& filter) {
  json body = json::object();
  if (!filter.state.empty()) body["state"] = filter.state;
  if (!filter.queue.empty()) body["queue"] = filter.queue;
  if (!filter.kind.empty()) body["kind"] = filter.kind;
  if (filter.limit != 0) body["limit"] = filter.limit;
  return RequestField(proto::Command::kList, std::move(body), "jobs", json::value_t::array);
}

Result<json> Client::Retry(const std::string& id) {
  return RequestField(proto::Command::kRetry, {{"id", id}}, "job", json::value_t::object);
}

Result<json> Client::Cancel(const std::string& id) {
  return RequestField(proto::Command::kCancelJob, {{"id", id}}, "job", json::value_t::object);
}

Result<json> Client::Workers() {
  return RequestField(proto::Command::kWorkers, json::object(), "workers", json::value_t::array);
}

Result<json> Client::Stats() {
  return RequestField(proto::Command::kStats, json::object(), "stats", json::value_t::object);
}

Result<json> Client::Extractions(const std::string& source, std::int64_t limit) {
  json body = {{"limit", limit}};
  if (!source.empty()) body["source"] = source;
  return RequestField(proto::Command::kExtractions, std::move(body), "extractions",
                      json::value_t::array);
}

Result<json> Client::Run(const std::string& workflow, const std::map<std::string, std::string>& params) {
  json body = {{"workflow", workflow}};
  if (!params.empty()) body["params"] = params;
  return RequestField(proto::Command::kRun, std::move(body), "run", json::value_t::object);
}

Result<json> Client::Runs(const std::string& workflow, const std::string& state, std::uint32_t limit) {
  json body = json::object();
  if (!workflow.empty()) body["workflow"] = workflow;
  if (!state.empty()) body["state"] = state;
  if (limit != 0) body["limit"] = limit;
  return RequestField(proto::Command::kRuns, std::move(body), "runs", json::value_t::array);
}

Result<json> Client::RunStatus(const std::string& id) {
  return RequestField(proto::Command::kStatus, {{"id", id}}, "run", json::value_t::object);
}

Result<json> Client::CancelRun(const std::string& id) {
  return RequestField(proto::Command::kCancelJob, {{"id", id}}, "run", json::value_t::object);
}

Result<json> Client::Schedules() {
  return RequestField(proto::Command::kSchedules, json::object(), "schedules", json::value_t::array);
}

Result<json> Client::Pause(const std::string& workflow) {
  return RequestField(proto::Command::kPause, {{"workflow", workflow}}, "schedule",
                      json::value_t::object);
}

Result<json> Client::Resume(const std::string& workflow) {
  return RequestField(proto::Command::kResume, {{"workflow", workflow}}, "schedule",
                      json::value_t::object);
}

Result<json> Client::Reload() {
  auto reply = Request(proto::Command::kReload, json::object());
  if (!reply.ok()) return reply.status();
  auto workflows = reply->find("workflows");
  if (workflows == reply->end() || !workflows->is_number_integer())
    return sluice::Status::Internal("the broker's RELOAD reply has no 'workflows' count");
  json out = std::move(*reply);
  out.erase("req");
  out.erase("ok");
  return out;
}

std::string Client::EncodeSubmit(const std::vector<proto::JobSpec>& specs, std::size_t begin,
                                 std::size_t end, std::uint64_t req) const {
  proto::Submit submit;
  submit.req = req;
  submit.jobs.assign(specs.begin() + static_cast<std::ptrdiff_t>(begin),
                     specs.begin() + static_cast<std::ptrdiff_t>(end));
  std::string body;
  proto::Encode(submit, &body);
  return body;
}

Result<std::vector<proto::SubmittedJob>> Client::Submit(const std::vector<proto::JobSpec>& jobs) {
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    sluice::Status s = ValidateJobSpec(jobs[i]);
    if (!s.ok()) return sluice::Status::InvalidArgument("jobs[" + std::to_string(i) + "]: " + s.message());
  }
  std::vector<proto::SubmittedJob> out(jobs.size());
  struct InFlight {
    std::uint64_t req;
    std::size_t begin, end;
  };
  std::deque<InFlight> in_flight;
  std::size_t next = 0;       // first spec not yet sent
  std::size_t confirmed = 0;  // jobs the broker answered for
  // The first failure and the batch it hit; once set, nothing more is sent,
  // but answers still in flight are collected so the count is honest.
  sluice::Status failure;
  InFlight failed{};
  auto fail = [&](const InFlight& f, sluice::Status s) {
    if (!failure.ok()) return;
    failure = std::move(s);
    failed = f;
  };

  while (next < jobs.size() || !in_flight.empty()) {
    // Fill the window, then wait for any answer.
    while (failure.ok() && next < jobs.size() && in_flight.size() < options_.submit_window) {
      const std::size_t end = std::min(jobs.size(), next + proto::kMaxJobsPerSubmit);
      const std::uint64_t req = next_req_;  // Send() takes this number
      auto sent = Send(proto::Command::kSubmit, EncodeSubmit(jobs, next, end, req));
      if (!sent.ok()) {
        fail({req, next, end}, sent.status());
        break;
      }
      in_flight.push_back({req, next, end});
      next = end;
    }
    if (in_flight.empty()) break;
    std::vector<std::uint64_t> pending;
    for (const auto& f : in_flight) pending.push_back(f.req);
    auto reply = AwaitAny(pending);
    if (!reply.ok()) {
      // Silence: what is still in flight may or may not have been committed.
      fail(in_flight.front(), reply.status());
      break;
    }
    auto it = std::find_if(in_flight.begin(), in_flight.end(),
                           [&](const InFlight& f) { return f.req == reply->req; });
    const InFlight f = *it;
    in_flight.erase(it);
    if (!reply->error.ok()) {
      fail(f, reply->error);
      continue;
    }
    proto::SubmitReply decoded;
    sluice::Status s = proto::Decode(reply->body, &decoded);
    if (!s.ok()) {
      fail(f, sluice::Status::Internal("bad SUBMIT reply: " + s.message()));
    } else if (decoded.jobs.size() != f.end - f.begin) {
      fail(f, sluice::Status::Internal("the broker answered " + std::to_string(decoded.jobs.size()) +
                                       " jobs for " + std::to_string(f.end - f.begin)));
    } else {
      std::move(decoded.jobs.begin(), decoded.jobs.end(),
                out.begin() + static_cast<std::ptrdiff_t>(f.begin));
      confirmed += f.end - f.begin;
    }
  }
  if (!failure.ok()) {
    // Same code, the message names the batch (and, for a split submission,
    // what was committed nonetheless).
    std::string msg = failure.message();
    if (jobs.size() > proto::kMaxJobsPerSubmit)
      msg += " (submitting jobs[" + std::to_string(failed.begin) + ".." +
             std::to_string(failed.end - 1) + "]; " + std::to_string(confirmed) + " of " +
             std::to_string(jobs.size()) + " jobs were confirmed submitted)";
    return WithMessage(failure, std::move(msg));
  }
  return out;
}

}  // namespace sluice
