#include "tests/integration/wire_client.h"

#include <chrono>

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

Ms Remaining(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now());
  return left.count() > 0 ? left : Ms(0);
}

std::string ToBytes(const std::vector<std::uint8_t>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

}  // namespace

std::string MsgpackMap(const json& object) { return ToBytes(json::to_msgpack(object)); }

json WireMessage::Json() const {
  if (body.empty()) return json::object();
  return json::from_msgpack(body, /*strict=*/true, /*allow_exceptions=*/false);
}

std::string Answer::code() const {
  if (kind != Kind::kError) return {};
  if (body.is_object() && body.contains("code") && body["code"].is_string())
    return body["code"].get<std::string>();
  return "?";
}

std::string Answer::Describe() const {
  switch (kind) {
    case Kind::kReply: return "REPLY " + body.dump();
    case Kind::kError: return "ERROR " + body.dump();
    case Kind::kTimeout: return "no answer before the timeout";
    case Kind::kUndecodable: return "an answer whose body is not msgpack";
  }
  return "?";
}

WireClient::WireClient(const std::string& endpoint) : WireClient(endpoint, curve::ClientKeys{}) {}

WireClient::WireClient(const std::string& endpoint, const curve::ClientKeys& keys)
    : context_(1), socket_(context_, zmq::socket_type::dealer) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::rcvhwm, 0);
  socket_.set(zmq::sockopt::sndhwm, 0);
  curve::ApplyClientKeys(socket_, keys);
  socket_.connect(endpoint);
}

WireClient::~WireClient() { socket_.close(); }

bool WireClient::SendFrames(const std::vector<std::string>& frames, Ms timeout) {
  socket_.set(zmq::sockopt::sndtimeo, static_cast<int>(timeout.count()));
  try {
    for (std::size_t i = 0; i < frames.size(); ++i) {
      auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      if (!socket_.send(zmq::buffer(frames[i]), flags)) return false;
    }
  } catch (const zmq::error_t&) {
    return false;
  }
  return true;
}

bool WireClient::Send(proto::Command command, std::string_view body, Ms timeout) {
  std::vector<std::string> frames{std::string(proto::kProtocol),
                                  std::string(1, static_cast<char>(command))};
  if (!body.empty()) frames.emplace_back(body);
  return SendFrames(frames, timeout);
}

std::optional<WireMessage> WireClient::Receive(Ms timeout) {
  // A message already queued is taken without a poll (a poll of a ZeroMQ
  // socket is several system calls; the benches call this in a loop).
  zmq::message_t first;
  if (!socket_.recv(first, zmq::recv_flags::dontwait)) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) <= 0) return std::nullopt;
    if (!socket_.recv(first, zmq::recv_flags::none)) return std::nullopt;
  }
  WireMessage m;
  m.frames.emplace_back(first.data<char>(), first.size());
  for (bool more = first.more(); more;) {
    zmq::message_t frame;
    if (!socket_.recv(frame, zmq::recv_flags::none)) return std::nullopt;
    m.frames.emplace_back(frame.data<char>(), frame.size());
    more = frame.more();
  }
  if (m.frames.size() >= 2 && m.frames[1].size() == 1)
    m.command = static_cast<std::uint8_t>(m.frames[1][0]);
  if (m.frames.size() >= 3) m.body = m.frames[2];
  return m;
}

Answer WireClient::Request(proto::Command command, json body, Ms timeout) {
  auto deadline = Clock::now() + timeout;
  const std::uint64_t req = NextReq();
  body["req"] = req;
  Answer a;
  if (!Send(command, MsgpackMap(body), timeout)) return a;
  while (true) {
    auto m = Receive(Remaining(deadline));
    if (!m) return a;  // timeout
    if (m->command != static_cast<std::uint8_t>(proto::Command::kReply) &&
        m->command != static_cast<std::uint8_t>(proto::Command::kError))
      continue;
    json j = m->Json();
    if (j.is_discarded() || !j.is_object()) {
      a.kind = Answer::Kind::kUndecodable;
      return a;
    }
    if (!j.contains("req") || !j["req"].is_number_unsigned() || j["req"].get<std::uint64_t>() != req) {
      // A stale answer to an earlier request, or an ERROR with req 0 for a
      // message of ours that could not be decoded: the latter is our answer.
      if (!(m->command == static_cast<std::uint8_t>(proto::Command::kError) &&
            (!j.contains("req") || j["req"] == 0)))
        continue;
    }
    a.kind = m->command == static_cast<std::uint8_t>(proto::Command::kReply) ? Answer::Kind::kReply
                                                                             : Answer::Kind::kError;
    a.body = std::move(j);
    return a;
  }
}

