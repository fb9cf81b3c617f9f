#include "pipeline/models/model.h"

namespace sluice::models {

const char* LayerName(Layer layer) {
  switch (layer) {
    case Layer::kStaging: return "staging";
    case Layer::kFoundation: return "foundation";
    case Layer::kServing: return "serving";
  }
  return "?";
}

const char* LayerPrefix(Layer layer) {
  switch (layer) {
    case Layer::kStaging: return "staging_";
    case Layer::kFoundation: return "foundation_";
    case Layer::kServing: return "serving_";
  }
  return "?";
}

std::optional<Layer> ParseLayer(std::string_view folder) {
  if (folder == "staging") return Layer::kStaging;
  if (folder == "foundation") return Layer::kFoundation;
  if (folder == "serving") return Layer::kServing;
  return std::nullopt;
}

const char* KindName(ModelKind kind) {
  switch (kind) {
    case ModelKind::kFull: return "FULL";
    case ModelKind::kView: return "VIEW";
    case ModelKind::kIncrementalByTimeRange: return "INCREMENTAL_BY_TIME_RANGE";
    case ModelKind::kIncrementalByUniqueKey: return "INCREMENTAL_BY_UNIQUE_KEY";
    case ModelKind::kSeed: return "SEED";
  }
  return "?";
}

std::string AuditName(const Audit& audit) {
  std::string cols;
  for (const std::string& c : audit.columns) cols += (cols.empty() ? "" : ", ") + c;
  switch (audit.type) {
    case Audit::Type::kNotNull: return "not_null(" + cols + ")";
    case Audit::Type::kUniqueGrain: return "unique_grain";
    case Audit::Type::kAcceptedValues: return "accepted_values(" + cols + ")";
  }
  return "?";
}

bool MayRead(Layer reader, Layer source) {
  const int r = static_cast<int>(reader);
  const int s = static_cast<int>(source);
  return s == r || s == r - 1;
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

}  // namespace sluice::models
