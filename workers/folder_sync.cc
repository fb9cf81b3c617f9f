#include "workers/folder_sync.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace sluice::worker {
namespace {

// One folder's fsyncs. Generations: each Sync() call takes the next
// request number; an fsync started when `requested` was R covers every
// request up to R.
struct Group {
  std::mutex mu;
  std::condition_variable cv;
  std::uint64_t requested = 0;  // requests so far
  std::uint64_t covered = 0;    // requests covered by the last finished fsync
  bool running = false;
  // Failed fsyncs, newest last: (first request, last request, errno). Each
  // fsync covers the requests after the previous one's, up to `requested`
  // when it started. Failures are rare; the newest 64 are kept.
  struct Failure {
    std::uint64_t from, upto;
    int err;
  };
  std::deque<Failure> failures;
};

std::shared_ptr<Group> GroupFor(dev_t dev, ino_t ino) {
  static std::mutex mu;
  // Partitions a worker lands in: sources x months; never pruned.
  static std::map<std::pair<dev_t, ino_t>, std::shared_ptr<Group>> groups;
  std::lock_guard<std::mutex> lock(mu);
  std::shared_ptr<Group>& g = groups[{dev, ino}];
  if (!g) g = std::make_shared<Group>();
  return g;
}

std::atomic<FolderSync::FsyncFn> g_fsync{&::fsync};

}  // namespace

void FolderSync::SetFsyncForTesting(FsyncFn fn) { g_fsync.store(fn == nullptr ? &::fsync : fn); }

std::uint64_t FolderSync::RequestsForTesting(dev_t dev, ino_t ino) {
  std::shared_ptr<Group> g = GroupFor(dev, ino);
  std::lock_guard<std::mutex> lock(g->mu);
  return g->requested;
}

Status FolderSync::Sync(int dir_fd, dev_t dev, ino_t ino) {
  std::shared_ptr<Group> g = GroupFor(dev, ino);
  std::unique_lock<std::mutex> lock(g->mu);
  const std::uint64_t mine = ++g->requested;
  while (g->covered < mine) {
    if (g->running) {
      g->cv.wait(lock);
      continue;
    }
    // Nothing under way: this thread fsyncs for every request so far.
    g->running = true;
    const std::uint64_t upto = g->requested;
    lock.unlock();
    const int rc = g_fsync.load()(dir_fd);
    const int err = rc == 0 ? 0 : errno;
    lock.lock();
    if (err != 0) {
      g->failures.push_back({g->covered + 1, upto, err});
      if (g->failures.size() > 64) g->failures.pop_front();
    }
    g->running = false;
    g->covered = upto;
    g->cv.notify_all();
    if (err != 0) return Status::IOError(std::string("fsync of the folder: ") + std::strerror(err));
    return Status::Ok();
  }
  // Covered by another thread's fsync: its outcome is ours.
  for (const Group::Failure& f : g->failures)
    if (f.from <= mine && mine <= f.upto)
      return Status::IOError(std::string("fsync of the folder: ") + std::strerror(f.err));
  return Status::Ok();
}

}  // namespace sluice::worker
