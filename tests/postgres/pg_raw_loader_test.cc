// The raw loader on PostgreSQL: COPY FROM STDIN with the ledger and
// _load_id, against a real server (pg_server.h; skipped without one).
#include <gtest/gtest.h>

#include <atomic>

#include "pipeline/postgres/pg_connection.h"
#include "pipeline/postgres/pg_raw_loader.h"
#include "tests/lakehouse/lake_fixture.h"
#include "tests/postgres/pg_server.h"

namespace sluice::postgres {
namespace {

using lakehouse::RawFormat;
using lakehouse::RawSource;
using lakehouse::testing::WriteGzip;
using sluice::testing::PgServer;

class PgLoadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = PgServer::StartOrSkip().release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    // A database of its own per test.
    db_ = "t_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    for (char& ch : db_) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    ASSERT_EQ(server_->CreateDatabase(db_), "");
    server_->ExportEnv(db_);
    auto c = PgConnection::FromEnvironment();
    ASSERT_TRUE(c.ok()) << c.status().message();
    conn_ = std::move(c).value();
    landing_ = dir_.path() + "/landing";
  }
  std::string Q(const std::string& sql) { return server_->Query(db_, sql); }
  Result<lakehouse::LoadReport> Load(const std::vector<RawSource>& sources, const std::function<bool()>& cancelled = {}) {
    lakehouse::FolderLandingFiles landing(landing_);
    return LoadRaw(*conn_, sources, landing, cancelled);
  }
  static RawSource Csv(std::string table, std::string glob) {
    RawSource s;
    s.table = std::move(table);
    s.glob = std::move(glob);
    s.format = RawFormat::kCsv;
    return s;
  }

  static PgServer* server_;
  std::string db_;
  std::unique_ptr<PgConnection> conn_;
  lakehouse::testing::TempDir dir_;
  std::string landing_;
};
PgServer* PgLoadTest::server_ = nullptr;

TEST_F(PgLoadTest, CsvLoadsIntoTheRawSchemaWithLedgerAndLoadId) {
  WriteGzip(landing_ + "/prices/2025/01/a.csv.gz",
            "Trade_Date,Price,Note\n2025-01-02,1.5,\"tab\there, \"\"q\"\" \\ back\"\n2025-01-03,,\"\"\n");
  auto r = Load({Csv("raw_prices", "prices/*.csv.gz")});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->files_loaded, 1);
  EXPECT_EQ(r->rows_loaded, 2);
  // Lowercased names, text columns, the three metadata columns.
  EXPECT_EQ(Q("SELECT string_agg(column_name || ':' || data_type, ',' ORDER BY ordinal_position) "
              "FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = 'raw_prices'"),
            "trade_date:text,price:text,note:text,_source_file:text,_ingest_date:text,_load_id:bigint");
  // Values byte for byte: escapes round-trip, an unquoted empty field is NULL, "" is ''.
  EXPECT_EQ(Q("SET search_path TO raw; SELECT note FROM raw_prices WHERE trade_date = '2025-01-02'"),
            "tab\there, \"q\" \\ back");
  EXPECT_EQ(Q("SELECT coalesce(price, 'NULL') || '|' || note FROM raw.raw_prices WHERE trade_date = '2025-01-03'"),
            "NULL|");
  EXPECT_EQ(Q("SELECT DISTINCT _source_file || ' ' || _ingest_date || ' ' || _load_id FROM raw.raw_prices"),
            "prices/2025/01/a.csv.gz 2025-01-01 1");
  EXPECT_EQ(Q("SELECT path || ' ' || raw_table || ' ' || rows || ' ' || load_id FROM sluice.loaded_files"),
            "prices/2025/01/a.csv.gz raw_prices 2 1");
}

TEST_F(PgLoadTest, RerunLoadsOnlyNewFilesAndLoadIdGrows) {
  WriteGzip(landing_ + "/p/2025/01/b.csv.gz", "k,v\n1,old\n");
  ASSERT_TRUE(Load({Csv("raw_p", "p/*.csv.gz")}).ok());
  // A content-named file that sorts first but is loaded later.
  WriteGzip(landing_ + "/p/2025/01/a.csv.gz", "k,v,extra\n1,new,x\n");
  auto r = Load({Csv("raw_p", "p/*.csv.gz")});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->files_loaded, 1);
  EXPECT_EQ(r->files_skipped, 1);
  EXPECT_EQ(Q("SELECT string_agg(v || '@' || _load_id || '/' || coalesce(extra, '-'), ',' ORDER BY _load_id) FROM raw.raw_p"),
            "old@1/-,new@2/x");
  auto again = Load({Csv("raw_p", "p/*.csv.gz")});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->files_loaded, 0);
  EXPECT_EQ(again->files_skipped, 2);
  EXPECT_EQ(Q("SELECT count(*) FROM raw.raw_p"), "2");
}

