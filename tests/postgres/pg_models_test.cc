// Model builds on PostgreSQL: layers as schemas, unqualified names through
// search_path, build aside and swap in one transaction, audits, the state
// in the sluice schema and the changed-only decisions; engine variants.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "pipeline/models/model_run.h"
#include "pipeline/models/model_set.h"
#include "pipeline/postgres/pg_connection.h"
#include "pipeline/postgres/pg_model_run.h"
#include "pipeline/postgres/pg_raw_loader.h"
#include "tests/lakehouse/lake_fixture.h"
#include "tests/postgres/pg_server.h"

namespace sluice::postgres {
namespace {

namespace fs = std::filesystem;
using lakehouse::testing::WriteFile;
using lakehouse::testing::WriteGzip;
using sluice::testing::PgServer;

constexpr const char* kStaging = R"(MODEL (
  name staging_items,
  kind FULL,
  grain (item, day),
  audits (not_null(columns := (item, day)), unique_grain)
);
WITH ranked AS (
  SELECT trim(Item) AS item, trim(Day) AS day, CAST(Qty AS BIGINT) AS qty,
         row_number() OVER (PARTITION BY trim(Item), trim(Day) ORDER BY _load_id DESC) AS rn
  FROM raw_items
)
SELECT item, day, qty FROM ranked WHERE rn = 1
)";

constexpr const char* kDaily = R"(MODEL (
  name foundation_daily,
  kind INCREMENTAL_BY_TIME_RANGE (time_column day),
  start '2025-01-01',
  grain (day),
  audits (not_null(columns := (day, qty)), unique_grain, accepted_values(column := big, is_in := (0, 1)))
);
SELECT day, sum(qty) AS qty, CASE WHEN sum(qty) > 100 THEN 1 ELSE 0 END AS big
FROM staging_items
WHERE day BETWEEN @start_ds AND @end_ds
GROUP BY day
)";

constexpr const char* kTotal = R"(MODEL (
  name serving_total,
  kind FULL,
  grain (one),
  audits (not_null(columns := (qty)))
);
SELECT 1 AS one, sum(qty) AS qty, count(*) AS days FROM foundation_daily
)";

constexpr const char* kView = R"(MODEL (
  name serving_total_view,
  kind VIEW
);
SELECT qty * 2 AS double_qty FROM serving_total
)";

class PgModelsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = PgServer::StartOrSkip().release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    db_ = "m_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    for (char& ch : db_) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    ASSERT_EQ(server_->CreateDatabase(db_), "");
    server_->ExportEnv(db_);
    auto c = PgConnection::FromEnvironment();
    ASSERT_TRUE(c.ok()) << c.status().message();
    conn_ = std::move(c).value();
    models_ = dir_.path() + "/models";
    landing_ = dir_.path() + "/landing";
    WriteFile(models_ + "/staging/staging_items.sql", kStaging);
    WriteFile(models_ + "/foundation/foundation_daily.sql", kDaily);
    WriteFile(models_ + "/serving/serving_total.sql", kTotal);
    WriteFile(models_ + "/serving/serving_total_view.sql", kView);
  }
  std::string Q(const std::string& sql) { return server_->Query(db_, sql); }
  void Land(const std::string& name, const std::string& csv) {
    WriteGzip(landing_ + "/items/2025/01/" + name + ".csv.gz", csv);
    lakehouse::RawSource s;
    s.table = "raw_items";
    s.glob = "items/*.csv.gz";
    lakehouse::FolderLandingFiles files(landing_);
    auto r = LoadRaw(*conn_, {s}, files);
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  Status Run(const std::string& end_ds, models::RunReport* report, bool full_refresh = false) {
    models::RunOptions options;
    options.end_ds = end_ds;
    options.full_refresh = full_refresh;
    return RunModelsFolder(*conn_, models_, options, report);
  }
  static std::string Actions(const models::RunReport& r) {
    std::string out;
    for (const auto& m : r.models)
      out += m.name + ":" + models::ActionName(m.action) + "/" + models::ModelRunStatusName(m.status) + " ";
    return out;
  }

  static PgServer* server_;
  std::string db_;
  std::unique_ptr<PgConnection> conn_;
  lakehouse::testing::TempDir dir_;
  std::string models_, landing_;
};
PgServer* PgModelsTest::server_ = nullptr;

