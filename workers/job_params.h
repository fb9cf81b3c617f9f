// A job's `params` as handlers read them. JobMsg carries params as raw
// msgpack bytes (schemas/messages.h); ParamsView decodes them into a
// msgpack::object, reusing one memory zone across jobs so that the hot path
// does not allocate a fresh zone per job. Handlers read fields with
// proto::MapReader (schemas/msgpack_reader.h), which names the field in
// every error, plus the two readers below for shapes MapReader lacks.
#pragma once

#include <msgpack.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schemas/messages.h"
#include "schemas/msgpack_reader.h"
#include "schemas/status.h"

namespace sluice::worker {

class ParamsView {
 public:
  ParamsView();
  // Decodes `raw`, which must be one msgpack map. The object returned by
  // map() lives until the next Parse() (strings are copied into the zone).
  Status Parse(std::string_view raw);
  const msgpack::object& map() const { return object_; }

 private:
  msgpack::zone zone_;
  msgpack::object object_;
};

// A list of strings. Absent or nil leaves `out` empty. Strings may be any
// bytes except NUL (they end up in argv/envp).
void ReadStringList(proto::MapReader& reader, std::string_view key, std::vector<std::string>* out);

// A map of string to string. Absent or nil leaves `out` empty. Neither keys
// nor values may contain NUL; keys may not be empty.
void ReadStringMap(proto::MapReader& reader, std::string_view key,
                   std::vector<std::pair<std::string, std::string>>* out);

// Marks `result` as a non-retryable failure caused by bad params: the same
// params would fail on every attempt.
void SetBadParams(const Status& why, proto::JobResult* result);

}  // namespace sluice::worker
