#include "pipeline/serving/serving_reader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "pipeline/serving/serving_export.h"

namespace sluice::serving {

ServingReader::ServingReader(std::string path, std::chrono::milliseconds check_every)
    : path_(std::move(path)), check_every_(check_every) {}

Status ServingReader::Reopen() {
  // stat before and after the open: equal identities mean the open got that
  // file (a rename in between shows as a difference, and we try again).
  for (int tries = 0; tries < 5; ++tries) {
    struct stat before {};
    if (::stat(path_.c_str(), &before) != 0)
      return Status::NotFound("cannot open " + path_ + ": " + std::strerror(errno));
    // Only a sluice serving database (a foreign file is refused, untouched).
    if (auto owner = InspectDatabaseFile(path_, ServingDatabase()); !owner.ok()) return owner.status();
    auto db = std::make_unique<Database>();
    if (auto s = db->OpenImmutable(path_); !s.ok()) return s;
    // Opening is lazy: read the schema now so that a bad file fails here.
    if (auto s = db->Exec("SELECT count(*) FROM sqlite_master"); !s.ok())
      return Status::Corruption(path_ + ": " + s.message());
    struct stat after {};
    if (::stat(path_.c_str(), &after) != 0) continue;
    if (after.st_dev != before.st_dev || after.st_ino != before.st_ino) continue;
    db_ = std::move(db);  // the old connection closes here, after the new one opened
    dev_ = before.st_dev;
    ino_ = before.st_ino;
    ++opens_;
    return Status::Ok();
  }
  return Status::Unavailable(path_ + " keeps changing; try again");
}

Result<Database*> ServingReader::Get() {
  auto now = std::chrono::steady_clock::now();
  if (db_ && now < next_check_) return db_.get();
  next_check_ = now + check_every_;
  struct stat st {};
  bool same = db_ && ::stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_;
  if (same) return db_.get();
  Status s = Reopen();
  if (db_) return db_.get();  // reopened, or a failed reopen keeps the old file
  return s;
}

}  // namespace sluice::serving
