// FolderSync: a group commit for fsyncs of one folder.
//
// A landing file is durable once the folder that names it is fsynced after
// the file was linked into it. Slots landing files in the same partition at
// once need not each fsync the folder: one fsync that starts after a
// file's link covers that file and every link before it. Sync() waits for
// such an fsync: it runs one itself when none is under way, and otherwise
// waits for the one under way and then, if that one started before the
// caller's link, for the next, which the first waiter to find none under
// way runs for all of them. Each caller gets the status of an fsync that
// covers its link. Folders are told apart by (device, inode).
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "schemas/status.h"

namespace sluice::worker {

class FolderSync {
 public:
  // fsyncs the folder open as `dir_fd` (device `dev`, inode `ino`), or waits
  // for an fsync of it that started after this call, on another thread.
  static Status Sync(int dir_fd, dev_t dev, ino_t ino);

  // Tests: the call that fsyncs (default ::fsync), to count calls, hold
  // one under way or fail it. nullptr restores ::fsync.
  using FsyncFn = int (*)(int fd);
  static void SetFsyncForTesting(FsyncFn fn);
  // Tests: how many Sync() calls the folder has had (a fence: a caller has
  // taken its place once this counts it).
  static std::uint64_t RequestsForTesting(dev_t dev, ino_t ino);
};

}  // namespace sluice::worker
