// Integers and booleans in a built-in kind's params. A job's params come
// from any client; `sluice submit --param ms=1500` sends the string "1500".
// So where a built-in kind expects an integer or a boolean, it takes the
// msgpack value itself or a string holding one in its strict form:
//   unsigned: "0", "1500" (ASCII digits only: no sign, space, '.', 0x)
//   signed:   the same with an optional leading '-': "-3"
//   boolean:  "true" or "false" (exactly; not "1", "True", "yes")
// Anything else is an error naming the field, as proto::MapReader's own
// getters give it, and the limits apply to text as to numbers. Absent or
// nil: an error only when required; `out` is then left as it was.
#pragma once

#include <cstdint>
#include <string_view>

#include "schemas/msgpack_reader.h"

namespace sluice::worker {

void ReadParamUint(proto::MapReader& reader, std::string_view key, std::uint64_t* out, bool required,
                   std::uint64_t max = UINT64_MAX);
void ReadParamInt(proto::MapReader& reader, std::string_view key, std::int64_t* out, bool required,
                  std::int64_t min, std::int64_t max);
void ReadParamBool(proto::MapReader& reader, std::string_view key, bool* out, bool required);

}  // namespace sluice::worker
