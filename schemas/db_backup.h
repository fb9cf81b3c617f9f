// Backups of sluice's SQLite databases (the broker's state, the lakehouse)
// in an S3-compatible store, and their restore.
//
// A snapshot is a consistent copy taken online: SQLite's backup API from a
// read-only connection of its own, every page in one step (one read
// transaction; in WAL mode the writer is never blocked). It is checked as a
// restore would check it (so nothing is uploaded that could not be
// restored: a file that is not sluice's is refused here), gzipped to a temp
// file, uploaded (multipart from 16 MiB, never visible half written), then
// the location is pruned (backup_retention.h). Objects:
//
//   {location}/{subject}/{subject}-YYYYMMDDTHHMMSSZ.sqlite.gz
//
// Restore downloads the newest snapshot (or the one named), gunzips it next
// to the target, and checks it before anything is replaced: PRAGMA
// integrity_check says ok, it carries sluice's application_id, its
// user_version is one this build knows (min..max_version), its tables are
// there. Only then is it fsynced and renamed over the target (the old
// target's -wal, -shm and -journal files removed first: they belong to the
// old file).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "schemas/backup_retention.h"
#include "schemas/s3_client.h"
#include "schemas/s3_location.h"
#include "schemas/status.h"

namespace sluice::backup {

// "state" or "lakehouse": the folder and file name prefix of a subject's
// snapshots.
struct Subject {
  std::string name;                 // state | lakehouse
  std::string what;                 // "state database", for messages
  int min_version = 1;              // the oldest user_version a snapshot may have
  int max_version = 0;              // the newest user_version this build reads
  std::vector<std::string> tables;  // tables a snapshot must hold
};

// The broker's state database: "state", user_version 1..this build's,
// tables jobs, attempts and counters.
Subject StateSubject();

struct BackupReport {
  std::string key;             // the object written
  std::string stamp;           // its time
  std::uint64_t db_bytes = 0;  // the snapshot's size
  std::uint64_t gz_bytes = 0;  // the object's size
  std::vector<std::string> pruned;  // stamps deleted by the retention rules
};

// Snapshots `db_path` to the store. `temp_dir` holds the two temp files
// (removed before returning). A snapshot for the same second as an
// existing one is refused (Conflict) rather than replaced.
Result<BackupReport> BackupDatabase(s3::Client& client, const s3::Location& location, const Subject& subject,
                                    const std::string& db_path, const std::string& temp_dir,
                                    const Retention& retention, std::chrono::system_clock::time_point now);

// The stamps of the subject's snapshots at `location`, oldest first.
Result<std::vector<std::string>> ListSnapshots(s3::Client& client, const s3::Location& location,
                                               const Subject& subject);

struct RestoreOptions {
  std::string at;      // a stamp (or a prefix of one, e.g. "20261205"): the newest matching; "" = the newest
  bool replace = false;  // allow replacing an existing target file
};

// Restores a snapshot into `target`. NotFound when there is none (or none
// matching `at`); Corruption when the snapshot fails a check (the target
// is untouched); Conflict when the target exists and !replace. Returns the
// stamp restored.
Result<std::string> RestoreDatabase(s3::Client& client, const s3::Location& location, const Subject& subject,
                                    const std::string& target, const RestoreOptions& options);

// Checks a database file as RestoreDatabase checks a download.
Status CheckSnapshotFile(const std::string& path, const Subject& subject);

}  // namespace sluice::backup
