// Whose SQLite file is this? Every database sluice creates (the broker's
// state, the lakehouse, the serving database) carries
// PRAGMA application_id = kApplicationId, and sluice opens a file read-write
// only after looking at it without writing a byte: opening read-write alone
// can change a file (a hot journal rolled back, -wal/-shm created), and
// `journal_mode=WAL` rewrites its header.
//
// InspectDatabaseFile() decides, from the file as it is:
//   - absent, zero bytes, or a SQLite database with no schema at all
//     (user_version 0): kNew, sluice may create it and stamp it;
//   - application_id == kApplicationId: kSluice, open it;
//   - application_id 0 and the kind's own tables and user_version (what
//     every release before the stamp wrote): kSluiceUnstamped, open it,
//     migrate as usual and stamp it;
//   - anything else (another application's id or tables, not a database,
//     a truncated or unreadable file): a Corruption status naming the file
//     and why; the file is left exactly as it was.
//
// The look is a read of the 100-byte header, then an `immutable` read-only
// open (no locks, no side files), or, when a non-empty -wal file sits next to
// it, a plain read-only open, so that what the WAL holds is seen too (a
// read-only connection never writes the database or its WAL; SQLite may
// create the -shm index).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice {

// sluice's PRAGMA application_id: 'SLCE' as a big-endian 32-bit integer.
inline constexpr std::int32_t kApplicationId = 0x534C4345;

enum class DatabaseOwner {
  kNew,              // nothing there yet: create, then stamp
  kSluice,           // stamped by sluice
  kSluiceUnstamped,  // sluice's, written before the stamp existed: stamp it
};

// What an inspection read from a file.
struct DatabaseContents {
  std::int64_t application_id = 0;
  std::int64_t user_version = 0;
  std::vector<std::string> tables;  // sqlite_master entries of type 'table'
  std::int64_t schema_entries = 0;  // every sqlite_master entry
  bool HasTable(std::string_view name) const;
};

// Which kind of sluice database a path is meant to hold.
struct DatabaseKind {
  std::string what;      // "sluice state database", for messages
  std::string expected;  // what an unstamped one holds, for messages
  // For an unstamped file (application_id 0, some schema): is it ours?
  std::function<bool(const DatabaseContents&)> is_ours;
};

Result<DatabaseOwner> InspectDatabaseFile(const std::string& path, const DatabaseKind& kind);

// Writes the stamp on a connection open read-write (`schema`: "main", or
// the name of an attached database).
Status StampApplicationId(Database& db, std::string_view schema = "main");

}  // namespace sluice
