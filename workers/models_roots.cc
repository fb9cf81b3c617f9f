#include "workers/models_roots.h"

#include <filesystem>
#include <system_error>

#include "workers/landing_names.h"

namespace sluice::worker {
namespace {

namespace fs = std::filesystem;

// `path` is `root` or lies under it (component by component: /a/bc is not
// under /a/b).
bool Inside(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p)
    if (p == path.end() || *p != *r) return false;
  return true;
}

}  // namespace

fs::path CanonicalPath(const fs::path& p) {
  std::error_code ec;
  fs::path absolute = fs::absolute(p, ec);
  if (ec) return {};
  fs::path canonical = fs::weakly_canonical(absolute, ec);
  if (ec) return {};
  canonical = canonical.lexically_normal();
  if (!canonical.has_filename() && canonical.has_relative_path()) canonical = canonical.parent_path();
  return canonical;
}

Result<std::string> ConfineToModelsRoots(std::string_view field, std::string_view param,
                                         const std::vector<std::string>& roots) {
  std::vector<fs::path> canonical_roots;
  std::string listed;
  for (const std::string& root : roots) {
    fs::path c = root.empty() ? fs::path() : CanonicalPath(root);
    if (c.empty()) continue;
    listed += (listed.empty() ? "" : ", ") + c.string();
    canonical_roots.push_back(std::move(c));
  }
  auto refuse = [&](std::string_view why) -> Status {
    return Status::InvalidArgument(
        "field '" + std::string(field) + "' " + Quoted(param) + " " + std::string(why) +
        "; this worker reads models and sources only under its models roots (" +
        (listed.empty() ? std::string("none") : listed) +
        "): give an absolute path inside one of them or a path relative to the first "
        "(sluice-worker --models-root)");
  };
  if (param.find('\0') != std::string_view::npos) return refuse("contains a NUL byte");
  if (canonical_roots.empty()) return refuse("cannot be read");
  fs::path given(param);
  fs::path candidate = CanonicalPath(given.is_absolute() ? given : canonical_roots.front() / given);
  if (candidate.empty()) return refuse("cannot be resolved");
  for (const fs::path& root : canonical_roots)
    if (Inside(candidate, root)) return candidate.string();
  return refuse(candidate.string() == given.string() ? "is outside the models roots"
                                                     : "(" + candidate.string() + ") is outside the models roots");
}

std::string DescribeResolution(std::string_view field, std::string_view param,
                               const std::vector<std::string>& roots) {
  std::string out = std::string(field) + " = " + Quoted(param);
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  std::string working = ec ? std::string("(unknown)") : cwd.string();
  if (fs::path(param).is_absolute()) return out + ", an absolute path";
  if (roots.empty() || roots.front().empty()) return out + ", with no models root to resolve it against";
  const std::string& first = roots.front();
  out += ", resolved against the first models root " + CanonicalPath(first).string();
  if (fs::path(first).is_relative())
    out += " (" + Quoted(first) + " in the worker's working folder " + working + ")";
  out += "; the roots are set with sluice-worker --models-root or SLUICE_MODELS_ROOT";
  return out;
}

void RefuseModelsPath(std::string_view kind, const Status& why, proto::JobResult* result) {
  result->outcome = Outcome::kFailed;
  result->retryable = false;
  result->error = std::string(kind) + ": " + why.message();
}

}  // namespace sluice::worker
