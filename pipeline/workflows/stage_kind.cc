#include "pipeline/workflows/stage_kind.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "pipeline/workflows/edit_distance.h"
#include "schemas/job_kinds.h"

namespace sluice::workflows {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<std::string_view> NearMissOfBuiltinKind(std::string_view kind) {
  if (proto::IsBuiltinKind(kind)) return std::nullopt;
  const std::string lower = Lower(kind);
  std::optional<std::string_view> best;
  std::size_t best_d = 0;
  for (std::string_view builtin : proto::kBuiltinKinds) {
    if (lower == builtin) return builtin;
    const std::size_t d = EditDistance(kind, builtin);
    const std::size_t allowed = std::max<std::size_t>(1, builtin.size() / 6);
    if (d <= allowed && (!best || d < best_d)) best = builtin, best_d = d;
  }
  return best;
}

}  // namespace sluice::workflows
