// Building models against a lakehouse: FULL swaps, audits, VIEW, incremental
// intervals, and runs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pipeline/models/model_build.h"
#include "pipeline/models/model_file.h"
#include "pipeline/models/model_run.h"
#include "schemas/sqlite_db.h"
#include "tests/models/models_folder.h"
#include "tests/models/query_rows.h"

namespace sluice::models {
namespace {

using testing::ModelsFolder;
using Names = std::vector<std::string>;

class ModelBuild : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.Open(":memory:").ok());
    Exec("CREATE TABLE raw_prices (code TEXT, day TEXT, price REAL, unit TEXT)");
  }

  void Exec(const std::string& sql) { ASSERT_TRUE(db_.Exec(sql).ok()) << sql << ": " << db_.error(); }

  // Rows of `sql`, each "a|b|c".
  Names Query(const std::string& sql) { return testing::QueryRows(db_, sql); }

  Model Parse(const std::string& path, const std::string& text) {
    auto m = ParseModelFile(text, path);
    EXPECT_TRUE(m.ok()) << m.status().message();
    return m.ok() ? *m : Model{};
  }

  Names Leftovers() { return Query("SELECT name FROM sqlite_master WHERE name LIKE '\\_sluice%' ESCAPE '\\'"); }

  Database db_;
};

const char* kStagingPrices = R"sql(
MODEL (
  name staging_prices,
  kind FULL,
  grain (code, day),
  audits (not_null(columns := (code, price)), unique_grain, accepted_values(column := unit, is_in := ('USD/lb', 'USc/lb')))
);
SELECT code, day, price, unit FROM raw_prices
)sql";

TEST_F(ModelBuild, FullBuildsThenSwapsInTheNewTable) {
  Exec("INSERT INTO raw_prices VALUES ('a', '2024-01-01', 1.5, 'USD/lb'), ('b', '2024-01-01', 2.0, 'USc/lb')");
  Model m = Parse("staging/staging_prices.sql", kStagingPrices);
  auto rows = BuildModel(db_, m, "2024-01-01", "2024-01-31");
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(*rows, 2);
  EXPECT_EQ(Query("SELECT code, price FROM staging_prices ORDER BY code"), (Names{"a|1.5", "b|2.0"}));

  // A view reading the model keeps working across the swap.
  Exec("CREATE VIEW reader AS SELECT count(*) AS n FROM staging_prices");
  Exec("DELETE FROM raw_prices WHERE code = 'a'");
  Exec("INSERT INTO raw_prices VALUES ('c', '2024-01-02', 3.0, 'USD/lb')");
  rows = BuildModel(db_, m, "2024-01-01", "2024-01-31");
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(Query("SELECT code FROM staging_prices ORDER BY code"), (Names{"b", "c"}));
  EXPECT_EQ(Query("SELECT n FROM reader"), Names{"2"});
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(ModelBuild, FailingAuditKeepsTheOldTableAndNamesTheRows) {
  Exec("INSERT INTO raw_prices VALUES ('a', '2024-01-01', 1.5, 'USD/lb')");
  Model m = Parse("staging/staging_prices.sql", kStagingPrices);
  ASSERT_TRUE(BuildModel(db_, m, "2024-01-01", "2024-01-01").ok());

  Exec("INSERT INTO raw_prices VALUES ('b', '2024-01-02', NULL, 'USD/lb'), ('c', '2024-01-03', 2.5, 'USD/lb')");
  auto rows = BuildModel(db_, m, "2024-01-01", "2024-01-01");
  ASSERT_FALSE(rows.ok());
  const std::string msg = rows.status().message();
  EXPECT_NE(msg.find("audit not_null(code, price) failed for staging_prices: 1 rows"), std::string::npos) << msg;
  EXPECT_NE(msg.find("code=b, day=2024-01-02, price=NULL, unit=USD/lb"), std::string::npos) << msg;
  EXPECT_EQ(Query("SELECT code FROM staging_prices"), Names{"a"});
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(ModelBuild, EachAuditCatchesItsViolations) {
  Model m = Parse("staging/staging_prices.sql", kStagingPrices);
  Exec("INSERT INTO raw_prices VALUES ('a', '2024-01-01', 1.0, 'USD/lb'), ('a', '2024-01-01', 1.1, 'USD/lb'), "
       "('b', '2024-01-01', 1.0, 'USD/lb')");
  auto r = BuildModel(db_, m, "2024-01-01", "2024-01-01");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("audit unique_grain failed for staging_prices: 1 duplicated grain keys"),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("code=a, day=2024-01-01, duplicates=2"), std::string::npos)
      << r.status().message();

  Exec("DELETE FROM raw_prices");
  Exec("INSERT INTO raw_prices VALUES ('a', '2024-01-01', 1.0, 'USD/lb'), ('b', '2024-01-01', 1.0, 'EUR/kg'), "
       "('c', '2024-01-01', 1.0, NULL)");
  r = BuildModel(db_, m, "2024-01-01", "2024-01-01");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("audit accepted_values(unit) failed for staging_prices: 1 rows"),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("code=b, day=2024-01-01, price=1.0, unit=EUR/kg"), std::string::npos);

  Exec("DELETE FROM raw_prices");
  Exec("INSERT INTO raw_prices VALUES (NULL, '2024-01-01', 1.0, 'USD/lb')");
  r = BuildModel(db_, m, "2024-01-01", "2024-01-01");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not_null(code, price)"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("code=NULL"), std::string::npos) << r.status().message();

  Exec("DELETE FROM raw_prices");
  Exec("INSERT INTO raw_prices VALUES ('a', '2024-01-01', 1.0, 'USD/lb')");
  EXPECT_TRUE(BuildModel(db_, m, "2024-01-01", "2024-01-01").ok());
  EXPECT_FALSE(db_.Exec("SELECT 1 FROM \"_sluice_build_staging_prices\"").ok());
}

