// The table of job kinds this worker knows, and how each is run.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "workers/handler.h"

namespace sluice::worker {

// Every built-in handler, in a fixed order.
std::span<const HandlerSpec> BuiltinHandlers();

// The handler for `kind`, or nullptr if there is none. Finds exec even
// when exec is not allowed: the caller refuses it with a clear error.
const HandlerSpec* FindHandler(std::string_view kind);

// The kinds to announce in READY: every handler, minus those that need
// --allow-exec when it was not given.
std::vector<std::string> AnnouncedKinds(bool allow_exec);

}  // namespace sluice::worker
