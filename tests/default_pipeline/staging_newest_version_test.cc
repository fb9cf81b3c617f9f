// "Newest version wins" in the default pipeline's staging: every landed file
// is kept, so a value changed at the origin and fetched again in the same
// month lands as a second file with the same `_ingest_date`. Content-named
// files (sha16 stems) sort at random, so only the load order (`_load_id`)
// can tell which version is newer. The real sources.toml and staging model
// of pipeline/default/models run against a lakehouse loaded file by file.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "pipeline/lakehouse/lakehouse_db.h"
#include "pipeline/lakehouse/raw_loader.h"
#include "pipeline/lakehouse/raw_source.h"
#include "pipeline/models/model_run.h"
#include "tests/lakehouse/lake_fixture.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using lakehouse::testing::Scalar;

const fs::path kDefaultModels = fs::path(SLUICE_SOURCE_DIR) / "pipeline/default/models";

class StagingNewestVersionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    landing_ = dir_.path() + "/landing";
    models_ = fs::path(dir_.path()) / "models";
    // The default pipeline's own files: its sources and the staging model
    // under test (the other models read raw tables this test does not land).
    fs::create_directories(models_ / "staging");
    fs::copy_file(kDefaultModels / "sources.toml", models_ / "sources.toml");
    fs::copy_file(kDefaultModels / "staging/staging_futures_prices.sql", models_ / "staging/staging_futures_prices.sql");
    Status s = lakehouse::OpenLakehouse(db_, dir_.path() + "/lakehouse.sqlite");
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto sources = lakehouse::ReadSources((models_ / "sources.toml").string());
    ASSERT_TRUE(sources.ok()) << sources.status().ToString();
    sources_ = *sources;
  }

  // Lands the origin file with KCH24's 2024-03-01 settlement at `settle`
  // under `stem` (March 2024, like every fetch that month), loads what is
  // new and rebuilds staging.
  void FetchLoadAndTransform(const std::string& stem, const std::string& settle) {
    lakehouse::testing::WriteGzip(
        landing_ + "/futures_prices/2024/03/" + stem + ".csv.gz",
        "trade_date,symbol,contract,contract_month,open,high,low,close,settle,volume,open_interest\n"
        "2024-03-01,KC,KCH24,2024-03,180,183,179,182," + settle + ",15000,90000\n"
        "2024-03-04,KC,KCH24,2024-03,181,184,180,183,183,16000,91000\n");
    auto loaded = lakehouse::LoadRaw(db_, sources_, landing_);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    ASSERT_EQ(loaded->files_loaded, 1);
    models::RunOptions options;
    options.end_ds = "2024-03-31";
    models::RunReport report;
    Status s = models::RunModelsFolder(db_, models_, options, &report);
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << models::FormatRunReport(report);
  }

  std::string Settle() {
    return Scalar(db_, "SELECT settle FROM staging_futures_prices WHERE contract = 'KCH24' AND trade_date = '2024-03-01'");
  }

  lakehouse::testing::TempDir dir_;
  std::string landing_;
  fs::path models_;
  Database db_;
  std::vector<lakehouse::RawSource> sources_;
};

TEST_F(StagingNewestVersionTest, TheLastLoadedVersionWinsWhateverItsFileName) {
  FetchLoadAndTransform("f3a9c0ffee000001", "22");
  EXPECT_EQ(Settle(), "22.0");
  // Changed at the origin (22 -> 999), fetched again the same month: a new
  // content name that sorts before the first one.
  FetchLoadAndTransform("0b51d00d00000002", "999");
  EXPECT_EQ(Settle(), "999.0");
  // And once more, a name that sorts between the two.
  FetchLoadAndTransform("7c00000000000003", "55");
  EXPECT_EQ(Settle(), "55.0");
  EXPECT_EQ(Scalar(db_, "SELECT count(*) FROM staging_futures_prices"), "2");
}

}  // namespace
}  // namespace sluice
