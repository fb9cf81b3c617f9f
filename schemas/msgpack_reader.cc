#include "schemas/msgpack_reader.h"

#include "schemas/name_rule.h"  // IsValidName
#include "schemas/protocol.h"
#include "schemas/utf8.h"

namespace sluice::proto {

namespace {

// Walks encoded msgpack without building anything and stops at the first
// decoding limit crossed (protocol.h). The walk keeps one counter per
// message, not per level: msgpack::parse itself is iterative.
class LimitScan : public msgpack::null_visitor {
 public:
  bool start_array(std::uint32_t n) { return Open(n); }
  bool end_array() { --depth_; return true; }
  bool start_map(std::uint32_t n) { return Open(2ull * n); }
  bool end_map() { --depth_; return true; }
  void parse_error(std::size_t, std::size_t) { error_ = "malformed msgpack"; }
  void insufficient_bytes(std::size_t, std::size_t) { error_ = "malformed msgpack: truncated"; }
  const std::string& error() const { return error_; }

 private:
  bool Open(std::uint64_t children) {
    if (++depth_ > kMaxDepth) {
      error_ = "nested deeper than " + std::to_string(kMaxDepth) + " levels";
      return false;
    }
    elements_ += children;
    if (elements_ > kMaxElements) {
      error_ = "more than " + std::to_string(kMaxElements) + " values in one message";
      return false;
    }
    return true;
  }

  std::size_t depth_ = 0;
  std::uint64_t elements_ = 1;
  std::string error_;
};

// The scan, then the limits msgpack-cxx checks itself (a second line of
// defence: no length may exceed the message, no nesting kMaxDepth).
Status Scan(std::string_view bytes, msgpack::unpack_limit* limit) {
  if (bytes.empty()) return Status::InvalidArgument("empty body");
  LimitScan scan;
  std::size_t off = 0;
  bool parsed = false;
  try {
    parsed = msgpack::parse(bytes.data(), bytes.size(), off, scan);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("malformed msgpack: ") + e.what());
  }
  if (!parsed) return Status::InvalidArgument(scan.error().empty() ? "malformed msgpack" : scan.error());
  if (off != bytes.size()) return Status::InvalidArgument("trailing bytes after msgpack body");
  const std::size_t n = bytes.size();
  *limit = msgpack::unpack_limit(n, n / 2, n, n, n, kMaxDepth);
  return Status::Ok();
}

}  // namespace

Status UnpackValue(std::string_view bytes, msgpack::object_handle* handle) {
  msgpack::unpack_limit limit;
  if (Status s = Scan(bytes, &limit); !s.ok()) return s;
  try {
    std::size_t off = 0;
    msgpack::unpack(*handle, bytes.data(), bytes.size(), off, nullptr, nullptr, limit);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("malformed msgpack: ") + e.what());
  }
  return Status::Ok();
}

Status UnpackValue(std::string_view bytes, msgpack::zone* zone, msgpack::object* out) {
  msgpack::unpack_limit limit;
  if (Status s = Scan(bytes, &limit); !s.ok()) return s;
  try {
    std::size_t off = 0;
    *out = msgpack::unpack(*zone, bytes.data(), bytes.size(), off, nullptr, nullptr, limit);
  } catch (const std::exception& e) {
    *out = msgpack::object();
    return Status::InvalidArgument(std::string("malformed msgpack: ") + e.what());
  }
  return Status::Ok();
}

Status UnpackBody(std::string_view body, msgpack::object_handle* handle) {
  if (Status s = UnpackValue(body, handle); !s.ok()) return s;
  if (handle->get().type != msgpack::type::MAP) return Status::InvalidArgument("body is not a map");
  return Status::Ok();
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
  std::string_view v(o->via.str.ptr, o->via.str.size);
  if (!IsValidUtf8(v)) return Fail("field '" + std::string(key) + "' is not valid UTF-8");
  out->assign(v);
}