TEST_F(PgModelsTest, LayersAreSchemasAndOnlyWhatChangedIsBuilt) {
  Land("a", "Item,Day,Qty\nx,2025-01-01,5\ny,2025-01-01,7\nx,2025-01-02,200\n");
  models::RunReport report;
  Status s = Run("2025-01-02", &report);
  ASSERT_TRUE(s.ok()) << s.message() << "\n" << models::FormatRunReport(report);
  EXPECT_EQ(Actions(report),
            "staging_items:build/built foundation_daily:backfill/built serving_total:build/built "
            "serving_total_view:build/built ");
  // Each model as <layer>.<name>.
  EXPECT_EQ(Q("SELECT string_agg(table_schema || '.' || table_name || ':' || table_type, ',' ORDER BY table_name) "
              "FROM information_schema.tables WHERE table_schema IN ('staging', 'foundation', 'serving')"),
            "foundation.foundation_daily:BASE TABLE,serving.serving_total:BASE TABLE,"
            "serving.serving_total_view:VIEW,staging.staging_items:BASE TABLE");
  EXPECT_EQ(Q("SELECT qty || '/' || days FROM serving.serving_total"), "212/2");
  EXPECT_EQ(Q("SELECT double_qty FROM serving.serving_total_view"), "424");
  EXPECT_EQ(Q("SELECT string_agg(day || '=' || big, ',' ORDER BY day) FROM foundation.foundation_daily"),
            "2025-01-01=0,2025-01-02=1");
  // The state, in the sluice schema.
  EXPECT_EQ(Q("SELECT count(*) FROM sluice.model_builds"), "4");
  EXPECT_EQ(Q("SELECT string_agg(day, ',' ORDER BY day) FROM sluice.model_intervals WHERE model = 'foundation_daily'"),
            "2025-01-01,2025-01-02");
  EXPECT_EQ(Q("SELECT inputs->>'raw_items' FROM sluice.model_builds WHERE model = 'staging_items'"), "1");
  // No build table left behind.
  EXPECT_EQ(Q("SELECT count(*) FROM pg_class WHERE relname LIKE '\\_sluice\\_%'"), "0");

  // Nothing changed: nothing is built.
  s = Run("2025-01-02", &report);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Actions(report),
            "staging_items:skip/skipped foundation_daily:skip/skipped serving_total:skip/skipped "
            "serving_total_view:skip/skipped ");

  // A new day: the incremental model processes only that day.
  Land("b", "Item,Day,Qty\nx,2025-01-03,1\n");
  s = Run("2025-01-03", &report);
  ASSERT_TRUE(s.ok()) << s.message() << "\n" << models::FormatRunReport(report);
  ASSERT_EQ(report.models[1].name, "foundation_daily");
  ASSERT_EQ(report.models[1].intervals.size(), 1u);
  EXPECT_EQ(models::FormatDayRange(report.models[1].intervals[0]), "2025-01-03");
  EXPECT_EQ(report.models[1].rows, 1);
  EXPECT_EQ(Q("SELECT qty || '/' || days FROM serving.serving_total"), "213/3");
  // The view reads the rebuilt table: it survived the swap.
  EXPECT_EQ(Q("SELECT double_qty FROM serving.serving_total_view"), "426");
  EXPECT_EQ(report.models[3].action, models::Action::kSkip);
}

