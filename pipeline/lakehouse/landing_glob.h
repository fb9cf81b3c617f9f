// Which landing files a raw source's glob names. The glob is matched with
// fnmatch(3) without FNM_PATHNAME ('*' crosses '/') against each regular
// file's path relative to the landing dir. The walk starts at the glob's
// leading wildcard-free folders, and skips dot files and dot folders: a
// landing temp file (".sluice-tmp-...") is never loaded half written.
#pragma once

#include <string>
#include <vector>

#include "schemas/status.h"

namespace sluice::lakehouse {

// Relative paths ('/'-separated), sorted bytewise. A missing folder is no
// files, not an error.
Result<std::vector<std::string>> FindLandingFiles(const std::string& landing_dir, const std::string& glob);

// For a store that lists names instead of walking folders: the folders
// before the glob's first wildcard ("" or "a/b/"), which is all a listing
// needs to ask for ...
std::string GlobFixedFolders(const std::string& glob);
// ... and whether the glob selects `relative`: fnmatch as above, and no
// component starting with '.'.
bool GlobSelects(const std::string& glob, const std::string& relative);

}  // namespace sluice::lakehouse
