// The landing zone on disk: one partition folder per (source, month of the
// download), and the temp-file-then-rename protocol that makes every
// landing file appear whole or not at all.
//
//   {landing}/{source}/{YYYY}/{MM}/     a partition (YYYY/MM: UTC fetch time)
//   .../.sluice-tmp-<16 hex>            a download in progress where the
//                                       filesystem has no O_TMPFILE (or one
//                                       that a killed worker left: swept
//                                       after an hour)
//   .../{stem}.{ext}.gz                 a landing file: immutable, never
//                                       overwritten, never deleted by sluice
//
// Containment: the partition is reached from the landing folder with
// openat(O_NOFOLLOW) one validated component at a time, and every file
// operation is relative to the partition's directory fd with a name checked
// by IsSafeFileName(): no "..", "/", NUL or symlink can lead outside. Open()
// also checks that the canonical path of the partition is the landing
// folder's plus the three components.
//
// Durability: a file is written, fsynced, linked into place without
// replacing anything, and the folder is fsynced; new folders are fsynced
// into their parents. A download is an unnamed O_TMPFILE inode in the
// partition, linked in with linkat (which refuses an existing name): no
// temp name to create, rename or sweep, and nothing left behind by a killed
// worker. Where the filesystem has no O_TMPFILE, it is a named temp file
// renamed with RENAME_NOREPLACE (link + unlink where that is missing too).
// The folder's fsync is shared by the files linked into it at the same time
// (FolderSync).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "schemas/status.h"

namespace sluice::worker {

class LandingPartition;

// A temp file in a partition. Deleted by the destructor unless published.
class TempFile {
 public:
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  // Writes all of `bytes` (IOError naming the file on failure, e.g. ENOSPC).
  Status Write(std::string_view bytes);
  std::uint64_t size() const { return size_; }
  // The temp file's name; empty for an unnamed (O_TMPFILE) one.
  const std::string& name() const { return name_; }

 private:
  friend class LandingPartition;
  TempFile(int dir_fd, int fd, std::string name) : dir_fd_(dir_fd), fd_(fd), name_(std::move(name)) {}
  std::string Describe() const { return name_.empty() ? "(an unnamed temp file)" : name_; }
  int dir_fd_;  // borrowed from the partition, which outlives its temp files
  int fd_;
  std::string name_;  // empty: O_TMPFILE
  std::uint64_t size_ = 0;
  bool published_ = false;
};

class LandingPartition {
 public:
  // Opens {landing_dir}/{source}/{YYYY}/{MM} for the UTC month of
  // `fetch_time`, creating what is missing (landing_dir too). `source` must
  // pass ValidateSource().
  static Result<std::unique_ptr<LandingPartition>> Open(const std::string& landing_dir,
                                                        std::string_view source,
                                                        std::chrono::system_clock::time_point fetch_time);
  ~LandingPartition();
  LandingPartition(const LandingPartition&) = delete;
  LandingPartition& operator=(const LandingPartition&) = delete;

  // "{source}/{YYYY}/{MM}", relative to the landing folder.
  const std::string& relative_dir() const { return relative_dir_; }
  // relative_dir() + "/" + name.
  std::string RelativePath(std::string_view name) const { return relative_dir_ + "/" + std::string(name); }

  // Deletes temp files whose last write is older than `max_age` before
  // `now` (left by a killed worker; a live download writes every few
  // seconds or fails on its stall timeout). Returns how many.
  int SweepStaleTemps(std::chrono::system_clock::time_point now, std::chrono::seconds max_age);

  // True if a file (or anything) named `name` is in the partition.
  bool Exists(std::string_view name) const;

  // An unnamed O_TMPFILE where the filesystem has it (and
  // `allow_unnamed`), else a named one.
  Result<std::unique_ptr<TempFile>> CreateTemp(bool allow_unnamed = true);

  // Makes `temp` the landing file `name`: fsync, link (or rename) unless
  // `name` exists, fsync of the folder. Returns true when published, false
  // when `name` already existed (the temp file is deleted; nothing else
  // changes).
  Result<bool> Publish(TempFile* temp, std::string_view name);

 private:
  LandingPartition(int dir_fd, std::string relative_dir, dev_t dev, ino_t ino)
      : dir_fd_(dir_fd), relative_dir_(std::move(relative_dir)), dev_(dev), ino_(ino) {}
  Status SyncFolder();
  int dir_fd_;
  std::string relative_dir_;
  dev_t dev_;  // the folder's, for FolderSync
  ino_t ino_;
};

}  // namespace sluice::worker