TEST_F(ModelBuild, AuditOnAMissingColumnFails) {
  Model m = Parse("staging/staging_x.sql",
                  "MODEL (name staging_x, kind FULL, audits (not_null(columns := nope)));\nSELECT code FROM raw_prices");
  auto r = BuildModel(db_, m, "2024-01-01", "2024-01-01");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("column 'nope' is not in the model's output"), std::string::npos);
  EXPECT_EQ(Query("SELECT name FROM sqlite_master WHERE name = 'staging_x'"), Names{});
}

TEST_F(ModelBuild, ViewIsRecreatedAndRestoredWhenItsAuditFails) {
  Exec("INSERT INTO raw_prices VALUES ('a', '2024-01-01', 1.5, 'USD/lb')");
  Model v1 = Parse("staging/staging_v.sql",
                   "MODEL (name staging_v, kind VIEW, audits (not_null(columns := price)));\n"
                   "SELECT code, price FROM raw_prices");
  auto r = BuildModel(db_, v1, "2024-01-01", "2024-01-01");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 1);
  EXPECT_EQ(Query("SELECT type FROM sqlite_master WHERE name = 'staging_v'"), Names{"view"});
  Exec("INSERT INTO raw_prices VALUES ('b', '2024-01-01', 2.5, 'USD/lb')");
  EXPECT_EQ(Query("SELECT code FROM staging_v ORDER BY code"), (Names{"a", "b"}));

  Model v2 = Parse("staging/staging_v.sql",
                   "MODEL (name staging_v, kind VIEW, audits (not_null(columns := price)));\n"
                   "SELECT code, NULL AS price FROM raw_prices");
  r = BuildModel(db_, v2, "2024-01-01", "2024-01-01");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("audit not_null(price) failed for staging_v: 2 rows"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(Query("SELECT sql FROM sqlite_master WHERE name = 'staging_v'"),
            Names{"CREATE VIEW \"staging_v\" AS SELECT code, price FROM raw_prices"});
  EXPECT_EQ(Query("SELECT price FROM staging_v ORDER BY code"), (Names{"1.5", "2.5"}));
}

const char* kIncremental = R"sql(
MODEL (
  name staging_daily,
  kind INCREMENTAL_BY_TIME_RANGE (time_column day),
  grain (code),
  audits (not_null(columns := price), unique_grain)
);
SELECT code, day, price FROM raw_prices WHERE day BETWEEN @start_ds AND @end_ds
)sql";

