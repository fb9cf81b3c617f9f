// How jobs are shown to people (`sluice status`, `list`, `wait`, `retry`,
// `cancel` without --json). Input is the broker's job object (PROTOCOL.md §6
// "Job object") as JSON; a missing or mistyped field is shown as absent,
// never an error. Times are shown as ISO-8601 UTC.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace sluice {

// The full view of one job: its fields, then each attempt (number, outcome,
// worker, host, start, end, duration, exit code, error, stdout/stderr
// tails). `now_ms` (Unix ms) dates a running attempt's duration.
std::string FormatJob(const nlohmann::json& job, std::int64_t now_ms);

// A table, one line per job: ID STATE KIND QUEUE PRI ATTEMPT CREATED INFO.
// INFO says why a job is where it is: the broker's `waiting` reason for a
// queued job, when a scheduled one runs next, the last error.
std::string FormatJobTable(const nlohmann::json& jobs);

// "j12 succeeded", or "j13 dead (<first line of its error>)" — one line,
// for commands that change or wait on a job.
std::string FormatJobLine(const nlohmann::json& job);

}  // namespace sluice
