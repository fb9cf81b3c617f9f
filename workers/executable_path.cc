#include "workers/executable_path.h"

#include <sys/stat.h>
#include <unistd.h>

namespace sluice::worker {
namespace {

bool IsExecutableFile(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

Result<std::string> FindExecutable(std::string_view command, std::string_view path_env) {
  if (command.find('/') != std::string_view::npos) return std::string(command);
  std::size_t start = 0;
  while (start <= path_env.size()) {
    std::size_t end = path_env.find(':', start);
    if (end == std::string_view::npos) end = path_env.size();
    std::string_view dir = path_env.substr(start, end - start);
    std::string candidate = dir.empty() ? std::string(command) : std::string(dir) + "/" + std::string(command);
    if (IsExecutableFile(candidate)) return dir.empty() ? "./" + candidate : candidate;
    start = end + 1;
  }
  return Status::NotFound("command '" + std::string(command) + "' not found in PATH");
}

}  // namespace sluice::worker
