#include "broker/authorized_keys.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "schemas/curve_cert.h"
#include "schemas/name_rule.h"

namespace sluice::broker {

std::string RolesText(Roles roles) {
  std::string out;
  for (std::size_t i = 0; i < std::size(kRoleFolders); ++i) {
    if ((roles & (1u << i)) == 0) continue;
    if (!out.empty()) out += "+";
    out += kRoleFolders[i];
  }
  return out.empty() ? "none" : out;
}

Result<std::shared_ptr<const AuthorizedKeys>> AuthorizedKeys::Load(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Status::NotFound("--authorized " + dir + " is not a folder");
  auto keys = std::make_shared<AuthorizedKeys>();
  std::size_t files = 0;
  for (std::size_t i = 0; i < std::size(kRoleFolders); ++i) {
    const fs::path folder = fs::path(dir) / kRoleFolders[i];
    if (!fs::exists(folder, ec)) continue;
    std::vector<fs::path> pubs;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      if (p.extension() != ".pub" || !it->is_regular_file(ec)) continue;
      if (++files > kMaxKeys)
        return Status::InvalidArgument("--authorized " + dir + " holds more than " + std::to_string(kMaxKeys) +
                                       " keys");
      pubs.push_back(p);
    }
    if (ec) return Status::IOError("cannot list " + folder.string() + ": " + ec.message());
    std::sort(pubs.begin(), pubs.end());
    for (const fs::path& p : pubs) {
      const std::string name = p.stem().string();
      if (!proto::IsValidName(name))
        return Status::InvalidArgument(p.string() + ": a key's name must be " + std::string(proto::kNameRuleText));
      auto key = curve::ReadPublicKey(p.string());
      if (!key.ok()) return key.status();
      AuthorizedKey& entry = keys->by_key_[*key];
      if (entry.name.empty()) entry.name = name;
      entry.roles |= static_cast<Roles>(1u << i);
    }
  }
  return std::shared_ptr<const AuthorizedKeys>(std::move(keys));
}

const AuthorizedKey* AuthorizedKeys::Find(const std::string& z85) const {
  auto it = by_key_.find(z85);
  return it == by_key_.end() ? nullptr : &it->second;
}

std::string AuthorizedKeys::Summary() const {
  std::size_t n[std::size(kRoleFolders)] = {};
  for (const auto& [key, entry] : by_key_)
    for (std::size_t i = 0; i < std::size(kRoleFolders); ++i)
      if (entry.roles & (1u << i)) ++n[i];
  std::string out;
  for (std::size_t i = 0; i < std::size(kRoleFolders); ++i) {
    if (i) out += ", ";
    out += std::to_string(n[i]) + " " + kRoleFolders[i];
  }
  return out;
}

}  // namespace sluice::broker
