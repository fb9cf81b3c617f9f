#include "pipeline/lakehouse/landing_glob.h"

#include "pipeline/lakehouse/landing_files.h"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace sluice::lakehouse {

namespace fs = std::filesystem;

std::string GlobFixedFolders(const std::string& glob) {
  const std::size_t wild = glob.find_first_of("*?[\\");
  const std::string fixed = glob.substr(0, wild);
  const std::size_t slash = fixed.rfind('/');
  return slash == std::string::npos ? std::string() : fixed.substr(0, slash + 1);
}

bool GlobSelects(const std::string& glob, const std::string& relative) {
  if (relative.empty() || relative.front() == '.' || relative.find("/.") != std::string::npos) return false;
  return fnmatch(glob.c_str(), relative.c_str(), 0) == 0;
}

Result<std::vector<std::string>> FindLandingFiles(const std::string& landing_dir, const std::string& glob) {
  std::vector<std::string> out;
  // The folders before the first wildcard need no walking.
  std::string prefix = GlobFixedFolders(glob);
  if (!prefix.empty()) prefix.pop_back();
  std::string root = landing_dir.empty() ? std::string(".") : landing_dir;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root == "/") root.clear();  // paths below start with "/" + rel
  const fs::path start = fs::path(root.empty() ? "/" : root) / prefix;

  std::error_code ec;
  if (!fs::is_directory(start, ec)) return out;
  fs::recursive_directory_iterator it(start, fs::directory_options::none, ec);
  if (ec) return Status::IOError("cannot list " + start.string() + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Status::IOError("cannot list " + start.string() + ": " + ec.message());
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (!name.empty() && name.front() == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    std::string rel = p.generic_string().substr(root.size() + 1);
    if (fnmatch(glob.c_str(), rel.c_str(), 0) == 0) out.push_back(std::move(rel));
  }
  if (ec) return Status::IOError("cannot list " + start.string() + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::string>> FolderLandingFiles::Find(const std::string& glob) {
  return FindLandingFiles(landing_dir_, glob);
}

}  // namespace sluice::lakehouse
