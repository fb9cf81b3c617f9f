// FindIllFormedUtf8: the first msgpack `str` that is not well-formed UTF-8
// anywhere in an encoded message body, map keys and fields nobody reads
// included (PROTOCOL.md §2.1: what a client submits is refused when it is
// not UTF-8; what a worker reports is repaired instead, msgpack_reader.h).
//
// The bytes are walked once without building anything. The walk stops at
// kMaxDepth (protocol.h) and at malformed bytes: what lies beyond is the
// decoders' to refuse, so this answers OK for it.
#pragma once

#include <string_view>

#include "schemas/status.h"

namespace sluice::proto {

// OK when every `str` in `body` is UTF-8. Otherwise InvalidArgument naming
// the command (`what`) and the field by its path from the body's top:
//   SUBMIT: field 'jobs[0].note' is not valid UTF-8
//   SUBMIT: a key in 'jobs[0].params' is not valid UTF-8
Status FindIllFormedUtf8(std::string_view body, std::string_view what);

}  // namespace sluice::proto
