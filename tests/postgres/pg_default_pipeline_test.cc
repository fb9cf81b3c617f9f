// The default pipeline on PostgreSQL, end to end through real processes: a
// PostgreSQL server (pg_server.h), a broker and a worker whose libpq
// environment names the database; the default models folder with
// `[project] engine = "postgres"` in a sluice.toml beside it; the landing
// zone filled from the default generator's files (the extract stage is the
// same for both engines). transform.sql loads with COPY and builds every
// model; export.serving publishes the `analytics` schema. The serving
// tables hold what the same models build on SQLite, row for row (counts
// and sums). A second transform loads no file and builds nothing.
// Skipped (77) without a PostgreSQL server or python3.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pipeline/lakehouse/lakehouse_db.h"
#include "pipeline/lakehouse/raw_loader.h"
#include "pipeline/models/model_run.h"
#include "tests/integration/cluster.h"
#include "tests/integration/temp_dir.h"
#include "tests/postgres/pg_server.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteGzip(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  gzFile f = gzopen(p.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, data.data(), static_cast<unsigned>(data.size())), static_cast<int>(data.size()));
  gzclose(f);
}

class PgDefaultPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) {
      std::cerr << "SKIPPED: /usr/bin/python3 (the default pipeline's generator) is missing\n";
      std::exit(77);
    }
    server_ = PgServer::StartOrSkip();
    ASSERT_EQ(server_->CreateDatabase("coffee"), "");
    server_->ExportEnv("coffee");  // the worker inherits libpq's environment
  }
  std::unique_ptr<PgServer> server_;
  TempDir dir_{"sluice-pg-pipeline"};
};

