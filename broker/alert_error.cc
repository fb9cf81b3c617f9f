#include "broker/alert_error.h"

#include "schemas/utf8.h"

namespace sluice::broker {

std::string AlertErrorExcerpt(std::string_view error) {
  if (error.size() <= kAlertErrorBytes) {
    std::string whole = proto::RepairUtf8(error);  // a repair may lengthen it
    if (whole.size() <= kAlertErrorBytes) return whole;
  }
  return proto::RepairAndClampUtf8(error, kAlertErrorBytes - 3, /*keep_tail=*/false) + "...";
}

}  // namespace sluice::broker
