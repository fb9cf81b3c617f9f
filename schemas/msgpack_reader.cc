#include "schemas/msgpack_reader.h"

#include "schemas/protocol.h"

namespace sluice::proto {

Status UnpackBody(std::string_view body, msgpack::object_handle* handle) {
  if (body.empty()) return Status::InvalidArgument("empty body");
  try {
    std::size_t off = 0;
    msgpack::unpack(*handle, body.data(), body.size(), off);
    if (off != body.size()) return Status::InvalidArgument("trailing bytes after msgpack body");
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("malformed msgpack: ") + e.what());
  }
  if (handle->get().type != msgpack::type::MAP) return Status::InvalidArgument("body is not a map");
  return Status::Ok();
}

bool IsValidName(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameBytes) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsPrintable(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

MapReader::MapReader(const msgpack::object& obj, std::string_view what, long index)
    : obj_(obj), what_(what), index_(index) {
  if (obj_.type != msgpack::type::MAP) Fail("expected a map");
}

void MapReader::Fail(std::string message) {
  if (!status_.ok()) return;
  std::string where(what_);
  if (index_ >= 0) where += "[" + std::to_string(index_) + "]";
  status_ = Status::InvalidArgument(where + ": " + message);
}

const msgpack::object* MapReader::Find(std::string_view key) const {
  if (!status_.ok() || obj_.type != msgpack::type::MAP) return nullptr;
  const auto& m = obj_.via.map;
  for (std::uint32_t i = 0; i < m.size; ++i) {
    const auto& k = m.ptr[i].key;
    if (k.type == msgpack::type::STR && std::string_view(k.via.str.ptr, k.via.str.size) == key)
      return &m.ptr[i].val;
  }
  return nullptr;
}

namespace {
bool Missing(MapReader* r, const msgpack::object* o, std::string_view key, bool required) {
  if (o != nullptr && o->type != msgpack::type::NIL) return false;
  if (required && r->ok()) r->Fail("missing field '" + std::string(key) + "'");
  return true;
}
}  // namespace

void MapReader::Str(std::string_view key, std::string* out, std::size_t max, bool required) {
  const auto* o = Find(key);
  if (Missing(this, o, key, required)) return;
  if (o->type != msgpack::type::STR) return Fail("field '" + std::string(key) + "' must be a string");
  if (o->via.str.size > max)
    return Fail("field '" + std::string(key) + "' longer than " + std::to_string(max) + " bytes");
  out->assign(o->via.str.ptr, o->via.str.size);
}

void MapReader::ClampedStr(std::string_view key, std::string* out, std::size_t max,
                           bool keep_tail) {
  const auto* o = Find(key);
  if (Missing(this, o, key, false)) return;
  if (o->type != msgpack::type::STR && o->type != msgpack::type::BIN)
    return Fail("field '" + std::string(key) + "' must be a string");
  const char* p = o->type == msgpack::type::STR ? o->via.str.ptr : o->via.bin.ptr;
  std::size_t n = o->type == msgpack::type::STR ? o->via.str.size : o->via.bin.size;
  if (n > max) {
    if (keep_tail) p += n - max;
    n = max;
  }
  out->assign(p, n);
}

void MapReader::Name(std::string_view key, std::string* out, bool required) {
  std::string tmp;
  const auto* o = Find(key);
  if (Missing(this, o, key, required)) return;
  Str(key, &tmp, kMaxNameBytes, required);
  if (!ok()) return;
  if (!IsValidName(tmp))
    return Fail("field '" + std::string(key) + "' must be 1-64 characters of [A-Za-z0-9._-]");
  *out = std::move(tmp);
}

void MapReader::Uint(std::string_view key, std::uint64_t* out, bool required, std::uint64_t max) {
  const auto* o = Find(key);
  if (Missing(this, o, key, required)) return;
  if (o->type != msgpack::type::POSITIVE_INTEGER)
    return Fail("field '" + std::string(key) + "' must be a non-negative integer");
  if (o->via.u64 > max)
    return Fail("field '" + std::string(key) + "' must be at most " + std::to_string(max));
  *out = o->via.u64;
}

void MapReader::Int(std::string_view key, std::int64_t* out, bool required, std::int64_t min,
                    std::int64_t max) {
  const auto* o = Find(key);
  if (Missing(this, o, key, required)) return;
  std::int64_t v;
  if (o->type == msgpack::type::POSITIVE_INTEGER) {
    if (o->via.u64 > static_cast<std::uint64_t>(INT64_MAX)) v = INT64_MAX;
    else v = static_cast<std::int64_t>(o->via.u64);
  } else if (o->type == msgpack::type::NEGATIVE_INTEGER) {
    v = o->via.i64;
  } else {
    return Fail("field '" + std::string(key) + "' must be an integer");
  }
  if (v < min || v > max)
    return Fail("field '" + std::string(key) + "' must be in [" + std::to_string(min) + ", " +
                std::to_string(max) + "]");
  *out = v;
}

void MapReader::Bool(std::string_view key, bool* out, bool required) {
  const auto* o = Find(key);
  if (Missing(this, o, key, required)) return;
  if (o->type != msgpack::type::BOOLEAN)
    return Fail("field '" + std::string(key) + "' must be a boolean");
  *out = o->via.boolean;
}

void MapReader::NameList(std::string_view key, std::vector<std::string>* out,
                         std::size_t max_items, bool required) {
  const auto* o = Find(key);
  if (Missing(this, o, key, required)) return;
  if (o->type != msgpack::type::ARRAY)
    return Fail("field '" + std::string(key) + "' must be an array of names");
  if (o->via.array.size > max_items)
    return Fail("field '" + std::string(key) + "' has more than " + std::to_string(max_items) +
                " items");
  out->clear();
  for (std::uint32_t i = 0; i < o->via.array.size; ++i) {
    const auto& e = o->via.array.ptr[i];
    if (e.type != msgpack::type::STR)
      return Fail("field '" + std::string(key) + "' must be an array of names");
    std::string_view s(e.via.str.ptr, e.via.str.size);
    if (!IsValidName(s))
      return Fail("field '" + std::string(key) + "' item '" +
                  std::string(s.substr(0, kMaxNameBytes)) +
                  "' must be 1-64 characters of [A-Za-z0-9._-]");
    out->emplace_back(s);
  }
}

void MapReader::RawMap(std::string_view key, std::string* out, std::size_t max_bytes,
                       bool required) {
  const auto* o = Find(key);
  if (Missing(this, o, key, required)) {
    if (ok()) out->assign(1, static_cast<char>(0x80));
    return;
  }
  if (o->type != msgpack::type::MAP) return Fail("field '" + std::string(key) + "' must be a map");
  if (o->via.map.size == 0) {
    out->assign(1, static_cast<char>(0x80));
    return;
  }
  // Re-encoded straight into `out` (an sbuffer would start at 8 KiB per call).
  struct Sink {
    std::string* s;
    void write(const char* p, std::size_t n) { s->append(p, n); }
  } sink{out};
  out->clear();
  msgpack::packer<Sink> pk(sink);
  pk.pack(*o);
  if (out->size() > max_bytes) {
    out->clear();
    return Fail("field '" + std::string(key) + "' larger than " + std::to_string(max_bytes) +
                " bytes");
  }
}

}  // namespace sluice::proto
