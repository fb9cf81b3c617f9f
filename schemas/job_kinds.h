// The job kinds a stock sluice-worker runs (workers/handler_table.cc is the
// implementation; a worker test keeps the two lists equal). The workflow
// registry uses the list to refuse a near miss of a built-in kind (a typo
// such as `extract.htp`) at load, not at 3 a.m.; other kinds are custom,
// served by workers of one's own.
//
// Code that names a built-in kind uses these constants, never a literal.
#pragma once

#include <array>
#include <string_view>

namespace sluice::proto {

namespace kind {
inline constexpr std::string_view kExec = "exec";
inline constexpr std::string_view kExtractHttp = "extract.http";
inline constexpr std::string_view kLoad = "load";
inline constexpr std::string_view kTransformSql = "transform.sql";
inline constexpr std::string_view kExportServing = "export.serving";
inline constexpr std::string_view kBackup = "backup";
inline constexpr std::string_view kTestNoop = "test.noop";
inline constexpr std::string_view kTestSleep = "test.sleep";
inline constexpr std::string_view kTestFail = "test.fail";
inline constexpr std::string_view kTestCrash = "test.crash";
}  // namespace kind

inline constexpr std::array<std::string_view, 10> kBuiltinKinds = {
    kind::kExec,     kind::kExtractHttp, kind::kLoad,     kind::kTransformSql, kind::kExportServing,
    kind::kBackup,   kind::kTestNoop,    kind::kTestSleep, kind::kTestFail,    kind::kTestCrash,
};

inline bool IsBuiltinKind(std::string_view kind) {
  for (std::string_view k : kBuiltinKinds)
    if (k == kind) return true;
  return false;
}

}  // namespace sluice::proto
