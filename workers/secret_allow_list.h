// Which environment variables `${env:NAME}` may read (secret_template.h):
// the worker's --secret-env list (repeatable, comma-separated; env
// SLUICE_SECRET_ENV). An entry is a NAME, or a prefix ending in `*`
// (`SLUICE_SECRET_*`); a lone `*` allows every variable. The default
// allows the names that start with SLUICE_SECRET_ only, so a job cannot
// read HOME, PATH or the worker's own settings and send them to a host of
// its choosing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "schemas/status.h"

namespace sluice::worker {

inline constexpr const char* kDefaultSecretEnv = "SLUICE_SECRET_*";

class SecretAllowList {
 public:
  // The default: SLUICE_SECRET_*.
  SecretAllowList();

  // InvalidArgument naming the first bad entry (an entry is a NAME of
  // [A-Za-z_][A-Za-z0-9_]*, that optionally ends in `*`, or `*`). An empty
  // list allows nothing.
  static Result<SecretAllowList> Parse(const std::vector<std::string>& entries);

  bool Allows(std::string_view name) const;

  // The entries as given, e.g. "SLUICE_SECRET_*, API_TOKEN" ("none" when empty).
  std::string Describe() const;

 private:
  std::vector<std::string> exact_;
  std::vector<std::string> prefixes_;  // without the '*'
  std::vector<std::string> entries_;
};

}  // namespace sluice::worker
