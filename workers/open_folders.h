// OpenFolders: partition folders this process has opened and checked, kept
// open across jobs.
//
// Opening a partition walks {landing}/{source}/{YYYY}/{MM} one component at
// a time (mkdirat, openat with O_NOFOLLOW) and checks its canonical path:
// about twenty system calls, once per file landed, when every file of a
// month lands in the same folder. A folder kept here is reused after one
// stat of its path: the path must still name the very folder kept (same
// device and inode; the open fd pins the inode, so its number cannot be
// taken by another folder). A folder renamed, removed or replaced by a
// symlink to elsewhere no longer matches, and is opened and checked afresh.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

namespace sluice::worker {

// An open folder: closed when the last partition using it goes.
class OpenFolder {
 public:
  OpenFolder(int fd, dev_t dev, ino_t ino) : fd_(fd), dev_(dev), ino_(ino) {}
  ~OpenFolder();
  OpenFolder(const OpenFolder&) = delete;
  OpenFolder& operator=(const OpenFolder&) = delete;
  int fd() const { return fd_; }
  dev_t dev() const { return dev_; }
  ino_t ino() const { return ino_; }

 private:
  int fd_;
  dev_t dev_;
  ino_t ino_;
};

class OpenFolders {
 public:
  // The folder kept for `path` if `path` still names it; else nullptr (and
  // a stale entry is dropped).
  static std::shared_ptr<OpenFolder> Find(const std::string& path);
  // Keeps `folder`, checked to be what `path` names. At most kMax folders
  // are kept (sources x months a worker lands in); one more lets go of all
  // the others (each fd closes once no partition uses it).
  static void Keep(const std::string& path, std::shared_ptr<OpenFolder> folder);
  static constexpr std::size_t kMax = 256;
};

}  // namespace sluice::worker
