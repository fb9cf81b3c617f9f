// The lakehouse job kinds run through the worker's handler table: load,
// transform.sql and export.serving, against temp lakehouse / serving files.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "schemas/sqlite_db.h"
#include "tests/integration/temp_dir.h"
#include "tests/workers/handler_harness.h"

namespace sluice::worker {
namespace {

using nlohmann::json;
using testing::RunHandlerWith;

json Outputs(const proto::JobResult& r) { return json::from_msgpack(r.outputs); }

class LakehouseHandlersTest : public ::testing::Test {
 protected:
  LakehouseHandlersTest() {
    settings_.landing_dir = dir_.File("landing");
    settings_.lakehouse_path = dir_.File("data/lakehouse.sqlite");
    settings_.serving_path = dir_.File("data/analytics.sqlite");
  }
  proto::JobResult Run(std::string_view kind, std::string_view params = "{}") {
    CancelToken never;
    return RunHandlerWith(settings_, kind, params, never);
  }
  void MakeLakehouse(const std::string& sql) {
    std::filesystem::create_directories(dir_.File("data"));
    Database db;
    ASSERT_TRUE(db.Open(settings_.lakehouse_path).ok());
    ASSERT_TRUE(db.Exec(sql).ok());
  }

  ::sluice::testing::TempDir dir_{"sluice-lakehouse-handlers"};
  HandlerSettings settings_;
};

TEST_F(LakehouseHandlersTest, ExportServingWritesTheAnalyticsDatabase) {
  MakeLakehouse(
      "CREATE TABLE serving_a (x); INSERT INTO serving_a VALUES (1), (2);"
      "CREATE TABLE foundation_b (y); INSERT INTO foundation_b VALUES (3);");
  proto::JobResult r = Run("export.serving");
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  json out = Outputs(r);
  EXPECT_EQ(out["version"], 1);
  EXPECT_EQ(out["tables"], json({{"serving_a", 2}}));
  EXPECT_EQ(out["rows"], 2);
  EXPECT_EQ(out["path"], settings_.serving_path);
  EXPECT_GT(out["bytes"].get<std::int64_t>(), 0);
  Database served;
  ASSERT_TRUE(served.Open(settings_.serving_path, true).ok());
  auto st = served.Prepare("SELECT sum(x) FROM serving_a");
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->Step(), SQLITE_ROW);
  EXPECT_EQ(st->Int(0), 3);

  r = Run("export.serving");
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(Outputs(r)["version"], 2);
}

TEST_F(LakehouseHandlersTest, ExportServingWithoutLakehouseFailsForGood) {
  proto::JobResult r = Run("export.serving");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.error.find("no lakehouse"), std::string::npos) << r.error;
  EXPECT_FALSE(std::filesystem::exists(settings_.lakehouse_path)) << "export created a lakehouse";

  MakeLakehouse("CREATE TABLE staging_only (x)");
  r = Run("export.serving");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.error.find("no serving_ tables"), std::string::npos) << r.error;
  EXPECT_FALSE(std::filesystem::exists(settings_.serving_path));
}

TEST_F(LakehouseHandlersTest, ExportServingParamsAreChecked) {
  proto::JobResult r = Run("export.serving", R"({"serving": 5})");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.error.find("serving"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace sluice::worker
