#include "broker/kind_hooks.h"

namespace sluice::broker {

void LakehouseHooks::DefaultConcurrency(std::string_view, std::string* key, std::uint32_t* limit) const {
  *key = kLakehouseConcurrencyKey;
  *limit = 1;
}

}  // namespace sluice::broker
