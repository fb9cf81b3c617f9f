// KindHookTable: kind name -> its hooks (kind_hooks.h). It holds the stock
// hooks: extract.http's (ExtractRuns) and the lakehouse kinds'
// (LakehouseHooks); every other kind gets CustomExtractionHooks, which
// record the jobs whose params mark them as extraction runs and pass the
// others untouched.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "broker/extract_runs.h"
#include "broker/kind_hooks.h"

namespace sluice::broker {

class KindHookTable {
 public:
  KindHookTable();  // the stock hooks
  ~KindHookTable();
  KindHookTable(const KindHookTable&) = delete;
  KindHookTable& operator=(const KindHookTable&) = delete;

  KindHooks* For(std::string_view kind) const;
  Status Prepare(Database& db, MetricCounters* metrics);
  // The extraction runs' recorder (extract.http's hooks), which also
  // answers EXTRACTIONS.
  ExtractRuns& extract_runs() { return *extract_; }

 private:
  std::unique_ptr<ExtractRuns> extract_;
  std::unique_ptr<CustomExtractionHooks> custom_;
  LakehouseHooks lakehouse_;
  std::map<std::string, KindHooks*, std::less<>> by_kind_;
};

}  // namespace sluice::broker
