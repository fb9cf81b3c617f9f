// Test helpers for checking on processes that handlers started.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace sluice::worker::testing {

// True when `pid` no longer runs: gone, or a zombie nobody has reaped yet
// (orphans are reaped by whatever is pid 1, which may be slow or never).
inline bool ProcessIsGone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  // "pid (comm) S ...": the state follows the last ')'.
  std::size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return true;
  char state = line[close + 2];
  return state == 'Z' || state == 'X';
}

// Waits (generously: the machine may be loaded) for `pid` to be gone.
inline bool WaitGone(pid_t pid, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (ProcessIsGone(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ProcessIsGone(pid);
}

// The integers in `text`, one per line (lines that are not numbers skipped).
inline std::vector<pid_t> PidsIn(const std::string& text) {
  std::vector<pid_t> pids;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    try {
      std::size_t used = 0;
      long v = std::stol(line, &used);
      if (used == line.size() && v > 0) pids.push_back(static_cast<pid_t>(v));
    } catch (...) {
    }
  }
  return pids;
}

}  // namespace sluice::worker::testing
