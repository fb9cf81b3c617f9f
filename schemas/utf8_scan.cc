#include "schemas/utf8_scan.h"

#include <msgpack.hpp>

#include <string>
#include <vector>

#include "schemas/protocol.h"
#include "schemas/utf8.h"

namespace sluice::proto {
namespace {

// Walks encoded msgpack keeping the path to the current value; stops at
// the first ill-formed `str`.
class Utf8Walk : public msgpack::null_visitor {
 public:
  bool visit_str(const char* v, std::uint32_t size) {
    const std::string_view s(v, size);
    const bool valid = IsValidUtf8(s);
    if (!frames_.empty() && frames_.back().map && frames_.back().in_key) {
      if (!valid) return Stop(true);
      Frame& f = frames_.back();
      // Keys name fields in errors: a name-like key, shortened.
      f.key.assign(s.substr(0, kMaxNameBytes));
      f.key_set = true;
      return true;
    }
    return valid || Stop(false);
  }
  bool start_array(std::uint32_t) { return Open(false); }
  bool end_array_item() { ++frames_.back().index; return true; }
  bool end_array() { frames_.pop_back(); return true; }
  bool start_map(std::uint32_t) { return Open(true); }
  bool start_map_key() {
    frames_.back().in_key = true;
    frames_.back().key_set = false;
    return true;
  }
  bool end_map_key() { frames_.back().in_key = false; return true; }
  bool end_map_value() { ++frames_.back().index; return true; }
  bool end_map() { frames_.pop_back(); return true; }
  void parse_error(std::size_t, std::size_t) {}
  void insufficient_bytes(std::size_t, std::size_t) {}

  bool found() const { return found_; }
  // "field 'a.b[2]'" or "a key in 'a.b'" (the body's own keys: "a key").
  const std::string& where() const { return where_; }

 private:
  struct Frame {
    bool map = false;
    bool in_key = false;
    bool key_set = false;
    std::uint32_t index = 0;  // the item or entry being read
    std::string key;          // maps: the current entry's key
  };

  bool Open(bool map) {
    if (frames_.size() >= kMaxDepth) return false;  // the decoders refuse it
    frames_.push_back({map});
    return true;
  }

  // The path to the current value, up to `frames` frames from the top.
  std::string Path(std::size_t frames) const {
    std::string path;
    for (std::size_t i = 0; i < frames; ++i) {
      const Frame& f = frames_[i];
      if (!f.map) {
        path += "[" + std::to_string(f.index) + "]";
      } else {
        if (!path.empty()) path += '.';
        path += f.key_set ? f.key : "?";
      }
    }
    return path;
  }

  bool Stop(bool in_key) {
    found_ = true;
    if (frames_.empty()) {
      where_ = "the body";
    } else if (in_key) {
      const std::string container = Path(frames_.size() - 1);
      where_ = container.empty() ? "a key" : "a key in '" + container + "'";
    } else {
      where_ = "field '" + Path(frames_.size()) + "'";
    }
    return false;
  }

  std::vector<Frame> frames_;
  bool found_ = false;
  std::string where_;
};

}  // namespace

Status FindIllFormedUtf8(std::string_view body, std::string_view what) {
  if (body.empty()) return Status::Ok();
  Utf8Walk walk;
  std::size_t off = 0;
  try {
    (void)msgpack::parse(body.data(), body.size(), off, walk);
  } catch (const std::exception&) {
    return Status::Ok();  // malformed: the decoders say so
  }
  if (!walk.found()) return Status::Ok();
  return Status::InvalidArgument(std::string(what) + ": " + walk.where() + " is not valid UTF-8");
}

}  // namespace sluice::proto
