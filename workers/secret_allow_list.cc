#include "workers/secret_allow_list.h"

#include "workers/secret_template.h"

namespace sluice::worker {

SecretAllowList::SecretAllowList() : prefixes_{"SLUICE_SECRET_"}, entries_{kDefaultSecretEnv} {}

Result<SecretAllowList> SecretAllowList::Parse(const std::vector<std::string>& entries) {
  SecretAllowList list;
  list.exact_.clear();
  list.prefixes_.clear();
  list.entries_.clear();
  for (const std::string& entry : entries) {
    std::string_view name = entry;
    const bool prefix = !name.empty() && name.back() == '*';
    if (prefix) name.remove_suffix(1);
    if (!(prefix && name.empty()) && !IsSecretName(name))
      return Status::InvalidArgument("--secret-env: '" + entry +
                                     "' must be a variable name ([A-Za-z_][A-Za-z0-9_]*), "
                                     "optionally ending in '*' for a prefix");
    (prefix ? list.prefixes_ : list.exact_).emplace_back(name);
    list.entries_.push_back(entry);
  }
  return list;
}

bool SecretAllowList::Allows(std::string_view name) const {
  for (const std::string& e : exact_)
    if (name == e) return true;
  for (const std::string& p : prefixes_)
    if (name.substr(0, p.size()) == p) return true;
  return false;
}

std::string SecretAllowList::Describe() const {
  if (entries_.empty()) return "none";
  std::string out;
  for (const std::string& e : entries_) out += (out.empty() ? "" : ", ") + e;
  return out;
}

}  // namespace sluice::worker
