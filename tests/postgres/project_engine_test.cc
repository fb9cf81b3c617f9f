// The engine of a models folder: [project] engine in sources.toml or a
// sluice.toml beside it; the sources reader leaves [project] alone.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "pipeline/lakehouse/raw_source.h"
#include "pipeline/postgres/project_engine.h"
#include "tests/lakehouse/lake_fixture.h"

namespace sluice::postgres {
namespace {

namespace fs = std::filesystem;
using lakehouse::testing::WriteFile;

TEST(ProjectEngineTest, DefaultIsSqlite) {
  lakehouse::testing::TempDir dir;
  auto e = ReadProjectEngine(dir.path());
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, Engine::kSqlite);
}

TEST(ProjectEngineTest, FromSourcesTomlBesideRawEntries) {
  lakehouse::testing::TempDir dir;
  const std::string text = "[project]\nengine = \"postgres\"\n\n[[raw]]\ntable = \"raw_a\"\nglob = \"a/*.csv.gz\"\nformat = \"csv\"\n";
  WriteFile(dir.path() + "/sources.toml", text);
  auto e = ReadProjectEngine(dir.path());
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(*e, Engine::kPostgres);
  auto sources = lakehouse::ParseSources(text, "sources.toml");
  ASSERT_TRUE(sources.ok()) << sources.status().message();
  ASSERT_EQ(sources->size(), 1u);
  EXPECT_EQ((*sources)[0].table, "raw_a");
}

TEST(ProjectEngineTest, FromSluiceTomlAndDisagreement) {
  lakehouse::testing::TempDir dir;
  WriteFile(dir.path() + "/sluice.toml", "[project]\nengine = \"postgres\"\n");
  auto e = ReadProjectEngine(dir.path());
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, Engine::kPostgres);
  WriteFile(dir.path() + "/sources.toml", "[project]\nengine = \"sqlite\"\n");
  e = ReadProjectEngine(dir.path());
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("disagrees"), std::string::npos) << e.status().message();
}

TEST(ProjectEngineTest, BadValuesNameFileAndLine) {
  auto e = ParseProjectEngine("[project]\nengine = \"mysql\"\n", "m/sluice.toml", true);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "m/sluice.toml:2: engine must be \"sqlite\" or \"postgres\"");
  e = ParseProjectEngine("[project]\nhost = \"db\"\n", "m/sluice.toml", true);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "m/sluice.toml:2: unknown key 'host' in [project] (known: engine)");
  e = ParseProjectEngine("[raw]\n", "m/sluice.toml", true);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "m/sluice.toml:1: unknown key 'raw' (expected [project])");
}

}  // namespace
}  // namespace sluice::postgres
