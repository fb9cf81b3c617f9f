// Where load and transform.sql may read: the worker's models roots
// (--models-root, repeatable; env SLUICE_MODELS_ROOT, colon-separated;
// default: the worker's working folder). A job names a models folder or a
// sources file by a param; that param may be an absolute path inside a
// root, or a path relative to the first root. Anything else is refused, so
// a job cannot make the worker read (and report on) any file of its host.
//
// Containment is decided on canonical paths: symlinks are resolved (and
// `..` folded) in both the param and the roots before the check, so a
// symlink inside a root that points out of it is refused too. A path that
// does not exist (yet) is resolved as far as it exists.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/messages.h"
#include "schemas/status.h"

namespace sluice::worker {

// `path` made absolute, with symlinks resolved as far as it exists, `.`
// and `..` folded and no trailing separator; empty on error. What the
// containment checks here and in export.serving compare.
std::filesystem::path CanonicalPath(const std::filesystem::path& path);

// The canonical path `param` (the job's field `field`, e.g. "models")
// stands for, when it lies inside one of `roots`. InvalidArgument naming
// the field, the param and the roots otherwise; an empty `roots` refuses
// everything.
Result<std::string> ConfineToModelsRoots(std::string_view field, std::string_view param,
                                         const std::vector<std::string>& roots);

// How `param` (the job's field `field`) became the path ConfineToModelsRoots
// returned, for an error about that path: e.g. `models = "pipeline/default/models",
// resolved against the first models root /var/lib/sluice (sluice-worker
// --models-root, SLUICE_MODELS_ROOT; a relative root is taken from the
// worker's working folder /var/lib/sluice)`.
std::string DescribeResolution(std::string_view field, std::string_view param,
                               const std::vector<std::string>& roots);

// A param refused by ConfineToModelsRoots: `result` fails for good with
// "<kind>: <why>".
void RefuseModelsPath(std::string_view kind, const Status& why, proto::JobResult* result);

}  // namespace sluice::worker
