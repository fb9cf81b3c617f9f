#include "schemas/protocol.h"

namespace sluice::proto {

const char* CommandName(std::uint8_t code) {
  switch (static_cast<Command>(code)) {
    case Command::kReady: return "READY";
    case Command::kHeartbeat: return "HEARTBEAT";
    case Command::kResult: return "RESULT";
    case Command::kBye: return "BYE";
    case Command::kJob: return "JOB";
    case Command::kCancel: return "CANCEL";
    case Command::kAck: return "ACK";
    case Command::kRecall: return "RECALL";
    case Command::kSubmit: return "SUBMIT";
    case Command::kRun: return "RUN";
    case Command::kStatus: return "STATUS";
    case Command::kList: return "LIST";
    case Command::kRetry: return "RETRY";
    case Command::kCancelJob: return "CANCEL_JOB";
    case Command::kWorkers: return "WORKERS";
    case Command::kStats: return "STATS";
    case Command::kExtractions: return "EXTRACTIONS";
    case Command::kRuns: return "RUNS";
    case Command::kSchedules: return "SCHEDULES";
    case Command::kPause: return "PAUSE";
    case Command::kResume: return "RESUME";
    case Command::kReload: return "RELOAD";
    case Command::kReply: return "REPLY";
    case Command::kError: return "ERROR";
    case Command::kDone: return "DONE";
  }
  return nullptr;
}

}  // namespace sluice::proto
