// Finding the program an exec job names, before fork (execvp's PATH search
// is not async-signal-safe, so the child gets a resolved path).
#pragma once

#include <string>
#include <string_view>

#include "schemas/status.h"

namespace sluice::worker {

// `command` itself if it contains a '/'; else the first "<dir>/<command>"
// along `path_env` (the child's PATH: dirs separated by ':', an empty entry
// meaning the current directory) that is an executable regular file.
// NotFound when there is none.
Result<std::string> FindExecutable(std::string_view command, std::string_view path_env);

}  // namespace sluice::worker
