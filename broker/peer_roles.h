// Roles of CURVE keys, and the commands each role may send.
//
// The broker's --authorized folder has one sub-folder per role; a key in
// several folders has every role it is listed under. Without CURVE (a
// loopback broker) there are no keys and every peer may send everything.
//
//   workers: READY, HEARTBEAT, RESULT, BYE
//   clients: SUBMIT, RUN, the queries (STATUS, LIST, WORKERS, STATS,
//            EXTRACTIONS, RUNS, SCHEDULES), RETRY and CANCEL of jobs
//   admins:  what clients may, plus RELOAD, PAUSE and RESUME
#pragma once

#include <cstdint>
#include <string>

#include "schemas/protocol.h"

namespace sluice::broker {

enum Role : std::uint8_t {
  kRoleWorker = 1 << 0,
  kRoleClient = 1 << 1,
  kRoleAdmin = 1 << 2,
};
using Roles = std::uint8_t;

// The folder names under --authorized, in the order of the bits above.
inline constexpr const char* kRoleFolders[] = {"workers", "clients", "admins"};

// True when a peer with `roles` may send `command`.
constexpr bool RolesAllow(Roles roles, std::uint8_t command) {
  using C = proto::Command;
  switch (static_cast<C>(command)) {
    case C::kReady:
    case C::kHeartbeat:
    case C::kResult:
    case C::kBye:
      return (roles & kRoleWorker) != 0;
    case C::kSubmit:
    case C::kRun:
    case C::kStatus:
    case C::kList:
    case C::kRetry:
    case C::kCancelJob:
    case C::kWorkers:
    case C::kStats:
    case C::kExtractions:
    case C::kRuns:
    case C::kSchedules:
      return (roles & (kRoleClient | kRoleAdmin)) != 0;
    case C::kPause:
    case C::kResume:
    case C::kReload:
      return (roles & kRoleAdmin) != 0;
    default:
      return false;
  }
}

// "workers", "clients+admins", ... ("none" for 0).
std::string RolesText(Roles roles);

}  // namespace sluice::broker
