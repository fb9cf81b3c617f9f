#include "producers/client.h"

#include <cstring>

#include <algorithm>
#include <deque>
#include <utility>

#include <zmq.hpp>

#include "producers/job_spec.h"
#include "schemas/envelope.h"
#include "schemas/msgpack_json.h"
#include "schemas/msgpack_reader.h"
#include "schemas/requests.h"

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
  // Failed handshakes of `socket` (libzmq's socket monitor): a CURVE key the
  // broker refuses, or a broker that wants CURVE, fails a request at once
  // with the reason instead of waiting out the timeout in silence.
  zmq::socket_t monitor;
  bool curve = false;
};

namespace {

constexpr int kHandshakeEvents =
    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

// Why a handshake failed, from one monitor event (frames: 2-byte event,
// 4-byte value; then the endpoint).
std::string HandshakeFailure(zmq::socket_t& monitor, bool curve, const std::string& endpoint) {
  zmq::message_t event, address;
  if (!monitor.recv(event, zmq::recv_flags::dontwait)) return {};
  if (event.more()) (void)monitor.recv(address, zmq::recv_flags::dontwait);
  if (event.size() < 6) return {};
  std::uint16_t id;
  std::uint32_t value;
  std::memcpy(&id, event.data(), 2);
  std::memcpy(&value, static_cast<const char*>(event.data()) + 2, 4);
  if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
    return "the broker at " + endpoint + " refused this client's CURVE key (ZAP status " + std::to_string(value) +
           "): is its .pub in the broker's --authorized folder?";
  if (!curve)
    return "the handshake with the broker at " + endpoint +
           " failed: it may require CURVE (give --curve-key and --broker-key)";
  return "the CURVE handshake with the broker at " + endpoint +
         " failed: is --broker-key the broker's public key (and does the broker run with --curve-key)?";
}

}  // namespace

