// export.serving on PostgreSQL: the serving schema published as `analytics`
// through `analytics_next`, swapped in one transaction; nothing published
// when nothing changed; a reader's open transaction never sees a mix.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "pipeline/postgres/pg_connection.h"
#include "pipeline/postgres/pg_export.h"
#include "pipeline/postgres/pg_lakehouse.h"
#include "pipeline/postgres/pg_model_state.h"
#include "tests/postgres/pg_server.h"

namespace sluice::postgres {
namespace {

using sluice::testing::PgServer;

class PgExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = PgServer::StartOrSkip().release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    db_ = "e_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    for (char& ch : db_) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    ASSERT_EQ(server_->CreateDatabase(db_), "");
    server_->ExportEnv(db_);
    conn_ = Connect();
    ASSERT_TRUE(EnsureLakehouse(*conn_).ok());
  }
  std::unique_ptr<PgConnection> Connect() {
    auto c = PgConnection::FromEnvironment();
    EXPECT_TRUE(c.ok()) << c.status().message();
    return std::move(c).value();
  }
  std::string Q(const std::string& sql) { return server_->Query(db_, sql); }
  // A serving table as a model build would leave it, with its build row.
  void Build(const std::string& name, int rows) {
    Q("DROP TABLE IF EXISTS serving." + name + "; CREATE TABLE serving." + name +
      " AS SELECT g AS n FROM generate_series(1, " + std::to_string(rows) + ") g; SELECT 1");
    models::BuildRecord r;
    r.kind = "FULL";
    r.fingerprint = "f";
    ASSERT_TRUE(RecordBuild(*conn_, name, r).ok());
  }

  static PgServer* server_;
  std::string db_;
  std::unique_ptr<PgConnection> conn_;
};
PgServer* PgExportTest::server_ = nullptr;

TEST_F(PgExportTest, PublishesTheServingSchemaAsAnalytics) {
  auto none = ExportServing(*conn_);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kNotFound);

  Build("serving_a", 3);
  Build("serving_b", 2);
  Q("CREATE TABLE serving.not_served AS SELECT 1 AS x; SELECT 1");
  auto r = ExportServing(*conn_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->published);
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->rows, 5);
  ASSERT_EQ(r->tables.size(), 2u);
  EXPECT_EQ(r->tables[0].name, "serving_a");
  EXPECT_GT(r->bytes, 0);
  EXPECT_EQ(Q("SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables "
              "WHERE table_schema = 'analytics'"),
            "_sluice_export,serving_a,serving_b");
  EXPECT_EQ(Q("SELECT version || '/' || tables || '/' || rows FROM analytics._sluice_export"), "1/2/5");
  EXPECT_EQ(Q("SELECT count(*) FROM pg_namespace WHERE nspname = 'analytics_next'"), "0");

  // Nothing changed: nothing is written.
  auto same = ExportServing(*conn_);
  ASSERT_TRUE(same.ok()) << same.status().message();
  EXPECT_FALSE(same->published);
  EXPECT_EQ(same->version, 1);
  EXPECT_EQ(same->reason, "no serving table changed since export 1");
  auto forced = ExportServing(*conn_, {}, /*force=*/true);
  ASSERT_TRUE(forced.ok());
  EXPECT_TRUE(forced->published);
  EXPECT_EQ(forced->version, 2);

  // A rebuilt table publishes; a table gone is gone from analytics too.
  Build("serving_a", 4);
  Q("DROP TABLE serving.serving_b; SELECT 1");
  auto next = ExportServing(*conn_);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->published);
  EXPECT_EQ(next->version, 3);
  EXPECT_EQ(Q("SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables "
              "WHERE table_schema = 'analytics'"),
            "_sluice_export,serving_a");
  EXPECT_EQ(Q("SELECT count(*) FROM analytics.serving_a"), "4");
  EXPECT_EQ(Q("SELECT string_agg(version::text, ',' ORDER BY version) FROM sluice.exports"), "1,2,3");
}

TEST_F(PgExportTest, ReadersKeepTheirAccessAcrossExports) {
  Build("serving_a", 1);
  ASSERT_TRUE(ExportServing(*conn_).ok());
  Q("CREATE ROLE dashboard LOGIN; GRANT USAGE ON SCHEMA analytics TO dashboard; "
    "GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO dashboard; SELECT 1");
  Build("serving_a", 2);
  ASSERT_TRUE(ExportServing(*conn_).ok());
  EXPECT_EQ(Q("SELECT has_schema_privilege('dashboard', 'analytics', 'USAGE')::text || ' ' || "
              "has_table_privilege('dashboard', 'analytics.serving_a', 'SELECT')::text"),
            "true true");
  Q("DROP OWNED BY dashboard; DROP ROLE dashboard; SELECT 1");
}

TEST_F(PgExportTest, AReaderNeverSeesAHalfSwappedSchema) {
  Build("serving_a", 3);
  Build("serving_b", 3);
  ASSERT_TRUE(ExportServing(*conn_).ok());
  // A reader inside one transaction reads analytics (version 1)...
  auto reader = Connect();
  ASSERT_TRUE(reader->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ").ok());
  auto before = reader->QueryInt("SELECT count(*) FROM analytics.serving_a");
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(*before, 3);
  // ... while the next export (both tables rebuilt) runs in another session.
  Build("serving_a", 5);
  Build("serving_b", 5);
  auto exporting = std::async(std::launch::async, [] {
    auto c = PgConnection::FromEnvironment();
    if (!c.ok()) return Result<serving::ExportReport>(c.status());
    return ExportServing(**c);
  });
  // The export waits for the reader's lock before it swaps: seen in pg_locks.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool waiting = false;
  while (!waiting && std::chrono::steady_clock::now() < deadline) {
    waiting = Q("SELECT count(*) FROM pg_locks WHERE NOT granted") != "0";
    if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(waiting) << "the export never waited for the reader";
  // The reader still sees the old export whole: both tables, version 1.
  auto still = reader->QueryInt("SELECT (SELECT count(*) FROM analytics.serving_a) * 10 + "
                                "(SELECT count(*) FROM analytics.serving_b) + "
                                "(SELECT max(version) FROM analytics._sluice_export) * 100");
  ASSERT_TRUE(still.ok()) << still.status().message();
  EXPECT_EQ(*still, 100 + 30 + 3);
  ASSERT_TRUE(reader->Exec("COMMIT").ok());
  auto done = exporting.get();
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_EQ(done->version, 2);
  // A new statement sees the new export whole.
  auto after = reader->QueryInt("SELECT (SELECT count(*) FROM analytics.serving_a) * 10 + "
                                "(SELECT count(*) FROM analytics.serving_b) + "
                                "(SELECT max(version) FROM analytics._sluice_export) * 100");
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(*after, 200 + 50 + 5);
}

}  // namespace
}  // namespace sluice::postgres
