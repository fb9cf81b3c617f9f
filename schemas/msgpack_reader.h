// MapReader: typed, bounded access to a decoded msgpack map. Every getter
// checks presence, type and limits and records the first problem as a
// Status naming the field, so decoders read fields in a row and check once.
// Unknown keys are ignored (forward compatibility).
#pragma once

#include <msgpack.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/status.h"

namespace sluice::proto {

// Unpacks one msgpack value of any type from `bytes` (all of them) into
// `handle`, within the decoding limits of protocol.h (kMaxDepth,
// kMaxElements, no length beyond the bytes left): the bytes are walked
// once without building anything, then decoded. Never recurses on the
// input's depth, never throws: a violation is an InvalidArgument saying
// which limit ("nested deeper than 64 levels").
Status UnpackValue(std::string_view bytes, msgpack::object_handle* handle);
// The same into a caller's zone (reused across calls); strings are copied
// into `zone`, so `bytes` need not outlive `*out`.
Status UnpackValue(std::string_view bytes, msgpack::zone* zone, msgpack::object* out);
// UnpackValue, and the value must be a map: a message body.
Status UnpackBody(std::string_view body, msgpack::object_handle* handle);

// What a reader does with a string that is not UTF-8 (utf8.h).
enum class Utf8Policy {
  kRefuse,  // an error naming the field: what clients submit
  kRepair,  // replaced with U+FFFD: what workers report
};

class MapReader {
 public:
  // `what` names the message in error texts ("SUBMIT jobs"); with an
  // `index` >= 0 it reads "SUBMIT jobs[3]". `what` must outlive the reader
  // (a literal): no string is built unless there is an error.
  MapReader(const msgpack::object& obj, std::string_view what, long index = -1);

  const Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }

  // nullptr when absent (or the reader already failed).
  const msgpack::object* Find(std::string_view key) const;

  // A UTF-8 string of at most `max` bytes. Absent: error if required, else
  // untouched.
  void Str(std::string_view key, std::string* out, std::size_t max, bool required);
  // A string (or bin) clamped to `max` bytes: longer text keeps its head
  // (keep_tail = false) or its tail (keep_tail = true), cut between
  // characters. Invalid UTF-8 is repaired (U+FFFD). Never an error for
  // length or content.
  void ClampedStr(std::string_view key, std::string* out, std::size_t max, bool keep_tail);
  // A name: 1..kMaxNameBytes of [A-Za-z0-9._-].
  void Name(std::string_view key, std::string* out, bool required);
  void Uint(std::string_view key, std::uint64_t* out, bool required,
            std::uint64_t max = UINT64_MAX);
  void Int(std::string_view key, std::int64_t* out, bool required, std::int64_t min,
           std::int64_t max);
  void Bool(std::string_view key, bool* out, bool required);
  // A list of names, at most `max_items`.
  void NameList(std::string_view key, std::vector<std::string>* out, std::size_t max_items,
                bool required);
  // A map, re-encoded to msgpack bytes (at most `max_bytes`). Absent and not
  // required: `out` becomes an empty map (0x80). Its strings, keys included,
  // at any depth, are refused or repaired when they are not UTF-8
  // (`utf8`); nesting deeper than kMaxDepth is refused.
  void RawMap(std::string_view key, std::string* out, std::size_t max_bytes, bool required,
              Utf8Policy utf8 = Utf8Policy::kRefuse);

  void Fail(std::string message);

 private:
  const msgpack::object& obj_;
  std::string_view what_;
  long index_;
  Status status_;
};

// True if `s` is 1..kMaxNameBytes of [A-Za-z0-9._-].
bool IsValidName(std::string_view s);
// True if `s` is 1..max bytes with no control characters.
bool IsPrintable(std::string_view s, std::size_t max);

}  // namespace sluice::proto