TEST_F(PgDefaultPipelineTest, RunsEndToEndAndMatchesSqlite) {
  const fs::path dir = dir_.path();
  // The generator's files, as extract.http would have landed them in June.
  CommandResult gen = RunCommand("generate", {"/usr/bin/python3", std::string(SLUICE_SOURCE_DIR) +
                                              "/pipeline/default/generate_data.py", (dir / "origin").string(),
                                              "--as-of", "2025-06-17"},
                                 dir.string(), Ms(120000));
  ASSERT_TRUE(gen.status.exited && gen.status.code == 0) << gen.Describe();
  const std::pair<const char*, const char*> sources[] = {
      {"psd", "usda_psd"}, {"cot", "cftc_cot"}, {"prices", "futures_prices"}, {"weather", "weather"}};
  for (const auto& [from, to] : sources)
    for (const auto& f : fs::directory_iterator(dir / "origin" / from))
      WriteGzip(dir / "landing" / to / "2025" / "06" / (f.path().filename().string() + ".gz"), Read(f.path()));
  // The default models, declared for PostgreSQL beside their sources.toml.
  fs::copy(std::string(SLUICE_SOURCE_DIR) + "/pipeline/default/models", dir / "models", fs::copy_options::recursive);
  { std::ofstream(dir / "models" / "sluice.toml") << "[project]\nengine = \"postgres\"\n"; }

  Cluster cluster(dir.string());
  ASSERT_TRUE(cluster.StartBroker().ok());
  cluster.StartWorker(1, {"--landing", (dir / "landing").string(), "--models-root", dir.string(), "--lakehouse",
                          (dir / "unused.sqlite").string(), "--serving", (dir / "unused-analytics.sqlite").string()});
  auto run = [&](const std::string& kind, const std::vector<std::string>& params) {
    std::vector<std::string> args = {"submit", kind};
    for (const auto& p : params) args.insert(args.end(), {"--param", p});
    CommandResult submitted = cluster.Cli(args);
    EXPECT_TRUE(submitted.status.exited && submitted.status.code == 0) << submitted.Describe();
    std::string id = submitted.out;
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    CommandResult waited = cluster.Cli({"--json", "wait", id, "--timeout", "600"}, Scaled(Ms(700000)));
    EXPECT_TRUE(waited.status.exited && waited.status.code == 0) << waited.Describe() << "\n"
                                                                 << cluster.Cli({"status", id}).out;
    return cluster.Cli({"--json", "status", id}).out;
  };
  const std::string models = "models=" + (dir / "models").string();
  const std::string first = run("transform.sql", {models, "end_ds=2025-06-16"});
  EXPECT_NE(first.find("\"files_loaded\":9"), std::string::npos) << first;
  run("export.serving", {models});
  EXPECT_FALSE(fs::exists(dir / "unused.sqlite"));  // the SQLite lakehouse was never touched

  // Every model in its layer's schema; the serving tables published.
  const std::string q_models =
      "SELECT string_agg(table_schema || '.' || table_name, ',' ORDER BY table_schema, table_name) "
      "FROM information_schema.tables WHERE table_schema IN ('staging', 'foundation', 'serving')";
  EXPECT_EQ(server_->Query("coffee", "SELECT count(*) FROM information_schema.tables WHERE table_schema IN "
                                     "('staging', 'foundation', 'serving')"),
            "13")
      << server_->Query("coffee", q_models);
  EXPECT_EQ(server_->Query("coffee", "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM "
                                     "information_schema.tables WHERE table_schema = 'analytics'"),
            "_sluice_export,serving_coffee_balance,serving_positioning_weekly,serving_price_monthly,"
            "serving_weather_anomaly");

  // The same models on SQLite, over the same landing files.
  Database lake;
  ASSERT_TRUE(lakehouse::OpenLakehouse(lake, (dir / "sqlite.sqlite").string()).ok());
  auto sources_list = lakehouse::ReadSources((dir / "models" / "sources.toml").string());
  ASSERT_TRUE(sources_list.ok());
  ASSERT_TRUE(lakehouse::LoadRaw(lake, *sources_list, (dir / "landing").string()).ok());
  models::RunOptions options;
  options.end_ds = "2025-06-16";
  models::RunReport report;
  Status s = models::RunModelsFolder(lake, (dir / "models").string(), options, &report);
  ASSERT_TRUE(s.ok()) << s.message();
  struct Check {
    const char* table;
    const char* expr;  // an aggregate both engines compute alike
  };
  const Check checks[] = {
      {"serving_coffee_balance", "sum(production) + sum(coalesce(stocks_to_use, 0))"},
      {"serving_positioning_weekly", "sum(noncomm_net) + sum(coalesce(front_settle, 0))"},
      {"serving_price_monthly", "sum(avg_settle) + sum(coalesce(return_pct, 0)) + sum(contract_rolled)"},
      {"serving_weather_anomaly", "sum(tavg_c) + sum(coalesce(precip_anomaly_pct, 0)) + sum(days_in_month)"},
  };
  for (const Check& c : checks) {
    auto st = lake.Prepare(std::string("SELECT count(*), ") + c.expr + " FROM " + c.table);
    ASSERT_TRUE(st.ok()) << st.status().message();
    ASSERT_EQ(st->Step(), SQLITE_ROW);
    const std::int64_t sqlite_rows = st->Int(0);
    const double sqlite_sum = st->Double(1);
    const std::string pg_rows = server_->Query("coffee", std::string("SELECT count(*) FROM analytics.") + c.table);
    const std::string pg_sum = server_->Query("coffee", std::string("SELECT ") + c.expr + " FROM analytics." + c.table);
    EXPECT_GT(sqlite_rows, 0) << c.table;
    EXPECT_EQ(pg_rows, std::to_string(sqlite_rows)) << c.table;
    EXPECT_NEAR(std::stod(pg_sum), sqlite_sum, 1e-6 * std::max(1.0, std::fabs(sqlite_sum))) << c.table;
  }

  // Again: no new file, nothing changed, nothing built; the export publishes nothing.
  const std::string second = run("transform.sql", {models, "end_ds=2025-06-16"});
  EXPECT_NE(second.find("\"files_loaded\":0"), std::string::npos) << second;
  EXPECT_EQ(second.find("\"status\":\"built\""), std::string::npos) << second;
  const std::string exported = run("export.serving", {models});
  EXPECT_NE(exported.find("\"published\":false"), std::string::npos) << exported;
}

}  // namespace
}  // namespace sluice::testing
