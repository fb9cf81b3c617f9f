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
// Version 0 is every lakehouse written before load ids (and a new file).
#pragma once

#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::lakehouse {

// The version this build writes.
int LakehouseSchemaVersion();

// Brings `db` (open read-write) to LakehouseSchemaVersion(), each step in
// its own IMMEDIATE transaction (another connection migrating at the same
// time waits, then finds nothing left to do). A lakehouse of a newer
// version is refused (Corruption), unchanged.
Status MigrateLakehouse(sluice::Database& db);

}  // namespace sluice::lakehouse
