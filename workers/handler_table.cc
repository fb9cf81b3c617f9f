#include "workers/handler_table.h"

#include "schemas/job_kinds.h"
#include "workers/builtin_handlers.h"

namespace sluice::worker {
namespace {

namespace kind = proto::kind;

constexpr HandlerSpec kHandlers[] = {
    {kind::kExec, RunExec, Execution::kSlotThread, /*needs_allow_exec=*/true},
    {kind::kExtractHttp, RunExtractHttp, Execution::kSlotThread, false},
    {kind::kLoad, RunLoad, Execution::kSlotThread, false},
    {kind::kTransformSql, RunTransformSql, Execution::kSlotThread, false},
    {kind::kExportServing, RunExportServing, Execution::kSlotThread, false},
    {kind::kBackup, RunBackup, Execution::kSlotThread, false},
    {kind::kTestNoop, RunTestNoop, Execution::kInline, false},
    {kind::kTestSleep, RunTestSleep, Execution::kSlotThread, false},
    {kind::kTestFail, RunTestFail, Execution::kInline, false},
    {kind::kTestCrash, RunTestCrash, Execution::kInline, false},
};

}  // namespace

std::span<const HandlerSpec> BuiltinHandlers() { return kHandlers; }

const HandlerSpec* FindHandler(std::string_view kind) {
  for (const HandlerSpec& h : kHandlers)
    if (h.kind == kind) return &h;
  return nullptr;
}

std::vector<std::string> AnnouncedKinds(bool allow_exec) {
  std::vector<std::string> kinds;
  for (const HandlerSpec& h : kHandlers)
    if (allow_exec || !h.needs_allow_exec) kinds.emplace_back(h.kind);
  return kinds;
}

}  // namespace sluice::worker
