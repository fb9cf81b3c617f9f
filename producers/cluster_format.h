// How the broker's view of the cluster is shown to people (`sluice workers`,
// `sluice stats` without --json). Input is the WORKERS / STATS reply
// (PROTOCOL.md §6.6, §6.7) as JSON; unknown fields are shown generically,
// missing ones are left out.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace sluice {

// A table: WORKER HOST PID QUEUES KINDS SLOTS BUSY VERSION CONNECTED
// LAST SEEN. `now_ms` (Unix ms) turns last_seen_ms into "2 s ago".
std::string FormatWorkers(const nlohmann::json& workers, std::int64_t now_ms);

// The stats object: version and uptime, jobs per state, a queue table,
// counters and periodic tasks.
std::string FormatStats(const nlohmann::json& stats);

}  // namespace sluice
