#include "workers/open_folders.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <unordered_map>
#include <utility>

namespace sluice::worker {
namespace {

struct Kept {
  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<OpenFolder>> by_path;
};

Kept& State() {
  static Kept* kept = new Kept;  // never destroyed: slot threads may outlive statics
  return *kept;
}

}  // namespace

OpenFolder::~OpenFolder() { ::close(fd_); }

std::shared_ptr<OpenFolder> OpenFolders::Find(const std::string& path) {
  Kept& k = State();
  std::shared_ptr<OpenFolder> folder;
  {
    std::lock_guard<std::mutex> lock(k.mu);
    auto it = k.by_path.find(path);
    if (it == k.by_path.end()) return nullptr;
    folder = it->second;
  }
  struct stat st{};
  if (::fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
      st.st_dev == folder->dev() && st.st_ino == folder->ino())
    return folder;
  std::lock_guard<std::mutex> lock(k.mu);
  auto it = k.by_path.find(path);
  if (it != k.by_path.end() && it->second == folder) k.by_path.erase(it);
  return nullptr;
}

void OpenFolders::Keep(const std::string& path, std::shared_ptr<OpenFolder> folder) {
  Kept& k = State();
  std::lock_guard<std::mutex> lock(k.mu);
  if (k.by_path.size() >= kMax && k.by_path.count(path) == 0) k.by_path.clear();  // rare: start over
  k.by_path.insert_or_assign(path, std::move(folder));
}

}  // namespace sluice::worker