TEST_F(PgModelsTest, SeedModelsBuildOnPostgresToo) {
  WriteFile(models_ + "/staging/staging_codes.sql",
            "MODEL (name staging_codes, kind SEED (path 'codes.csv'), grain (code), audits (unique_grain));\n");
  WriteFile(models_ + "/staging/codes.csv", "code,label,weight\nx,Ex,1.5\ny,\"Why, then\",2\n");
  WriteFile(models_ + "/staging/staging_empty_codes.sql", "MODEL (name staging_empty_codes, kind SEED (path 'none.csv'));\n");
  WriteFile(models_ + "/staging/none.csv", "code,label\n");
  Land("a", "Item,Day,Qty\nx,2025-01-01,5\n");
  models::RunReport report;
  Status s = Run("2025-01-01", &report);
  ASSERT_TRUE(s.ok()) << s.message() << "\n" << models::FormatRunReport(report);
  EXPECT_EQ(Q("SELECT string_agg(code || '=' || label || '=' || weight, ';' ORDER BY code) FROM staging.staging_codes"),
            "x=Ex=1.5;y=Why, then=2");
  EXPECT_EQ(Q("SELECT data_type FROM information_schema.columns WHERE table_name = 'staging_codes' "
              "AND column_name = 'weight'"),
            "numeric");
  EXPECT_EQ(Q("SELECT count(*) FROM staging.staging_empty_codes"), "0");
  s = Run("2025-01-01", &report);
  ASSERT_TRUE(s.ok()) << s.message();
  for (const auto& m : report.models)
    if (m.name == "staging_codes") {
      EXPECT_EQ(m.action, models::Action::kSkip);
    }
}

TEST_F(PgModelsTest, UniqueKeyModelsUpsertOnPostgres) {
  WriteFile(models_ + "/foundation/foundation_latest.sql",
            "MODEL (name foundation_latest, kind INCREMENTAL_BY_UNIQUE_KEY (unique_key item));\n"
            "SELECT item, max(qty) AS qty FROM staging_items GROUP BY item");
  Land("a", "Item,Day,Qty\nx,2025-01-01,5\ny,2025-01-01,7\n");
  models::RunReport report;
  Status s = Run("2025-01-01", &report);
  ASSERT_TRUE(s.ok()) << s.message() << "\n" << models::FormatRunReport(report);
  Land("b", "Item,Day,Qty\nx,2025-01-02,9\nz,2025-01-02,1\n");
  s = Run("2025-01-02", &report);
  ASSERT_TRUE(s.ok()) << s.message() << "\n" << models::FormatRunReport(report);
  for (const auto& m : report.models) {
    if (m.name != "foundation_latest") continue;
    EXPECT_EQ(m.inserted, 1);
    EXPECT_EQ(m.updated, 2);
  }
  EXPECT_EQ(Q("SELECT string_agg(item || '=' || qty, ',' ORDER BY item) FROM foundation.foundation_latest"),
            "x=9,y=7,z=1");
}