std::uint64_t WireClient::SendSubmit(const std::vector<proto::JobSpec>& jobs, bool notify, Ms send_timeout) {
  proto::Submit s;
  s.req = NextReq();
  s.jobs = jobs;
  s.notify = notify;
  std::string body;
  proto::Encode(s, &body);
  Send(proto::Command::kSubmit, body, send_timeout);
  return s.req;
}

std::optional<WireClient::SubmitAnswer> WireClient::ReceiveSubmitReply(Ms timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    auto m = Receive(Remaining(deadline));
    if (!m) return std::nullopt;
    SubmitAnswer a;
    if (m->command == static_cast<std::uint8_t>(proto::Command::kReply)) {
      proto::SubmitReply r;
      auto st = proto::Decode(m->body, &r);
      if (!st.ok()) {
        a.req = proto::PeekReq(m->body);
        a.error = "undecodable SUBMIT reply: " + st.message();
        return a;
      }
      a.req = r.req;
      a.jobs = std::move(r.jobs);
      return a;
    }
    if (m->command == static_cast<std::uint8_t>(proto::Command::kError)) {
      proto::ErrorMsg e;
      (void)proto::Decode(m->body, &e);
      a.req = e.req;
      a.error = e.code + ": " + e.message;
      return a;
    }
    if (m->command == static_cast<std::uint8_t>(proto::Command::kDone)) {
      proto::DoneMsg d;
      auto st = proto::Decode(m->body, &d);
      if (!st.ok()) {
        a.error = "undecodable DONE: " + st.message();
        return a;
      }
      a.done = std::move(d);
      return a;
    }
  }
}

Answer WireClient::Submit(const std::vector<proto::JobSpec>& jobs,
                          std::vector<proto::SubmittedJob>* out, Ms timeout) {
  auto deadline = Clock::now() + timeout;
  const std::uint64_t req = SendSubmit(jobs, false, timeout);
  Answer a;
  while (true) {
    auto m = Receive(Remaining(deadline));
    if (!m) return a;
    json j = m->Json();
    if (j.is_discarded() || !j.is_object()) continue;
    if (!j.contains("req") || j["req"] != req) continue;
    if (m->command == static_cast<std::uint8_t>(proto::Command::kError)) {
      a.kind = Answer::Kind::kError;
      a.body = std::move(j);
      return a;
    }
    if (m->command != static_cast<std::uint8_t>(proto::Command::kReply)) continue;
    proto::SubmitReply r;
    auto st = proto::Decode(m->body, &r);
    if (!st.ok()) {
      a.kind = Answer::Kind::kUndecodable;
      a.body = std::move(j);
      return a;
    }
    if (out != nullptr) *out = std::move(r.jobs);
    a.kind = Answer::Kind::kReply;
    a.body = std::move(j);
    return a;
  }
}

Answer WireClient::Status(const std::string& id, Ms timeout) {
  return Request(proto::Command::kStatus, json{{"id", id}}, timeout);
}
Answer WireClient::Stats(Ms timeout) { return Request(proto::Command::kStats, json::object(), timeout); }
Answer WireClient::Workers(Ms timeout) {
  return Request(proto::Command::kWorkers, json::object(), timeout);
}
Answer WireClient::List(json filter, Ms timeout) {
  return Request(proto::Command::kList, std::move(filter), timeout);
}
Answer WireClient::Retry(const std::string& id, Ms timeout) {
  return Request(proto::Command::kRetry, json{{"id", id}}, timeout);
}
Answer WireClient::Cancel(const std::string& id, Ms timeout) {
  return Request(proto::Command::kCancelJob, json{{"id", id}}, timeout);
}

json WireClient::Job(const std::string& id, Ms timeout) {
  Answer a = Status(id, timeout);
  if (!a.ok() || !a.body.contains("job")) return json(json::value_t::discarded);
  return a.body["job"];
}

std::int64_t WireClient::CountInState(const std::string& state, Ms timeout) {
  Answer a = Stats(timeout);
  if (!a.ok()) return -1;
  const json& stats = a.body.value("stats", json::object());
  const json& jobs = stats.value("jobs", json::object());
  if (!jobs.is_object() || !jobs.contains(state) || !jobs[state].is_number_integer()) return 0;
  return jobs[state].get<std::int64_t>();
}

proto::JobSpec Spec(std::string kind, const json& params, std::uint32_t max_attempts) {
  proto::JobSpec s;
  s.kind = std::move(kind);
  s.params = MsgpackMap(params.is_null() ? json::object() : params);
  s.max_attempts = max_attempts;
  return s;
}

}  // namespace sluice::testing
