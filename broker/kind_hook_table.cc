#include "broker/kind_hook_table.h"

#include "schemas/job_kinds.h"

namespace sluice::broker {

KindHookTable::KindHookTable()
    : extract_(std::make_unique<ExtractRuns>()), custom_(std::make_unique<CustomExtractionHooks>(extract_.get())) {
  by_kind_.emplace(std::string(proto::kind::kExtractHttp), extract_.get());
  for (std::string_view k : {proto::kind::kLoad, proto::kind::kTransformSql, proto::kind::kExportServing})
    by_kind_.emplace(std::string(k), &lakehouse_);
}

KindHookTable::~KindHookTable() = default;

KindHooks* KindHookTable::For(std::string_view kind) const {
  auto it = by_kind_.find(kind);
  return it == by_kind_.end() ? custom_.get() : it->second;
}

Status KindHookTable::Prepare(Database& db, MetricCounters* metrics) {
  // Each hook object once (the lakehouse's serves three kinds; the custom
  // extractions' use extract_'s statements).
  Status s = extract_->Prepare(db, metrics);
  if (!s.ok()) return s;
  return lakehouse_.Prepare(db, metrics);
}

}  // namespace sluice::broker
