// The lakehouse's own schema, version by version: PRAGMA user_version holds
// the version, and OpenLakehouse migrates a lakehouse of any earlier version
// on open. A change to what sluice keeps in the lakehouse (the load ledger,
// the columns the loader adds to raw tables) is a new step appended here
// (never an edit of an old one) and a test that opens a lakehouse of the
// previous version.
//
//   1  load ids: `_sluice_loaded_files.load_id` (INTEGER, unique, one per
//      file, growing with every file loaded) and `_load_id` in every raw
//      table, the load_id of the row's file. Existing files are numbered in
//      ledger order (the order their ledger rows were written, i.e. the
//      order they were loaded), existing raw rows get their file's.
//
//   2  model state: `_sluice_model_builds` (one row per model: the SQL's
//      fingerprint, a build version, what it read at which version) and
//      `_sluice_model_intervals` (the days each incremental model processed);
//      `_sluice_exports.inputs` (what the serving tables were at an export).
//      The SQL is below; pipeline/models/model_state.h reads and writes them.
//
// Version 0 is every lakehouse written before load ids (and a new file).
#pragma once

#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::lakehouse {

inline constexpr const char* kModelBuildsTableSql =
    "CREATE TABLE IF NOT EXISTS _sluice_model_builds ("
    " model TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL,"   // SHA-256 of the model's kind, time column and SQL tokens
    " version INTEGER NOT NULL,"    // grows with every build of any model of the lakehouse
    " built_at TEXT NOT NULL,"      // UTC 'YYYY-MM-DD HH:MM:SS'
    " inputs TEXT NOT NULL)";       // JSON {table: version}: raw tables' largest load_id, models' version
inline constexpr const char* kModelIntervalsTableSql =
    "CREATE TABLE IF NOT EXISTS _sluice_model_intervals ("
    " model TEXT NOT NULL,"
    " day TEXT NOT NULL,"           // 'YYYY-MM-DD': one row per processed day
    " fingerprint TEXT NOT NULL,"   // of the model when the day was processed
    " version INTEGER NOT NULL,"    // the build that processed it
    " processed_at TEXT NOT NULL,"
    " PRIMARY KEY (model, day)) WITHOUT ROWID";

// The version this build writes.
int LakehouseSchemaVersion();

// Brings `db` (open read-write) to LakehouseSchemaVersion(), each step in
// its own IMMEDIATE transaction (another connection migrating at the same
// time waits, then finds nothing left to do). A lakehouse of a newer
// version is refused (Corruption), unchanged.
Status MigrateLakehouse(sluice::Database& db);

}  // namespace sluice::lakehouse