TEST_F(PgLoadTest, MalformedFileLoadsNothingOfItAndKeepsEarlierFiles) {
  WriteGzip(landing_ + "/m/2025/01/a.csv.gz", "a,b\n1,2\n");
  WriteGzip(landing_ + "/m/2025/01/b.csv.gz", "a,b\n1,2\n3,4,5\n");
  auto r = Load({Csv("raw_m", "m/*.csv.gz")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("m/2025/01/b.csv.gz: line 3"), std::string::npos) << r.status().message();
  EXPECT_EQ(Q("SELECT count(*) FROM raw.raw_m"), "1");
  EXPECT_EQ(Q("SELECT string_agg(path, ',') FROM sluice.loaded_files"), "m/2025/01/a.csv.gz");
}

TEST_F(PgLoadTest, WhatPostgresCannotHoldIsAnErrorNamingTheFile) {
  WriteGzip(landing_ + "/n/2025/01/a.csv.gz", std::string("a\nx\0y\n", 6));
  auto r = Load({Csv("raw_n", "n/*.csv.gz")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("n/2025/01/a.csv.gz: line 2: column a holds a NUL byte"), std::string::npos)
      << r.status().message();
  WriteGzip(landing_ + "/u/2025/01/a.csv.gz", "a\nok\n\xff\xfe\n");
  r = Load({Csv("raw_u", "u/*.csv.gz")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("u/2025/01/a.csv.gz: "), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("COPY raw_u, line 2"), std::string::npos) << r.status().message();
  EXPECT_EQ(Q("SELECT count(*) FROM sluice.loaded_files"), "0");
  EXPECT_EQ(Q("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw'"), "0");
}

TEST_F(PgLoadTest, JsonValuesAsText) {
  WriteGzip(landing_ + "/w/2025/02/a.json.gz",
            R"({"data": {"regions": [
                 {"Region": "r1", "lat": -12.5, "n": 7, "ok": true, "daily": [{"date": "2025-01-01", "tmax": 30.5}]},
                 {"Region": "r2", "ok": false, "none": null}]}})");
  RawSource s;
  s.table = "raw_weather";
  s.glob = "w/*.json.gz";
  s.format = RawFormat::kJson;
  s.records = "data.regions";
  auto r = Load({s});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->rows_loaded, 2);
  EXPECT_EQ(Q("SELECT region || ' ' || lat || ' ' || n || ' ' || ok FROM raw.raw_weather WHERE region = 'r1'"),
            "r1 -12.5 7 1");
  EXPECT_EQ(Q("SELECT ok || ' ' || coalesce(lat, 'NULL') || ' ' || coalesce(none, 'NULL') FROM raw.raw_weather "
              "WHERE region = 'r2'"),
            "0 NULL NULL");
  // Arrays are their JSON text, ready for json_array_elements.
  EXPECT_EQ(Q("SELECT d->>'tmax' FROM raw.raw_weather, json_array_elements(daily::json) AS d"), "30.5");
  EXPECT_EQ(Q("SELECT _ingest_date FROM raw.raw_weather LIMIT 1"), "2025-02-01");
}

TEST_F(PgLoadTest, EmptyCsvIsRecordedWithoutATable) {
  WriteGzip(landing_ + "/e/2025/01/a.csv.gz", "");
  auto r = Load({Csv("raw_e", "e/*.csv.gz")});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->files_loaded, 1);
  EXPECT_EQ(Q("SELECT rows FROM sluice.loaded_files"), "0");
  EXPECT_EQ(Q("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw'"), "0");
}

TEST_F(PgLoadTest, CancelRollsBackTheFileInProgress) {
  std::string big = "a,b\n";
  for (int i = 0; i < 70000; ++i) big += std::to_string(i) + ",x\n";
  WriteGzip(landing_ + "/c/2025/01/a.csv.gz", "a,b\n1,2\n");
  WriteGzip(landing_ + "/c/2025/01/b.csv.gz", big);
  // Cancelled once the second file has begun: the first check inside it.
  std::atomic<int> asked{0};
  auto r = Load({Csv("raw_c", "c/*.csv.gz")}, [&] { return ++asked > 3; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().message();
  EXPECT_EQ(Q("SELECT count(*) FROM raw.raw_c"), "1");
  EXPECT_EQ(Q("SELECT count(*) FROM sluice.loaded_files"), "1");
}

TEST_F(PgLoadTest, TooLongColumnNameIsRefused) {
  std::string csv(64, 'c');  // a 64-character column name
  csv += "\n1\n";
  WriteGzip(landing_ + "/l/2025/01/a.csv.gz", csv);
  auto r = Load({Csv("raw_l", "l/*.csv.gz")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("l/2025/01/a.csv.gz: line 1: column name"), std::string::npos)
      << r.status().message();
}

TEST(PgConnectionTest, NoServerIsAnIOErrorFromTheEnvironment) {
  ::setenv("PGHOST", "127.0.0.1", 1);
  ::setenv("PGPORT", "1", 1);  // nothing listens there
  ::setenv("PGCONNECT_TIMEOUT", "5", 1);
  auto c = PgConnection::FromEnvironment();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kIOError);
  EXPECT_NE(c.status().message().find("cannot connect"), std::string::npos);
  ::unsetenv("PGCONNECT_TIMEOUT");
}

TEST(PgQuoteTest, IdentifiersAndText) {
  EXPECT_EQ(QuoteIdent("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(QuoteText("it's"), "'it''s'");
}

}  // namespace
}  // namespace sluice::postgres
