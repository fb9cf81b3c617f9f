// Exports run back to back while a reader process queries the analytics
// database through ServingReader: it never sees an error or a half-written
// table, its version never goes backwards, and it ends at the last export's.
#include <gtest/gtest.h>

#include <string>

#include "pipeline/serving/serving_export.h"
#include "tests/integration/process.h"
#include "tests/integration/temp_dir.h"
#include "tests/integration/wait_for.h"

namespace sluice::serving {
namespace {

using testing::Ms;
using testing::Scaled;

TEST(ServingSwap, ReaderFollowsTwentyExportsWithoutErrorsOrGoingBack) {
  testing::TempDir dir("sluice-serving");
  const std::string serving = dir.File("data/analytics.sqlite");
  constexpr int kRows = 20000;
  constexpr int kExports = 20;

  Database lake;
  ASSERT_TRUE(lake.Open(dir.File("lakehouse.sqlite")).ok());
  ASSERT_TRUE(lake.Exec("PRAGMA journal_mode=WAL").ok());
  ASSERT_TRUE(lake.Exec("CREATE TABLE serving_t (id INTEGER, v INTEGER, pad TEXT);"
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                        std::to_string(kRows) +
                        ") INSERT INTO serving_t SELECT i, 1, hex(randomblob(16)) FROM n")
                  .ok());
  ASSERT_TRUE(ExportServing(lake, serving).ok());

  // The probe exits 0 when it reads version 1 + kExports.
  testing::Process probe("probe",
                         {SLUICE_PROBE_BIN, serving, std::to_string(kRows),
                          std::to_string(1 + kExports), std::to_string(Scaled(Ms(120000)).count() / 1000)},
                         dir.path());
  // Let the probe get going on version 1 before the swaps start.
  ASSERT_TRUE(testing::WaitUntil([&] { return probe.Stdout().find("reading") != std::string::npos; },
                                 Scaled(Ms(30000))))
      << probe.Describe();

  for (int k = 2; k <= 1 + kExports; ++k) {
    ASSERT_TRUE(lake.Exec("UPDATE serving_t SET v = " + std::to_string(k)).ok());
    auto r = ExportServing(lake, serving);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->version, k);
  }
  auto status = probe.Wait(Scaled(Ms(150000)));
  ASSERT_TRUE(status.has_value()) << "probe still running";
  EXPECT_TRUE(status->exited && status->code == 0)
      << status->ToString() << "\n" << probe.Stdout() << probe.Stderr();
  EXPECT_NE(probe.Stdout().find("reads="), std::string::npos) << probe.Stdout();
}

}  // namespace
}  // namespace sluice::serving
