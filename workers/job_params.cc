#include "workers/job_params.h"

namespace sluice::worker {
namespace {

bool IsString(const msgpack::object& o) { return o.type == msgpack::type::STR; }
std::string_view View(const msgpack::object& o) { return {o.via.str.ptr, o.via.str.size}; }

}  // namespace

ParamsView::ParamsView() { object_.type = msgpack::type::NIL; }

Status ParamsView::Parse(std::string_view raw) {
  zone_.clear();
  object_ = msgpack::object();
  // Within the decoding limits (nesting, size) of every message.
  if (Status s = proto::UnpackValue(raw, &zone_, &object_); !s.ok()) {
    object_ = msgpack::object();
    return Status::InvalidArgument("params: " + s.message());
  }
  if (object_.type != msgpack::type::MAP) return Status::InvalidArgument("params: not a map");
  return Status::Ok();
}

void ReadStringList(proto::MapReader& reader, std::string_view key, std::vector<std::string>* out) {
  const msgpack::object* o = reader.Find(key);
  if (o == nullptr || o->type == msgpack::type::NIL) return;
  const std::string k(key);
  if (o->type != msgpack::type::ARRAY) return reader.Fail("field '" + k + "' must be a list of strings");
  out->clear();
  out->reserve(o->via.array.size);
  for (std::uint32_t i = 0; i < o->via.array.size; ++i) {
    const msgpack::object& e = o->via.array.ptr[i];
    const std::string where = "field '" + k + "' item " + std::to_string(i);
    if (!IsString(e)) return reader.Fail(where + " must be a string");
    std::string_view s = View(e);
    if (s.find('\0') != std::string_view::npos) return reader.Fail(where + " contains a NUL byte");
    out->emplace_back(s);
  }
}

void ReadStringMap(proto::MapReader& reader, std::string_view key,
                   std::vector<std::pair<std::string, std::string>>* out) {
  const msgpack::object* o = reader.Find(key);
  if (o == nullptr || o->type == msgpack::type::NIL) return;
  const std::string k(key);
  if (o->type != msgpack::type::MAP) return reader.Fail("field '" + k + "' must be a map of string to string");
  out->clear();
  out->reserve(o->via.map.size);
  for (std::uint32_t i = 0; i < o->via.map.size; ++i) {
    const msgpack::object_kv& kv = o->via.map.ptr[i];
    if (!IsString(kv.key) || kv.key.via.str.size == 0)
      return reader.Fail("field '" + k + "' keys must be non-empty strings");
    std::string_view name = View(kv.key);
    const std::string where = "field '" + k + "' entry '" + std::string(name.substr(0, 64)) + "'";
    if (name.find('\0') != std::string_view::npos) return reader.Fail(where + " has a NUL byte in its name");
    if (!IsString(kv.val)) return reader.Fail(where + " must be a string");
    std::string_view value = View(kv.val);
    if (value.find('\0') != std::string_view::npos) return reader.Fail(where + " contains a NUL byte");
    out->emplace_back(name, value);
  }
}

void SetBadParams(const Status& why, proto::JobResult* result) {
  result->outcome = Outcome::kFailed;
  result->retryable = false;
  result->error = why.message();
}

}  // namespace sluice::worker
