// The one rule for names on the wire and in the registry: job kinds, queues,
// workflow, stage and parameter names are 1-64 characters of [A-Za-z0-9._-]
// (PROTOCOL.md §1). Everything that checks a name, or says what a name must
// be, uses this header.
#pragma once

#include <string_view>

#include "schemas/protocol.h"

namespace sluice::proto {

// The characters a name may hold, as error messages write them.
inline constexpr std::string_view kNameCharsText = "[A-Za-z0-9._-]";
// The whole rule, as error messages write it: "... must be " + kNameRuleText.
inline constexpr std::string_view kNameRuleText = "1-64 characters of [A-Za-z0-9._-]";
static_assert(kMaxNameBytes == 64, "kNameRuleText states the limit");
static_assert(kNameRuleText.ends_with(kNameCharsText));

// True if `c` is one of [A-Za-z0-9._-].
constexpr bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// True if `s` is 1..kMaxNameBytes of [A-Za-z0-9._-]. (Also declared in
// schemas/msgpack_reader.h, whose readers apply it to wire fields.)
bool IsValidName(std::string_view s);

}  // namespace sluice::proto
