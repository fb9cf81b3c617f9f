#include "workers/handler_table.h"

#include "workers/builtin_handlers.h"

namespace sluice::worker {
namespace {

constexpr HandlerSpec kHandlers[] = {
    {"exec", RunExec, Execution::kSlotThread, /*needs_allow_exec=*/true},
    {"extract.http", RunExtractHttp, Execution::kSlotThread, false},
    {"load", RunLoad, Execution::kSlotThread, false},
    {"transform.sql", RunTransformSql, Execution::kSlotThread, false},
    {"export.serving", RunExportServing, Execution::kSlotThread, false},
    {"test.noop", RunTestNoop, Execution::kInline, false},
    {"test.sleep", RunTestSleep, Execution::kSlotThread, false},
    {"test.fail", RunTestFail, Execution::kInline, false},
    {"test.crash", RunTestCrash, Execution::kInline, false},
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
