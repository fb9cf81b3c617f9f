#include "schemas/name_rule.h"

namespace sluice::proto {

bool IsValidName(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameBytes) return false;
  for (char c : s)
    if (!IsNameChar(c)) return false;
  return true;
}

}  // namespace sluice::proto
