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
// (FolderSync). An opened partition folder is kept open for the next job
// that lands there (OpenFolders).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "schemas/status.h"
#include "workers/open_folders.h"

namespace sluice::worker {

// A temp file: unnamed (O_TMPFILE) where the filesystem has it, else named
// ".sluice-tmp-<16 hex>". Deleted by the destructor unless published.
class TempFile {
 public:
  // Creates one in the folder `dir_fd` (`where` names it in errors).
  static Result<std::unique_ptr<TempFile>> CreateIn(int dir_fd, const std::string& where, bool allow_unnamed);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  // Writes all of `bytes` (IOError naming the file on failure, e.g. ENOSPC).
  Status Write(std::string_view bytes);
  std::uint64_t size() const { return size_; }
  // The temp file's name; empty for an unnamed (O_TMPFILE) one.
  const std::string& name() const { return name_; }
  // Open for reading and writing (an object-store partition uploads from it).
  int fd() const { return fd_; }

 private:
  friend class FolderPartition;
  TempFile(int dir_fd, int fd, std::string name) : dir_fd_(dir_fd), fd_(fd), name_(std::move(name)) {}
  std::string Describe() const { return name_.empty() ? "(an unnamed temp file)" : name_; }
  int dir_fd_;  // borrowed from the partition, which outlives its temp files
  int fd_;
  std::string name_;  // empty: O_TMPFILE
  std::uint64_t size_ = 0;
  bool published_ = false;
};

// "{source}/{YYYY}/{MM}" for the UTC month of `fetch_time`; `source` must
// pass ValidateSource().
Result<std::string> PartitionDir(std::string_view source, std::chrono::system_clock::time_point fetch_time);

// One partition of a landing zone: a folder (FolderPartition, below) or a
// prefix in an object store (workers/s3_landing.h). LandingWriter streams a
// body into a TempFile from CreateTemp() and names it with Publish().
class LandingPartition {
 public:
  virtual ~LandingPartition() = default;
  LandingPartition(const LandingPartition&) = delete;
  LandingPartition& operator=(const LandingPartition&) = delete;

  // The folder's partition: opens {landing_dir}/{source}/{YYYY}/{MM} for
  // the UTC month of `fetch_time`, creating what is missing (landing_dir
  // too). `source` must pass ValidateSource().
  static Result<std::unique_ptr<LandingPartition>> Open(const std::string& landing_dir,
                                                        std::string_view source,
                                                        std::chrono::system_clock::time_point fetch_time);

  // "{source}/{YYYY}/{MM}", relative to the landing zone's root.
  const std::string& relative_dir() const { return relative_dir_; }
  // relative_dir() + "/" + name.
  std::string RelativePath(std::string_view name) const { return relative_dir_ + "/" + std::string(name); }

  // Deletes temp files whose last write is older than `max_age` before
  // `now` (left by a killed worker; a live download writes every few
  // seconds or fails on its stall timeout). Returns how many.
  virtual int SweepStaleTemps(std::chrono::system_clock::time_point /*now*/, std::chrono::seconds /*max_age*/) {
    return 0;
  }

  // True if a landing file named `name` is in the partition.
  virtual Result<bool> Exists(std::string_view name) = 0;

  // A temp file for a download on its way to becoming `name`.
  virtual Result<std::unique_ptr<TempFile>> CreateTemp(bool allow_unnamed = true) = 0;

  // Makes `temp` the landing file `name` unless `name` exists. Returns true
  // when published, false when `name` already existed (the temp file is
  // deleted; nothing else changes).
  virtual Result<bool> Publish(TempFile* temp, std::string_view name) = 0;

 protected:
  explicit LandingPartition(std::string relative_dir) : relative_dir_(std::move(relative_dir)) {}
  std::string relative_dir_;
};

// A partition folder on a local (or shared) filesystem; see the top.
class FolderPartition final : public LandingPartition {
 public:
  ~FolderPartition() override;
  int SweepStaleTemps(std::chrono::system_clock::time_point now, std::chrono::seconds max_age) override;
  Result<bool> Exists(std::string_view name) override;
  Result<std::unique_ptr<TempFile>> CreateTemp(bool allow_unnamed = true) override;
  // fsync, link (or rename) unless `name` exists, fsync of the folder.
  Result<bool> Publish(TempFile* temp, std::string_view name) override;

 private:
  friend class LandingPartition;
  FolderPartition(std::shared_ptr<OpenFolder> folder, std::string relative_dir)
      : LandingPartition(std::move(relative_dir)), folder_(std::move(folder)) {}
  int dir_fd() const { return folder_->fd(); }
  Status SyncFolder();
  std::shared_ptr<OpenFolder> folder_;  // shared with OpenFolders and other jobs
};

}  // namespace sluice::worker
