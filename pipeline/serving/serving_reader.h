// ServingReader: how a dashboard or an API reads the analytics database.
//
// It holds one read-only connection and, before handing it out, checks
// whether the file at the path is still the one it opened (device + inode).
// When an export has renamed a new file over it, the reader opens the new
// file and only then closes the old connection, so a query never fails
// because of an export and never sees a half-written table: each file it
// opens was complete before it appeared under the path. Versions never go
// backwards, since a path only ever moves on to a newer file.
//
// Only a sluice serving database is opened (serving_export.h says which
// files are): another application's file at the path is an error, left as
// it is. Files are opened `immutable` (no locks, no journal checks): an exported
// file is never written after its rename. Not thread-safe: one reader per
// thread.
//
//   ServingReader reader("data/analytics.sqlite");
//   auto db = reader.Get();             // Result<Database*>
//   if (db.ok()) { auto st = (*db)->Prepare("SELECT ..."); ... }
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::serving {

class ServingReader {
 public:
  // check_every: how often Get() looks at the path; zero (default) means on
  // every call (a stat(2), about a microsecond).
  explicit ServingReader(std::string path,
                         std::chrono::milliseconds check_every = std::chrono::milliseconds(0));

  // The connection for the next queries; valid until the next Get(). An
  // error only when nothing could ever be opened (no file yet, not a
  // database); once open, a failed reopen keeps the current connection.
  Result<Database*> Get();

  // How many times a file was opened (1 after the first Get()).
  std::uint64_t opens() const { return opens_; }
  const std::string& path() const { return path_; }

 private:
  Status Reopen();

  std::string path_;
  std::chrono::milliseconds check_every_;
  std::chrono::steady_clock::time_point next_check_{};
  std::unique_ptr<Database> db_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::uint64_t opens_ = 0;
};

}  // namespace sluice::serving
