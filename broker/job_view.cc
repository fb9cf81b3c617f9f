#include "broker/job_view.h"

#include "schemas/job_id.h"
#include "schemas/msgpack_json.h"

namespace sluice::broker {
namespace {

// Stored params or outputs as JSON. Bytes that do not decode within the
// limits (params nested deeper than 64 levels, stored by a broker that did
// not check) show as a string saying why, so the job can still be looked at.
nlohmann::json StoredJson(const std::string& bytes, const char* what) {
  if (bytes.empty()) return nullptr;
  auto j = proto::MsgpackToJson(bytes);
  if (!j.ok()) return std::string("(") + what + " not shown: " + j.status().message() + ")";
  return std::move(j).value();
}

nlohmann::json OrNull(std::int64_t v) { return v ? nlohmann::json(v) : nlohmann::json(nullptr); }
nlohmann::json OrNull(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

}  // namespace

nlohmann::json JobJson(const JobRecord& r, bool detail, const std::string& waiting) {
  const Job& j = r.job;
  nlohmann::json out = {
      {"id", FormatJobId(j.seq)},
      {"state", JobStateName(j.state)},
      {"kind", j.kind},
      {"queue", j.queue},
      {"priority", j.priority},
      {"attempt", j.attempt},
      {"failures", j.failures},
      {"max_attempts", j.max_attempts},
      {"backoff_ms", j.backoff_ms},
      {"timeout_ms", j.timeout_ms},
      {"run_at_ms", j.run_at_ms},
      {"created_ms", j.created_ms},
      {"updated_ms", j.updated_ms},
      {"finished_ms", OrNull(r.finished_ms)},
      {"key", OrNull(j.key)},
      {"error", OrNull(r.last_error)},
  };
  if (!j.concurrency_key.empty()) {
    out["concurrency_key"] = j.concurrency_key;
    out["concurrency_limit"] = j.concurrency_limit;
  }
  if (!waiting.empty()) out["waiting"] = waiting;
  if (!detail) return out;
  out["params"] = StoredJson(j.params, "params");
  out["outputs"] = StoredJson(r.outputs, "outputs");
  nlohmann::json attempts = nlohmann::json::array();
  for (const auto& a : r.attempts) {
    attempts.push_back({
        {"attempt", a.attempt},
        {"worker", OrNull(a.worker)},
        {"host", OrNull(a.host)},
        {"started_ms", a.started_ms},
        {"finished_ms", OrNull(a.finished_ms)},
        {"outcome", OrNull(a.outcome)},
        {"error", OrNull(a.error)},
        {"exit_code", a.has_exit_code ? nlohmann::json(a.exit_code) : nlohmann::json(nullptr)},
        {"stdout", OrNull(a.stdout_tail)},
        {"stderr", OrNull(a.stderr_tail)},
    });
  }
  out["attempts"] = std::move(attempts);
  return out;
}

}  // namespace sluice::broker
