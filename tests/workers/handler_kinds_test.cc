// The worker's handler table and the kinds the broker accepts in workflow
// registries (schemas/job_kinds.h) are the same list.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "schemas/job_kinds.h"
#include "workers/handler_table.h"

namespace sluice::worker {
namespace {

TEST(HandlerKinds, BuiltinKindListMatchesTheHandlerTable) {
  std::set<std::string> table, listed;
  for (const HandlerSpec& h : BuiltinHandlers()) table.emplace(h.kind);
  for (std::string_view k : proto::kBuiltinKinds) listed.emplace(k);
  EXPECT_EQ(table, listed);
  EXPECT_TRUE(proto::IsBuiltinKind("transform.sql"));
  EXPECT_FALSE(proto::IsBuiltinKind("transform"));
}

}  // namespace
}  // namespace sluice::worker
