#include "producers/job_spec.h"

#include <cstdint>
#include <limits>
#include <string_view>

namespace sluice {
namespace {

using json = nlohmann::json;

// The broker's limit (schemas/messages.cc, SUBMIT).

Status FieldError(std::string_view field, std::string_view what) {
  return Status::InvalidArgument("field '" + std::string(field) + "' " + std::string(what));
}

// A non-negative integer field of at most `max`. JSON numbers that are
// integral floats (1e3) are accepted; 1.5 is not.
Status ReadUint(const json& v, std::string_view field, std::uint64_t max, std::uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<std::uint64_t>();
  } else if (v.is_number_integer()) {
    if (v.get<std::int64_t>() < 0) return FieldError(field, "must be a non-negative integer");
    *out = static_cast<std::uint64_t>(v.get<std::int64_t>());
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!(d >= 0) || d != static_cast<double>(static_cast<std::uint64_t>(d)) || d >= 1.8e19)
      return FieldError(field, "must be a non-negative integer");
    *out = static_cast<std::uint64_t>(d);
  } else {
    return FieldError(field, "must be a non-negative integer");
  }
  if (*out > max) return FieldError(field, "must be at most " + std::to_string(max));
  return Status::Ok();
}

Status ReadInt(const json& v, std::string_view field, std::int64_t* out) {
  if (v.is_number_integer() && !v.is_number_unsigned()) {
    *out = v.get<std::int64_t>();
    return Status::Ok();
  }
  std::uint64_t u = 0;
  Status s = ReadUint(v, field, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()), &u);
  if (!s.ok()) return FieldError(field, "must be an integer");
  *out = static_cast<std::int64_t>(u);
  return Status::Ok();
}

Status ReadString(const json& v, std::string_view field, std::string* out) {
  if (!v.is_string()) return FieldError(field, "must be a string");
  *out = v.get<std::string>();
  return Status::Ok();
}

}  // namespace

Status ValidateJobSpec(const proto::JobSpec& spec) {
  proto::Submit one;
  one.req = 1;
  one.jobs.push_back(spec);
  std::string body;
  proto::Encode(one, &body);
  proto::Submit decoded;
  Status s = proto::Decode(body, &decoded);
  if (s.ok()) return s;
  // The codec names the message and index ("SUBMIT jobs[0]: "); the caller
  // knows which spec this is and says so itself.
  std::string_view msg = s.message();
  constexpr std::string_view kPrefix = "SUBMIT jobs[0]: ";
  if (msg.substr(0, kPrefix.size()) == kPrefix) msg.remove_prefix(kPrefix.size());
  return Status::InvalidArgument(std::string(msg));
}

Result<std::string> ParamsToMsgpack(const json& params) {
  if (!params.is_object()) return Status::InvalidArgument("params must be a JSON object");
  std::string out;
  json::to_msgpack(params, out);
  return out;
}

Result<proto::JobSpec> JobSpecFromJson(const json& object) {
  if (!object.is_object()) return Status::InvalidArgument("a job spec must be a JSON object");
  proto::JobSpec spec;
  bool has_kind = false;
  for (const auto& [key, v] : object.items()) {
    if (v.is_null()) continue;  // absent: the default
    Status s;
    std::uint64_t u = 0;
    if (key == "kind") {
      s = ReadString(v, key, &spec.kind);
      has_kind = true;
    } else if (key == "params") {
      if (!v.is_object()) return FieldError(key, "must be a JSON object");
      spec.params = ParamsToMsgpack(v).value();
    } else if (key == "queue") {
      s = ReadString(v, key, &spec.queue);
    } else if (key == "priority") {
      s = ReadInt(v, key, &spec.priority);
    } else if (key == "max_attempts") {
      s = ReadUint(v, key, std::numeric_limits<std::uint32_t>::max(), &u);
      spec.max_attempts = static_cast<std::uint32_t>(u);
    } else if (key == "backoff_ms") {
      s = ReadUint(v, key, UINT64_MAX, &spec.backoff_ms);
    } else if (key == "timeout_ms") {
      s = ReadUint(v, key, UINT64_MAX, &spec.timeout_ms);
    } else if (key == "delay_ms") {
      s = ReadUint(v, key, UINT64_MAX, &spec.delay_ms);
    } else if (key == "run_at_ms") {
      s = ReadUint(v, key, UINT64_MAX, &spec.run_at_ms);
    } else if (key == "key") {
      s = ReadString(v, key, &spec.key);
    } else if (key == "concurrency_key") {
      s = ReadString(v, key, &spec.concurrency_key);
    } else if (key == "concurrency_limit") {
      // 0 would be "absent" in a JobSpec: refused here, as the broker
      // refuses it on the wire, rather than quietly the default.
      s = ReadUint(v, key, UINT64_MAX, &u);
      if (s.ok() && (u == 0 || u > proto::kMaxConcurrencyLimit))
        s = FieldError(key, "must be 1-" + std::to_string(proto::kMaxConcurrencyLimit) + " (absent: the default)");
      spec.concurrency_limit = static_cast<std::uint32_t>(u);
    } else {
      return Status::InvalidArgument("unknown field '" + key + "'");
    }
    if (!s.ok()) return s;
  }
  if (!has_kind) return Status::InvalidArgument("missing field 'kind'");
  return spec;
}

}  // namespace sluice