TEST_F(ModelBuild, IncrementalRebuildsOnlyItsInterval) {
  Model m = Parse("staging/staging_daily.sql", kIncremental);
  Exec("INSERT INTO raw_prices VALUES ('a', '2024-01-05', 1.0, 'x'), ('b', '2024-02-05', 2.0, 'x')");
  auto r = BuildModel(db_, m, "2024-01-01", "2024-01-31");  // first build creates the table
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 1);
  r = BuildModel(db_, m, "2024-02-01", "2024-02-29");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Query("SELECT code, day, price FROM staging_daily ORDER BY day"),
            (Names{"a|2024-01-05|1.0", "b|2024-02-05|2.0"}));

  // Raw data changes in both months; only January is rebuilt.
  Exec("UPDATE raw_prices SET price = price * 10");
  Exec("INSERT INTO raw_prices VALUES ('c', '2024-01-31', 3.0, 'x')");
  r = BuildModel(db_, m, "2024-01-01", "2024-01-31");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 2);
  EXPECT_EQ(Query("SELECT code, day, price FROM staging_daily ORDER BY day"),
            (Names{"a|2024-01-05|10.0", "c|2024-01-31|3.0", "b|2024-02-05|2.0"}));
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(ModelBuild, IncrementalAuditFailureKeepsTheOldRows) {
  Model m = Parse("staging/staging_daily.sql", kIncremental);
  Exec("INSERT INTO raw_prices VALUES ('a', '2024-01-05', 1.0, 'x')");
  ASSERT_TRUE(BuildModel(db_, m, "2024-01-01", "2024-01-31").ok());
  // 'a' again in February: a duplicate grain key across intervals.
  Exec("INSERT INTO raw_prices VALUES ('a', '2024-02-05', 2.0, 'x'), ('b', '2024-02-06', 2.0, 'x')");
  auto r = BuildModel(db_, m, "2024-02-01", "2024-02-29");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("audit unique_grain failed for staging_daily"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("code=a, duplicates=2"), std::string::npos) << r.status().message();
  EXPECT_EQ(Query("SELECT code, day FROM staging_daily"), Names{"a|2024-01-05"});

  // A NULL price in the rebuilt interval: the interval's old rows come back.
  Exec("DELETE FROM raw_prices WHERE day >= '2024-02-01'");
  Exec("UPDATE raw_prices SET price = NULL");
  r = BuildModel(db_, m, "2024-01-01", "2024-01-31");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not_null(price)"), std::string::npos);
  EXPECT_EQ(Query("SELECT code, price FROM staging_daily"), Names{"a|1.0"});
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(ModelBuild, IncrementalRowsOutsideTheIntervalAreAnError) {
  Model m = Parse("staging/staging_daily.sql",
                  "MODEL (name staging_daily, kind INCREMENTAL_BY_TIME_RANGE (time_column day));\n"
                  "SELECT code, day, price FROM raw_prices");
  Exec("INSERT INTO raw_prices VALUES ('a', '2024-01-05', 1.0, 'x'), ('b', '2024-03-01', 2.0, 'x')");
  auto r = BuildModel(db_, m, "2024-01-01", "2024-01-31");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("staging_daily: 1 rows outside the interval [2024-01-01, 2024-01-31]"),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("code=b, day=2024-03-01"), std::string::npos);
  EXPECT_EQ(Query("SELECT name FROM sqlite_master WHERE name = 'staging_daily'"), Names{});
}

void WriteLayeredFolder(const ModelsFolder& f) {
  f.Write("staging/staging_prices.sql",
          "MODEL (name staging_prices, kind FULL);\nSELECT code, day, price FROM raw_prices");
  f.Write("foundation/foundation_fct_prices.sql",
          "MODEL (name foundation_fct_prices, kind INCREMENTAL_BY_TIME_RANGE (time_column day), start '2024-01-01',\n"
          "  audits (not_null(columns := price)));\n"
          "SELECT code, day, price FROM staging_prices WHERE day BETWEEN @start_ds AND @end_ds");
  f.Write("serving/serving_avg.sql",
          "MODEL (name serving_avg, kind FULL);\n"
          "SELECT code, avg(price) AS avg_price FROM foundation_fct_prices GROUP BY code");
}