Result<Client> Client::Connect(const std::string& endpoint, ClientOptions options) {
  if (options.submit_window == 0) options.submit_window = 1;
  try {
    auto s = std::make_unique<Socket>();
    s->socket.set(zmq::sockopt::linger, 0);
    curve::ApplyClientKeys(s->socket, options.curve);
    s->curve = !options.curve.server_z85.empty();
    // The context is this client's own, so the inproc name is too.
    if (zmq_socket_monitor(s->socket.handle(), "inproc://sluice-client-monitor", kHandshakeEvents) == 0) {
      s->monitor = zmq::socket_t(s->context, zmq::socket_type::pair);
      s->monitor.set(zmq::sockopt::linger, 0);
      s->monitor.connect("inproc://sluice-client-monitor");
    }
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
    zmq::pollitem_t items[2] = {{socket_->socket.handle(), 0, ZMQ_POLLIN, 0},
                                {socket_->monitor.handle(), 0, ZMQ_POLLIN, 0}};
    const std::size_t n_items = socket_->monitor ? 2 : 1;
    try {
      zmq::poll(items, n_items, left);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return sluice::Status::Unavailable(std::string("poll failed: ") + e.what());
    }
    if (n_items == 2 && (items[1].revents & ZMQ_POLLIN)) {
      std::string why = HandshakeFailure(socket_->monitor, socket_->curve, endpoint_);
      if (!why.empty()) return sluice::Status::Unavailable(why);
    }
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
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

Result<std::string> Client::RoundTripBytes(proto::Command command, std::string_view body) {
  auto req = Send(command, body);
  if (!req.ok()) return req.status();
  auto reply = AwaitAny({*req});
  if (!reply.ok()) return reply.status();
  if (!reply->error.ok()) return reply->error;
  return std::move(reply->body);
}

Result<json> Client::RoundTrip(proto::Command command, std::string_view body) {
  auto bytes = RoundTripBytes(command, body);
  if (!bytes.ok()) return bytes.status();
  // Bounded like any decoder of peer input (schemas/msgpack_json.h).
  auto j = proto::MsgpackToJson(*bytes);
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

template <typename RequestT, typename ReplyT>
Result<ReplyT> Client::Call(proto::Command command, RequestT request, const char* field, bool array) {
  request.req = next_req_;  // Send() takes this same number
  std::string body;
  proto::Encode(request, &body);
  auto bytes = RoundTripBytes(command, body);
  if (!bytes.ok()) return bytes.status();
  const std::string name = proto::CommandName(static_cast<std::uint8_t>(command));
  // The reply's own field first: its absence says more than a decoder's
  // message (an old broker answering a run id with a job, say).
  msgpack::object_handle h;
  sluice::Status s = proto::UnpackBody(*bytes, &h);
  if (!s.ok())
    return sluice::Status::Internal("the broker's " + name +
                                    " reply is not a msgpack map with string keys: " + s.message());
  proto::MapReader r(h.get(), "reply");
  const msgpack::object* o = r.Find(field);
  const auto want = array ? msgpack::type::ARRAY : msgpack::type::MAP;
  if (o == nullptr || o->type != want)
    return sluice::Status::Internal("the broker's " + name + " reply has no '" + field + "' " +
                                    (array ? "array" : "map"));
  ReplyT reply;
  s = proto::Decode(*bytes, &reply);
  if (!s.ok()) return sluice::Status::Internal("the broker's " + name + " reply: " + s.message());
  return reply;
}

Result<proto::JobView> Client::Status(const std::string& id) {
  auto r = Call<proto::StatusRequest, proto::JobReply>(proto::Command::kStatus, {.id = id}, "job", false);
  if (!r.ok()) return r.status();
  return std::move(r->job);
}

Result<std::vector<proto::JobView>> Client::List(const ListFilter& filter) {
  proto::ListRequest m{.state = filter.state, .queue = filter.queue, .kind = filter.kind, .limit = filter.limit};
  auto r = Call<proto::ListRequest, proto::ListReply>(proto::Command::kList, std::move(m), "jobs", true);
  if (!r.ok()) return r.status();
  return std::move(r->jobs);
}

Result<proto::JobView> Client::Retry(const std::string& id) {
  auto r = Call<proto::RetryRequest, proto::JobReply>(proto::Command::kRetry, {.id = id}, "job", false);
  if (!r.ok()) return r.status();
  return std::move(r->job);
}

Result<proto::JobView> Client::Cancel(const std::string& id) {
  auto r = Call<proto::CancelJobRequest, proto::JobReply>(proto::Command::kCancelJob, {.id = id}, "job", false);
  if (!r.ok()) return r.status();
  return std::move(r->job);
}

Result<std::vector<proto::WorkerView>> Client::Workers() {
  auto r = Call<proto::WorkersRequest, proto::WorkersReply>(proto::Command::kWorkers, {}, "workers", true);
  if (!r.ok()) return r.status();
  return std::move(r->workers);
}

Result<proto::StatsView> Client::Stats() {
  auto r = Call<proto::StatsRequest, proto::StatsReply>(proto::Command::kStats, {}, "stats", false);
  if (!r.ok()) return r.status();
  return std::move(r->stats);
}

Result<std::vector<proto::ExtractionRow>> Client::Extractions(const std::string& source, std::int64_t limit) {
  if (limit < 0 || limit > static_cast<std::int64_t>(proto::kMaxLimit))
    return sluice::Status::InvalidArgument("limit must be 0-" + std::to_string(proto::kMaxLimit));
  proto::ExtractionsRequest m{.source = source, .limit = static_cast<std::uint32_t>(limit)};
  auto r = Call<proto::ExtractionsRequest, proto::ExtractionsReply>(proto::Command::kExtractions,
                                                                    std::move(m), "extractions", true);
  if (!r.ok()) return r.status();
  return std::move(r->extractions);
}

Result<proto::RunView> Client::Run(const std::string& workflow, const std::map<std::string, std::string>& params) {
  auto r = Call<proto::RunRequest, proto::RunReply>(proto::Command::kRun,
                                                    {.workflow = workflow, .params = params}, "run", false);
  if (!r.ok()) return r.status();
  return std::move(r->run);
}

Result<std::vector<proto::RunView>> Client::Runs(const std::string& workflow, const std::string& state,
                                                 std::uint32_t limit) {
  proto::RunsRequest m{.workflow = workflow, .state = state, .limit = limit};
  auto r = Call<proto::RunsRequest, proto::RunsReply>(proto::Command::kRuns, std::move(m), "runs", true);
  if (!r.ok()) return r.status();
  return std::move(r->runs);
}

Result<proto::RunView> Client::RunStatus(const std::string& id) {
  auto r = Call<proto::StatusRequest, proto::RunReply>(proto::Command::kStatus, {.id = id}, "run", false);
  if (!r.ok()) return r.status();
  return std::move(r->run);
}

Result<proto::RunView> Client::CancelRun(const std::string& id) {
  auto r = Call<proto::CancelJobRequest, proto::RunReply>(proto::Command::kCancelJob, {.id = id}, "run", false);
  if (!r.ok()) return r.status();
  return std::move(r->run);
}

Result<std::vector<proto::ScheduleView>> Client::Schedules() {
  auto r = Call<proto::SchedulesRequest, proto::SchedulesReply>(proto::Command::kSchedules, {},
                                                                "schedules", true);
  if (!r.ok()) return r.status();
  return std::move(r->schedules);
}

Result<proto::ScheduleView> Client::Pause(const std::string& workflow) {
  auto r = Call<proto::PauseRequest, proto::ScheduleReply>(proto::Command::kPause, {.workflow = workflow},
                                                           "schedule", false);
  if (!r.ok()) return r.status();
  return std::move(r->schedule);
}

Result<proto::ScheduleView> Client::Resume(const std::string& workflow) {
  auto r = Call<proto::ResumeRequest, proto::ScheduleReply>(proto::Command::kResume, {.workflow = workflow},
                                                            "schedule", false);
  if (!r.ok()) return r.status();
  return std::move(r->schedule);
}

Result<proto::ReloadReply> Client::Reload() {
  proto::ReloadRequest m;
  m.req = next_req_;  // Send() takes this same number
  std::string body;
  proto::Encode(m, &body);
  auto bytes = RoundTripBytes(proto::Command::kReload, body);
  if (!bytes.ok()) return bytes.status();
  proto::ReloadReply reply;
  sluice::Status s = proto::Decode(*bytes, &reply);
  if (!s.ok()) return sluice::Status::Internal("the broker's RELOAD reply has no 'workflows' count: " + s.message());
  return reply;
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
  return SubmitChecked(jobs);
}

Result<std::vector<proto::SubmittedJob>> Client::SubmitChecked(const std::vector<proto::JobSpec>& jobs) {
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
