// Which job kinds a registry stage may name. A worker pool exists so that
// people plug in workers of their own (in any language, PROTOCOL.md §5), so
// any well-formed kind is taken: 1-64 characters of [A-Za-z0-9._-]. One
// that is a near miss of a built-in kind (schemas/job_kinds.h) is a typo,
// though, and is refused with the kind meant:
//
//   extract.htp  ->  did you mean 'extract.http'?
//
// A near miss differs from a built-in kind only in letter case, or by at
// most max(1, length / 6) single-character edits (1 for `exec` or
// `test.noop`, 2 for `extract.http`).
#pragma once

#include <optional>
#include <string_view>

namespace sluice::workflows {

// The built-in kind `kind` is a near miss of; nullopt when there is none
// (a built-in kind itself is no near miss).
std::optional<std::string_view> NearMissOfBuiltinKind(std::string_view kind);

}  // namespace sluice::workflows