TEST_F(ModelBuild, RunBuildsInOrderAndStopsAtTheFirstFailure) {
  ModelsFolder f;
  WriteLayeredFolder(f);
  Exec("INSERT INTO raw_prices VALUES ('a', '2024-01-05', 1.0, 'x'), ('a', '2024-01-06', 3.0, 'x')");
  RunOptions options;
  options.end_ds = "2024-01-31";  // start: each model's own start (foundation: 2024-01-01)
  RunReport report;
  Status s = RunModelsFolder(db_, f.dir(), options, &report);
  ASSERT_TRUE(s.ok()) << s.message() << "\n" << FormatRunReport(report);
  ASSERT_EQ(report.models.size(), 3u);
  EXPECT_EQ(report.models[1].name, "foundation_fct_prices");
  EXPECT_EQ(report.models[1].start_ds, "2024-01-01");
  EXPECT_EQ(report.models[1].rows, 2);
  EXPECT_EQ(Query("SELECT code, avg_price FROM serving_avg"), Names{"a|2.0"});

  // Rows put into a raw table by hand are not in the load ledger: only a
  // full refresh builds the models again.
  Exec("INSERT INTO raw_prices VALUES ('b', '2024-01-07', NULL, 'x')");
  options.full_refresh = true;
  s = RunModelsFolder(db_, f.dir(), options, &report);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not_null(price)"), std::string::npos);
  ASSERT_EQ(report.models.size(), 3u);
  EXPECT_EQ(report.models[0].status, ModelRunStatus::kBuilt);
  EXPECT_EQ(report.models[0].rows, 3);
  EXPECT_EQ(report.models[1].status, ModelRunStatus::kFailed);
  EXPECT_NE(report.models[1].error.find("code=b, day=2024-01-07, price=NULL"), std::string::npos);
  EXPECT_EQ(report.models[2].status, ModelRunStatus::kSkipped);
  const std::string text = FormatRunReport(report);
  EXPECT_NE(text.find("foundation_fct_prices  INCREMENTAL_BY_TIME_RANGE  failed   2024-01-01..2024-01-31"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("serving_avg: not run: an earlier model failed"), std::string::npos) << text;
}

TEST_F(ModelBuild, RunSelectedModelsOnlyAndValidatesOptions) {
  ModelsFolder f;
  WriteLayeredFolder(f);
  Exec("INSERT INTO raw_prices VALUES ('a', '2024-01-05', 1.0, 'x')");
  RunOptions options;
  options.start_ds = "2023-06-01";  // raised to foundation_fct_prices' start
  options.end_ds = "2024-01-31";
  options.select = {"foundation_fct_prices", "staging_prices"};
  RunReport report;
  Status s = RunModelsFolder(db_, f.dir(), options, &report);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(report.models.size(), 2u);
  EXPECT_EQ(report.models[0].name, "staging_prices");
  EXPECT_EQ(report.models[1].start_ds, "2024-01-01");
  EXPECT_EQ(Query("SELECT name FROM sqlite_master WHERE name = 'serving_avg'"), Names{});

  options.select = {"serving_nope"};
  EXPECT_EQ(RunModelsFolder(db_, f.dir(), options, &report).code(), Code::kNotFound);
  options.select.clear();
  options.end_ds = "2024-13-01";
  EXPECT_EQ(RunModelsFolder(db_, f.dir(), options, &report).code(), Code::kInvalidArgument);
  options.end_ds = "2023-01-01";
  EXPECT_EQ(RunModelsFolder(db_, f.dir(), options, &report).code(), Code::kInvalidArgument);  // start after end
}

TEST_F(ModelBuild, RunStopsWhenCancelled) {
  ModelsFolder f;
  WriteLayeredFolder(f);
  RunOptions options;
  options.end_ds = "2024-01-31";
  options.cancelled = [] { return true; };
  RunReport report;
  Status s = RunModelsFolder(db_, f.dir(), options, &report);
  EXPECT_EQ(s.code(), Code::kUnavailable);
  ASSERT_EQ(report.models.size(), 3u);
  for (const ModelRunResult& r : report.models) {
    EXPECT_EQ(r.status, ModelRunStatus::kSkipped);
    EXPECT_EQ(r.error, "cancelled");
  }
  EXPECT_EQ(Query("SELECT name FROM sqlite_master"), Names{"raw_prices"});
}

TEST_F(ModelBuild, CancelInterruptsALongStatement) {
  Model m = Parse("staging/staging_slow.sql",
                  "MODEL (name staging_slow, kind FULL);\n"
                  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000)\n"
                  "SELECT count(*) AS c FROM n");
  ModelSet set;
  set.models.push_back(m);
  int polls = 0;
  RunOptions options;
  options.end_ds = "2024-01-31";
  options.cancelled = [&] { return ++polls > 20; };
  RunReport report;
  Status s = RunModels(db_, set, options, &report);
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_GT(polls, 20);
  EXPECT_EQ(Query("SELECT name FROM sqlite_master"), Names{"raw_prices"});
}

}  // namespace
}  // namespace sluice::models
