// UTF-8 on the wire (PROTOCOL.md §2.1). Every msgpack `str` is UTF-8. What a
// client submits (kinds, queues, keys, the strings of params) is checked and
// refused when it is not; what a worker reports (error text, output tails)
// is repaired instead, so that a binary tail never loses a result.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice::proto {

// U+FFFD REPLACEMENT CHARACTER, the mark of a repaired byte sequence.
inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

// True if `s` is well-formed UTF-8 (RFC 3629: shortest forms only, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// `s` with each ill-formed part replaced by U+FFFD: one U+FFFD per maximal
// subpart (Unicode §3.9, "U+FFFD substitution of maximal subparts"), so a
// character cut short becomes one U+FFFD. Valid text comes back unchanged.
std::string RepairUtf8(std::string_view s);

// Cuts valid UTF-8 `s` to at most `max` bytes without splitting a
// character: keep_tail keeps the end (output tails), else the beginning.
void ClampUtf8(std::string* s, std::size_t max, bool keep_tail);

// Repairs `raw` (any bytes) and clamps it to `max` bytes, as above. Only the
// `max` bytes at the kept end are looked at, so a long input costs nothing
// beyond them.
std::string RepairAndClampUtf8(std::string_view raw, std::size_t max, bool keep_tail);

}  // namespace sluice::proto
