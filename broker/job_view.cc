#include "broker/job_view.h"

#include <msgpack.hpp>

#include <vector>

#include "schemas/job_id.h"
#include "schemas/msgpack_reader.h"
#include "schemas/msgpack_writer.h"

namespace sluice::broker {
namespace {

// Why `bytes` (one stored msgpack value) cannot be shown as they are, or ""
// when they can: within the decoding limits, every map key a string (what
// a client turns into JSON). Walks the decoded value without recursing.
std::string Unshowable(const std::string& bytes) {
  msgpack::object_handle h;
  if (Status s = proto::UnpackValue(bytes, &h); !s.ok()) return s.message();
  std::vector<const msgpack::object*> todo = {&h.get()};
  while (!todo.empty()) {
    const msgpack::object* o = todo.back();
    todo.pop_back();
    if (o->type == msgpack::type::ARRAY) {
      for (std::uint32_t i = 0; i < o->via.array.size; ++i) todo.push_back(&o->via.array.ptr[i]);
    } else if (o->type == msgpack::type::MAP) {
      for (std::uint32_t i = 0; i < o->via.map.size; ++i) {
        if (o->via.map.ptr[i].key.type != msgpack::type::STR) return "a map key is not a string";
        todo.push_back(&o->via.map.ptr[i].val);
      }
    }
  }
  return {};
}

// Stored params or outputs as one msgpack value ("" for none). Bytes that
// do not decode within the limits (params nested deeper than 64 levels,
// stored by a broker that did not check) show as a string saying why, so
// the job can still be looked at.
std::string StoredValue(const std::string& bytes, const char* what) {
  if (bytes.empty()) return {};
  std::string why = Unshowable(bytes);
  if (why.empty()) return bytes;
  std::string out;
  proto::StringSink sink{&out};
  proto::Packer pk(sink);
  proto::PackStr(pk, std::string("(") + what + " not shown: " + why + ")");
  return out;
}

std::optional<std::int64_t> OrNone(std::int64_t v) {
  return v ? std::optional<std::int64_t>(v) : std::nullopt;
}

}  // namespace

proto::JobView JobViewOf(const JobRecord& r, bool detail, const std::string& waiting) {
  const Job& j = r.job;
  proto::JobView v;
  v.id = FormatJobId(j.seq);
  v.state = std::string(JobStateName(j.state));
  v.kind = j.kind;
  v.queue = j.queue;
  v.priority = j.priority;
  v.attempt = j.attempt;
  v.failures = j.failures;
  v.max_attempts = j.max_attempts;
  v.backoff_ms = j.backoff_ms;
  v.timeout_ms = j.timeout_ms;
  v.run_at_ms = j.run_at_ms;
  v.created_ms = j.created_ms;
  v.updated_ms = j.updated_ms;
  v.finished_ms = OrNone(r.finished_ms);
  v.key = j.key;
  v.error = r.last_error;
  if (!j.concurrency_key.empty()) {
    v.concurrency_key = j.concurrency_key;
    v.concurrency_limit = j.concurrency_limit;
  }
  v.waiting = waiting;
  if (!detail) return v;
  v.detail = true;
  v.params = StoredValue(j.params, "params");
  v.outputs = StoredValue(r.outputs, "outputs");
  v.attempts.reserve(r.attempts.size());
  for (const auto& a : r.attempts) {
    proto::AttemptView av;
    av.attempt = a.attempt;
    av.worker = a.worker;
    av.host = a.host;
    av.started_ms = a.started_ms;
    av.finished_ms = OrNone(a.finished_ms);
    av.outcome = a.outcome;
    av.error = a.error;
    if (a.has_exit_code) av.exit_code = a.exit_code;
    av.stdout_tail = a.stdout_tail;
    av.stderr_tail = a.stderr_tail;
    v.attempts.push_back(std::move(av));
  }
  return v;
}

}  // namespace sluice::broker