void MapReader::ClampedStr(std::string_view key, std::string* out, std::size_t max,
                           bool keep_tail) {
  const auto* o = Find(key);
  if (Missing(this, o, key, false)) return;
  if (o->type != msgpack::type::STR && o->type != msgpack::type::BIN)
    return Fail("field '" + std::string(key) + "' must be a string");
  const char* p = o->type == msgpack::type::STR ? o->via.str.ptr : o->via.bin.ptr;
  std::size_t n = o->type == msgpack::type::STR ? o->via.str.size : o->via.bin.size;
  *out = RepairAndClampUtf8(std::string_view(p, n), max, keep_tail);
}

void MapReader::Name(std::string_view key, std::string* out, bool required) {
  std::string tmp;
  const auto* o = Find(key);
  if (Missing(this, o, key, required)) return;
  Str(key, &tmp, kMaxNameBytes, required);
  if (!ok()) return;
  if (!IsValidName(tmp))
    return Fail("field '" + std::string(key) + "' must be " + std::string(kNameRuleText));
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
                  "' must be " + std::string(kNameRuleText));
    out->emplace_back(s);
  }
}

namespace {

struct RawMapSink {
  std::string* s;
  void write(const char* p, std::size_t n) { s->append(p, n); }
};

enum class PackError { kNone, kUtf8, kDepth };

// Re-encodes `o` (at nesting level `depth`) into `pk`, checking or repairing
// every string (keys too). Stops at the first string refused or at a
// nesting deeper than kMaxDepth; the recursion is bounded by that depth.
PackError PackChecked(msgpack::packer<RawMapSink>& pk, const msgpack::object& o, Utf8Policy utf8,
                      std::size_t depth) {
  switch (o.type) {
    case msgpack::type::STR: {
      std::string_view v(o.via.str.ptr, o.via.str.size);
      if (IsValidUtf8(v)) {
        pk.pack_str(o.via.str.size);
        pk.pack_str_body(o.via.str.ptr, o.via.str.size);
        return PackError::kNone;
      }
      if (utf8 == Utf8Policy::kRefuse) return PackError::kUtf8;
      const std::string repaired = RepairUtf8(v);
      pk.pack_str(static_cast<std::uint32_t>(repaired.size()));
      pk.pack_str_body(repaired.data(), static_cast<std::uint32_t>(repaired.size()));
      return PackError::kNone;
    }
    case msgpack::type::ARRAY:
      if (depth > kMaxDepth) return PackError::kDepth;
      pk.pack_array(o.via.array.size);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i)
        if (auto e = PackChecked(pk, o.via.array.ptr[i], utf8, depth + 1); e != PackError::kNone) return e;
      return PackError::kNone;
    case msgpack::type::MAP:
      if (depth > kMaxDepth) return PackError::kDepth;
      pk.pack_map(o.via.map.size);
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        if (auto e = PackChecked(pk, o.via.map.ptr[i].key, utf8, depth + 1); e != PackError::kNone) return e;
        if (auto e = PackChecked(pk, o.via.map.ptr[i].val, utf8, depth + 1); e != PackError::kNone) return e;
      }
      return PackError::kNone;
    default:
      pk.pack(o);  // a scalar, bin or ext: nothing nested
      return PackError::kNone;
  }
}

}  // namespace

void MapReader::RawMap(std::string_view key, std::string* out, std::size_t max_bytes,
                       bool required, Utf8Policy utf8) {
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
  RawMapSink sink{out};
  out->clear();
  msgpack::packer<RawMapSink> pk(sink);
  if (PackError e = PackChecked(pk, *o, utf8, 1); e != PackError::kNone) {
    out->clear();
    return Fail("field '" + std::string(key) + "' " +
                (e == PackError::kUtf8 ? std::string("holds a string that is not valid UTF-8")
                                       : "nests deeper than " + std::to_string(kMaxDepth) + " levels"));
  }
  if (out->size() > max_bytes) {
    out->clear();
    return Fail("field '" + std::string(key) + "' larger than " + std::to_string(max_bytes) +
                " bytes");
  }
}

}  // namespace sluice::proto
