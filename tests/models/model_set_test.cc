// Loading a models folder: references, layers, cycles, order and the plan.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pipeline/models/model_plan.h"
#include "pipeline/models/model_set.h"
#include "tests/models/models_folder.h"

namespace sluice::models {
namespace {

using testing::ModelsFolder;
using Names = std::vector<std::string>;

std::string Full(const std::string& name, const std::string& select) {
  return "MODEL (name " + name + ", kind FULL);\n" + select + "\n";
}

Names Order(const ModelSet& set) {
  Names out;
  for (const Model& m : set.models) out.push_back(m.name);
  return out;
}

TEST(ModelSet, TopologicalOrderTiesByLayerThenName) {
  ModelsFolder f;
  f.Write("serving/serving_b.sql", Full("serving_b", "SELECT * FROM foundation_x"));
  f.Write("serving/serving_a.sql", Full("serving_a", "SELECT * FROM serving_b JOIN foundation_x USING (k)"));
  f.Write("foundation/foundation_x.sql", Full("foundation_x", "SELECT * FROM staging_z, staging_y"));
  f.Write("staging/staging_z.sql", Full("staging_z", "SELECT * FROM raw_prices"));
  f.Write("staging/staging_y.sql", Full("staging_y", "SELECT * FROM staging_z"));
  f.Write("staging/staging_w.sql", Full("staging_w", "SELECT * FROM raw_prices"));
  f.Write("sources.toml", "# not a model\n");
  auto set = LoadModelSet(f.dir(), std::set<std::string>{"raw_prices"});
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(Order(*set), (Names{"staging_w", "staging_z", "staging_y", "foundation_x", "serving_b", "serving_a"}));

  ActionOptions options;
  options.end_ds = "2026-12-01";
  auto entries = PlanModelsFolder(f.dir(), nullptr, options);
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  ASSERT_EQ(entries->size(), 6u);
  EXPECT_EQ((*entries)[3].order, 4);
  EXPECT_EQ((*entries)[3].layer, Layer::kFoundation);
  EXPECT_EQ((*entries)[3].path, "foundation/foundation_x.sql");
  EXPECT_EQ((*entries)[3].depends_on, (Names{"staging_y", "staging_z"}));
  const std::string plan = FormatPlan(*entries);
  EXPECT_EQ(plan,
            "order  model         layer       kind  action  reason             depends on\n"
            "-----  ------------  ----------  ----  ------  -----------------  -----------------------\n"
            "1      staging_w     staging     FULL  build   no build recorded  raw_prices\n"
            "2      staging_z     staging     FULL  build   no build recorded  raw_prices\n"
            "3      staging_y     staging     FULL  build   no build recorded  staging_z\n"
            "4      foundation_x  foundation  FULL  build   no build recorded  staging_y, staging_z\n"
            "5      serving_b     serving     FULL  build   no build recorded  foundation_x\n"
            "6      serving_a     serving     FULL  build   no build recorded  foundation_x, serving_b\n");
}

TEST(ModelSet, UnknownReferenceIsReportedWithFileAndLine) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql", "MODEL (name staging_a, kind FULL);\nSELECT *\nFROM raw_known\nJOIN raw_missing USING (k)");
  auto set = LoadModelSet(f.dir(), std::set<std::string>{"raw_known"});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().message(),
            "staging/staging_a.sql:4: unknown table 'raw_missing' (not a model, a known raw table or a CTE)");
  // Without a list of raw tables, any raw_* name is accepted.
  EXPECT_TRUE(LoadModelSet(f.dir()).ok());
}

TEST(ModelSet, CycleIsReportedWithItsNames) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql", Full("staging_a", "SELECT * FROM staging_b"));
  f.Write("staging/staging_b.sql", Full("staging_b", "SELECT * FROM staging_c"));
  f.Write("staging/staging_c.sql", Full("staging_c", "SELECT * FROM staging_a"));
  f.Write("staging/staging_d.sql", Full("staging_d", "SELECT * FROM staging_c"));
  f.Write("staging/staging_self.sql", Full("staging_self", "SELECT * FROM staging_self"));
  auto set = LoadModelSet(f.dir());
  ASSERT_FALSE(set.ok());
  // A model reading its own table is no cycle (exact_dependencies_test.cc).
  EXPECT_EQ(set.status().message(), "cycle: staging_a -> staging_b -> staging_c -> staging_a");
}

TEST(ModelSet, LayerRules) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql", Full("staging_a", "SELECT * FROM foundation_b"));
  f.Write("foundation/foundation_b.sql", Full("foundation_b", "SELECT * FROM raw_x"));
  f.Write("serving/serving_c.sql", Full("serving_c", "SELECT * FROM staging_a"));
  auto set = LoadModelSet(f.dir());
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().message(),
            "foundation/foundation_b.sql:2: foundation_b reads raw table raw_x: a foundation model reads staging and "
            "foundation models\n"
            "serving/serving_c.sql:2: serving_c reads staging_a (staging): a serving model reads foundation and "
            "serving models\n"
            "staging/staging_a.sql:2: staging_a reads foundation_b (foundation, a later layer): a staging model reads "
            "raw_* tables and staging models");
}

TEST(ModelSet, AllProblemsAreReportedTogether) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql", "MODEL (name staging_a, kind SOMETIMES);\nSELECT 1");
  f.Write("staging/staging_b.sql", Full("staging_b", "SELECT * FROM staging_a JOIN staging_nope USING (k)"));
  f.Write("staging/staging_c.sql", Full("staging_c", "SELECT * FROM staging_d"));
  f.Write("staging/staging_d.sql", Full("staging_d", "SELECT * FROM staging_c"));
  f.Write("staging/staging_e.sql", Full("staging_b", "SELECT 1"));
  auto set = LoadModelSet(f.dir());
  ASSERT_FALSE(set.ok());
  // staging_a did not load: reading it is not reported again as unknown.
  EXPECT_EQ(set.status().message(),
            "staging/staging_a.sql:1: unknown kind 'SOMETIMES' (expected FULL, VIEW, "
            "INCREMENTAL_BY_TIME_RANGE, INCREMENTAL_BY_UNIQUE_KEY or SEED)\n"
            "staging/staging_e.sql:1: model 'staging_b' is also defined in staging/staging_b.sql\n"
            "staging/staging_b.sql:2: unknown table 'staging_nope' (not a model, a known raw table or a CTE)\n"
            "cycle: staging_c -> staging_d -> staging_c");
}

TEST(ModelSet, MissingFolder) {
  auto set = LoadModelSet("/nonexistent/models/folder");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace sluice::models
