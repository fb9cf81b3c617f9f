// AuthorizedKeys: the public keys the broker accepts, read from the
// --authorized folder:
//
//   DIR/workers/NAME.pub   DIR/clients/NAME.pub   DIR/admins/NAME.pub
//
// Each file is a CURVE certificate (schemas/curve_cert.h); NAME, the file's
// name without ".pub", is the peer's name in logs and `sluice workers`.
// Other files are ignored. A folder that does not exist is empty; a
// certificate that does not parse refuses the whole load (the broker keeps
// the keys it had), so a typo never locks everyone out or lets anyone in.
// At most kMaxKeys files are read.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "broker/peer_roles.h"
#include "schemas/status.h"

namespace sluice::broker {

struct AuthorizedKey {
  std::string name;  // from the first folder it was found in
  Roles roles = 0;
};

class AuthorizedKeys {
 public:
  static constexpr std::size_t kMaxKeys = 100000;

  static Result<std::shared_ptr<const AuthorizedKeys>> Load(const std::string& dir);

  // The key's entry (by its Z85 text), or nullptr when it is not authorized.
  const AuthorizedKey* Find(const std::string& z85) const;
  std::size_t size() const { return by_key_.size(); }
  // Counts per role, "2 workers, 1 clients, 1 admins".
  std::string Summary() const;

 private:
  std::map<std::string, AuthorizedKey> by_key_;
};

}  // namespace sluice::broker