TEST_F(PgModelsTest, FailedAuditKeepsThePreviousTableAndState) {
  Land("a", "Item,Day,Qty\nx,2025-01-01,5\n");
  models::RunReport report;
  ASSERT_TRUE(Run("2025-01-01", &report).ok());
  // A row whose qty is NULL changes nothing that fails.
  Land("b", "Item,Day,Qty\nz,2025-01-01,\n");
  ASSERT_TRUE(Run("2025-01-01", &report).ok());
  // A model whose SQL fails: it fails, those after it are not run.
  Land("c", "Item,Day,Qty\nq,2025-01-01,x1\n");  // not a number: CAST fails in staging
  Status s = Run("2025-01-01", &report);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("staging_items: invalid input syntax for type bigint"), std::string::npos) << s.message();
  EXPECT_EQ(report.models[0].status, models::ModelRunStatus::kFailed);
  EXPECT_EQ(report.models[1].error, "not run: an earlier model failed");
  EXPECT_EQ(Q("SELECT count(*) FROM staging.staging_items"), "2");
  EXPECT_EQ(Q("SELECT count(*) FROM pg_class WHERE relname LIKE '\\_sluice\\_%'"), "0");

  // A failing audit: the old table stays, its state too.
  WriteFile(models_ + "/serving/serving_total.sql", std::string(kTotal).replace(std::string(kTotal).find("sum(qty) AS qty"), 15, "NULL::bigint AS qty"));
  fs::remove(landing_ + "/items/2025/01/c.csv.gz");
  ASSERT_EQ(Q("DELETE FROM sluice.loaded_files WHERE path LIKE '%c.csv.gz'; DELETE FROM raw.raw_items WHERE item = 'q'; "
              "SELECT 'ok'"),
            "ok");
  const std::string version_before = Q("SELECT version FROM sluice.model_builds WHERE model = 'serving_total'");
  s = Run("2025-01-01", &report);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kConflict) << s.message();
  EXPECT_NE(s.message().find("audit not_null(qty) failed for serving_total: 1 rows, e.g.\n  one=1, qty=NULL, days=1"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(Q("SELECT qty FROM serving.serving_total"), "5");
  EXPECT_EQ(Q("SELECT version FROM sluice.model_builds WHERE model = 'serving_total'"), version_before);
}

TEST_F(PgModelsTest, IncrementalRowsOutsideTheIntervalAreAnError) {
  WriteFile(models_ + "/foundation/foundation_daily.sql",
            std::string(kDaily).replace(std::string(kDaily).find("WHERE day BETWEEN @start_ds AND @end_ds"), 39, ""));
  Land("a", "Item,Day,Qty\nx,2024-12-31,5\nx,2025-01-01,5\n");
  models::RunReport report;
  Status s = Run("2025-01-01", &report);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("foundation_daily: 1 rows outside the interval [2025-01-01, 2025-01-01]"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(Q("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'foundation'"), "0");
}

TEST_F(PgModelsTest, AReadersViewInAnotherSchemaSurvivesRebuilds) {
  Land("a", "Item,Day,Qty\nx,2025-01-01,5\n");
  models::RunReport report;
  ASSERT_TRUE(Run("2025-01-01", &report).ok());
  Q("CREATE SCHEMA reports; CREATE VIEW reports.totals AS SELECT double_qty AS qty FROM serving.serving_total_view; SELECT 1");
  Land("b", "Item,Day,Qty\ny,2025-01-01,6\n");
  Status s = Run("2025-01-01", &report, /*full_refresh=*/true);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Q("SELECT qty FROM reports.totals"), "22");
}

TEST_F(PgModelsTest, PostgresVariantReplacesTheSelectAndSqliteIgnoresIt) {
  WriteFile(models_ + "/serving/serving_total.postgres.sql",
            R"(MODEL (name serving_total, kind FULL, grain (one), audits (not_null(columns := (qty))));
SELECT 1 AS one, greatest(sum(qty), 1000) AS qty, count(*) AS days FROM foundation_daily
)");
  // SQLite's loader: four models, the variant is no fifth one.
  auto sqlite_set = models::LoadModelSet(models_);
  ASSERT_TRUE(sqlite_set.ok()) << sqlite_set.status().message();
  EXPECT_EQ(sqlite_set->models.size(), 4u);
  EXPECT_EQ(sqlite_set->Find("serving_total")->path, "serving/serving_total.sql");

  Land("a", "Item,Day,Qty\nx,2025-01-01,5\n");
  models::RunReport report;
  Status s = Run("2025-01-01", &report);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Q("SELECT qty FROM serving.serving_total"), "1000");

  // A variant of another kind is refused, naming the file.
  WriteFile(models_ + "/serving/serving_total.postgres.sql", "MODEL (name serving_total, kind VIEW);\nSELECT 1 AS one\n");
  s = Run("2025-01-01", &report);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("serving/serving_total.postgres.sql:1: the PostgreSQL variant of serving_total must name "
                             "the same model"),
            std::string::npos)
      << s.message();
}

TEST_F(PgModelsTest, CancelledRunStopsAndRollsBack) {
  Land("a", "Item,Day,Qty\nx,2025-01-01,5\n");
  models::RunReport report;
  models::RunOptions options;
  options.end_ds = "2025-01-01";
  options.cancelled = [] { return true; };
  Status s = RunModelsFolder(*conn_, models_, options, &report);
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_EQ(Q("SELECT count(*) FROM sluice.model_builds"), "0");
}

}  // namespace
}  // namespace sluice::postgres
