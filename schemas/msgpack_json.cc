#include "schemas/msgpack_json.h"

#include <msgpack.hpp>

#include "schemas/msgpack_reader.h"

namespace sluice::proto {
namespace {

// Recursion bounded by the depth UnpackValue allowed (kMaxDepth).
bool ToJson(const msgpack::object& o, nlohmann::json* out) {
  switch (o.type) {
    case msgpack::type::NIL: *out = nullptr; return true;
    case msgpack::type::BOOLEAN: *out = o.via.boolean; return true;
    case msgpack::type::POSITIVE_INTEGER: *out = o.via.u64; return true;
    case msgpack::type::NEGATIVE_INTEGER: *out = o.via.i64; return true;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: *out = o.via.f64; return true;
    case msgpack::type::STR: *out = std::string(o.via.str.ptr, o.via.str.size); return true;
    case msgpack::type::BIN: {
      const auto* p = reinterpret_cast<const std::uint8_t*>(o.via.bin.ptr);
      *out = nlohmann::json::binary(std::vector<std::uint8_t>(p, p + o.via.bin.size));
      return true;
    }
    case msgpack::type::EXT: {
      const auto* p = reinterpret_cast<const std::uint8_t*>(o.via.ext.data());
      *out = nlohmann::json::binary(std::vector<std::uint8_t>(p, p + o.via.ext.size),
                                    static_cast<std::uint8_t>(o.via.ext.type()));
      return true;
    }
    case msgpack::type::ARRAY: {
      *out = nlohmann::json::array();
      out->get_ref<nlohmann::json::array_t&>().reserve(o.via.array.size);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        nlohmann::json v;
        if (!ToJson(o.via.array.ptr[i], &v)) return false;
        out->push_back(std::move(v));
      }
      return true;
    }
    case msgpack::type::MAP: {
      *out = nlohmann::json::object();
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const msgpack::object_kv& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) return false;
        nlohmann::json v;
        if (!ToJson(kv.val, &v)) return false;
        (*out)[std::string(kv.key.via.str.ptr, kv.key.via.str.size)] = std::move(v);
      }
      return true;
    }
  }
  return false;
}

}  // namespace

Result<nlohmann::json> MsgpackToJson(std::string_view bytes) {
  msgpack::object_handle h;
  if (Status s = UnpackValue(bytes, &h); !s.ok()) return s;
  nlohmann::json out;
  if (!ToJson(h.get(), &out)) return Status::InvalidArgument("a map key is not a string");
  return out;
}

}  // namespace sluice::proto
