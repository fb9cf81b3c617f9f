// The job kinds a stock sluice-worker runs (workers/handler_table.cc is the
// implementation; a worker test keeps the two lists equal). The workflow
// registry uses the list to refuse a near miss of a built-in kind (a typo
// such as `extract.htp`) at load, not at 3 a.m.; other kinds are custom,
// served by workers of one's own.
#pragma once

#include <array>
#include <string_view>

namespace sluice::proto {

inline constexpr std::array<std::string_view, 9> kBuiltinKinds = {
    "exec", "extract.http", "load", "transform.sql", "export.serving",
    "test.noop", "test.sleep", "test.fail", "test.crash",
};

inline bool IsBuiltinKind(std::string_view kind) {
  for (std::string_view k : kBuiltinKinds)
    if (k == kind) return true;
  return false;
}

}  // namespace sluice::proto
