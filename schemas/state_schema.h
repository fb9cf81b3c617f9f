// The broker's SQLite state schema, version by version.
//
// PRAGMA user_version holds the schema version. kMigrations[i] takes a
// database from version i to i+1; a new database runs them all. A change to
// the schema is a new entry appended here (never an edit of an old one) and a
// test that opens a database of the previous version.
//
// `attempts` holds finished attempts only. A dispatch is written before its
// JOB goes out (`jobs.state` 'running', `jobs.attempt` the running attempt,
// since version 4), so a restarted broker knows which attempts may still be
// running: workers re-announce them or re-send their results, and an attempt
// nobody claims within the grace period is recorded `lost` and the job runs
// again under the next attempt number. No attempt number is ever run twice.
//
// Conventions: times are INTEGER Unix milliseconds in columns ending in _ms;
// a job's public id is 'j' || seq (the `id` column is generated); params and
// outputs are msgpack maps (BLOB). States and outcomes are CHECKed against
// the names in job_state.h.
#pragma once

#include <span>
#include <string_view>

namespace sluice::schema {

// The SQL of each migration, in order. Version N = kMigrations.size().
std::span<const std::string_view> Migrations();
inline int CurrentVersion() { return static_cast<int>(Migrations().size()); }

}  // namespace sluice::schema
