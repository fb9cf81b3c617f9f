// MapWriter: appends one msgpack map to a string and counts its entries
// itself, so that no encoder counts (and miscounts) a map's size by hand.
//
// msgpack wants a map's size before its entries. The writer puts a one-byte
// fixmap header first and, when the map ends (Finish() or the destructor),
// writes the count into it; a map of more than 15 entries has its header
// widened in place to map16 (3 bytes) or map32 (5), moving the entries
// after it once. The bytes are those of a packer given the right count up
// front. The maps on the hot path (JOB, RESULT, SUBMIT job specs) have at
// most 15 entries: for them it costs one byte store more than a hand-counted
// header, and no allocation.
//
// Nested maps: write the key with Key(), then open a MapWriter on the same
// string; it must end before its parent writes on (a scope does that).
#pragma once

#include <msgpack.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::proto {

struct StringSink {
  std::string* s;
  void write(const char* p, std::size_t n) { s->append(p, n); }
};
using Packer = msgpack::packer<StringSink>;

// A msgpack str.
inline void PackStr(Packer& pk, std::string_view v) {
  pk.pack_str(static_cast<std::uint32_t>(v.size()));
  pk.pack_str_body(v.data(), static_cast<std::uint32_t>(v.size()));
}

class MapWriter {
 public:
  explicit MapWriter(std::string* out) : out_(out), start_(out->size()), sink_{out}, pk_(sink_) {
    out_->push_back(static_cast<char>(0x80));
  }
  ~MapWriter() { Finish(); }
  MapWriter(const MapWriter&) = delete;
  MapWriter& operator=(const MapWriter&) = delete;

  // Writes `key` and counts the entry; the caller writes its value next,
  // with packer() (or a nested MapWriter, or raw bytes).
  Packer& Key(std::string_view key) {
    ++count_;
    PackStr(pk_, key);
    return pk_;
  }
  Packer& packer() { return pk_; }
  std::string* out() { return out_; }

  void Str(std::string_view key, std::string_view v) { PackStr(Key(key), v); }
  // Any integer (or bool, or double): the packer picks the smallest form.
  template <typename T>
  void Num(std::string_view key, T v) {
    Key(key).pack(v);
  }
  void Bool(std::string_view key, bool v) { Key(key).pack(v); }
  void Nil(std::string_view key) { Key(key).pack_nil(); }
  // A value already encoded (one msgpack value); empty bytes write `empty`.
  void Raw(std::string_view key, std::string_view encoded, std::string_view empty = "\xc0") {
    Key(key);
    if (encoded.empty()) encoded = empty;
    out_->append(encoded.data(), encoded.size());
  }
  // "" -> nil.
  void StrOrNil(std::string_view key, std::string_view v) {
    if (v.empty()) Nil(key);
    else Str(key, v);
  }
  template <typename T>
  void NumOrNil(std::string_view key, const std::optional<T>& v) {
    if (v) Num(key, *v);
    else Nil(key);
  }
  void OptStrOrNil(std::string_view key, const std::optional<std::string>& v) {
    if (v) Str(key, *v);
    else Nil(key);
  }
  // An array of strs.
  void Strs(std::string_view key, const std::vector<std::string>& v) {
    Packer& pk = Key(key);
    pk.pack_array(static_cast<std::uint32_t>(v.size()));
    for (const auto& s : v) PackStr(pk, s);
  }

  // Writes the entry count into the header. Idempotent; entries written
  // after it are not counted.
  void Finish() {
    if (done_) return;
    done_ = true;
    if (count_ <= 15) {
      (*out_)[start_] = static_cast<char>(0x80 | count_);
    } else if (count_ <= 0xFFFF) {
      const char h[3] = {static_cast<char>(0xde), static_cast<char>(count_ >> 8),
                         static_cast<char>(count_ & 0xff)};
      out_->replace(start_, 1, h, 3);
    } else {
      const char h[5] = {static_cast<char>(0xdf), static_cast<char>(count_ >> 24),
                         static_cast<char>((count_ >> 16) & 0xff),
                         static_cast<char>((count_ >> 8) & 0xff), static_cast<char>(count_ & 0xff)};
      out_->replace(start_, 1, h, 5);
    }
  }

 private:
  std::string* out_;
  std::size_t start_;
  std::uint32_t count_ = 0;
  bool done_ = false;
  StringSink sink_;
  Packer pk_;
};

}  // namespace sluice::proto
