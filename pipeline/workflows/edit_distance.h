// The Levenshtein distance between two short strings (names in a registry
// file), for "did you mean" suggestions. O(|a|*|b|) time, O(|b|) memory:
// meant for names, not for text.
#pragma once

#include <cstddef>
#include <string_view>

namespace sluice::workflows {

std::size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace sluice::workflows
