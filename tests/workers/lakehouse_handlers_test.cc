// The lakehouse job kinds run through the worker's handler table: load,
// transform.sql and export.serving, against temp lakehouse / serving files.
#include <gtest/gtest.h>

#include <zlib.h>

#include <filesystem>
#include <fstream>
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
    settings_.models_roots = {dir_.path()};
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

  void WriteGz(const std::string& relative, const std::string& body) {
    std::string path = settings_.landing_dir + "/" + relative;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, body.data(), static_cast<unsigned>(body.size())), static_cast<int>(body.size()));
    gzclose(f);
  }
  void WriteFile(const std::string& relative, const std::string& body) {
    std::string path = dir_.File(relative);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << body;
  }
  // A models folder: prices CSV -> staging_prices -> foundation_prices -> serving_avg_price.
  std::string MakeModels(const std::string& audit = "not_null(columns := (item))") {
    WriteFile("models/sources.toml",
              "[[raw]]\ntable = \"raw_prices\"\nglob = \"prices/*.csv.gz\"\nformat = \"csv\"\n");
    WriteFile("models/staging/staging_prices.sql",
              "MODEL (name staging_prices, kind FULL, audits (" + audit + "));\n"
              "SELECT item, CAST(price AS REAL) AS price FROM raw_prices\n");
    WriteFile("models/foundation/foundation_prices.sql",
              "MODEL (name foundation_prices, kind VIEW);\nSELECT * FROM staging_prices\n");
    WriteFile("models/serving/serving_avg_price.sql",
              "MODEL (name serving_avg_price, kind FULL, grain (item), audits (unique_grain));\n"
              "SELECT item, avg(price) AS avg_price FROM foundation_prices GROUP BY item\n");
    return dir_.File("models");
  }
  std::int64_t LakehouseInt(const std::string& sql) {
    Database db;
    EXPECT_TRUE(db.Open(settings_.lakehouse_path, true).ok());
    auto st = db.Prepare(sql);
    EXPECT_TRUE(st.ok()) << sql;
    if (!st.ok() || st->Step() != SQLITE_ROW) return -1;
    return st->Int(0);
  }

  ::sluice::testing::TempDir dir_{"sluice-lakehouse-handlers"};
  HandlerSettings settings_;
};

TEST_F(LakehouseHandlersTest, TransformLoadsBuildsAndExportPublishes) {
  WriteGz("prices/2024/03/a.csv.gz", "item,price\r\ncoffee,\"1.5\"\r\ntea,2\r\ncoffee,2.5\r\n");
  std::string models = MakeModels();
  proto::JobResult r = Run("transform.sql", R"({"models": ")" + models + R"("})");
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  json out = Outputs(r);
  EXPECT_EQ(out["load"]["files_loaded"], 1) << out.dump();
  EXPECT_EQ(out["load"]["rows_loaded"], 3);
  ASSERT_EQ(out["models"].size(), 3u) << out.dump();
  EXPECT_EQ(out["models"][0]["name"], "staging_prices");
  EXPECT_EQ(out["models"][1]["name"], "foundation_prices");
  EXPECT_EQ(out["models"][1]["kind"], "VIEW");
  EXPECT_EQ(out["models"][2]["name"], "serving_avg_price");
  EXPECT_EQ(out["models"][2]["status"], "built");
  EXPECT_EQ(out["models"][2]["rows"], 2);
  EXPECT_EQ(LakehouseInt("SELECT avg_price * 10 FROM serving_avg_price WHERE item = 'coffee'"), 20);

  // A second run loads nothing new; a new file is loaded, and only it.
  r = Run("transform.sql", R"({"models": ")" + models + R"("})");
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(Outputs(r)["load"]["files_loaded"], 0);
  EXPECT_EQ(Outputs(r)["load"]["files_skipped"], 1);
  WriteGz("prices/2024/04/b.csv.gz", "item,price\nmate,4\n");
  r = Run("load", R"({"models": ")" + models + R"("})");
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(Outputs(r)["files_loaded"], 1);
  EXPECT_EQ(Outputs(r)["files"][0]["path"], "prices/2024/04/b.csv.gz");
  EXPECT_EQ(LakehouseInt("SELECT count(*) FROM raw_prices"), 4);

  r = Run("export.serving");
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(Outputs(r)["tables"], json({{"serving_avg_price", 2}}));
}

TEST_F(LakehouseHandlersTest, MalformedFileFailsForGoodNamingFileAndLine) {
  WriteGz("prices/2024/03/a.csv.gz", "item,price\ncoffee,1\ntea,\"2\n");
  std::string models = MakeModels();
  proto::JobResult r = Run("load", R"({"models": ")" + models + R"("})");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.error.find("prices/2024/03/a.csv.gz"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("line 3"), std::string::npos) << r.error;
  EXPECT_EQ(LakehouseInt("SELECT count(*) FROM _sluice_loaded_files"), 0);
}

TEST_F(LakehouseHandlersTest, FailedAuditFailsForGoodAndKeepsTheOldTable) {
  WriteGz("prices/2024/03/a.csv.gz", "item,price\ncoffee,1\n");
  std::string models = MakeModels();
  ASSERT_EQ(Run("transform.sql", R"({"models": ")" + models + R"("})").outcome, Outcome::kSucceeded);
  WriteGz("prices/2024/04/b.csv.gz", "item,price\n,3\n");  // an empty item: NULL
  proto::JobResult r = Run("transform.sql", R"({"models": ")" + models + R"("})");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.error.find("staging_prices"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("not_null"), std::string::npos) << r.error;
  json out = Outputs(r);
  EXPECT_EQ(out["models"][0]["status"], "failed") << out.dump();
  EXPECT_EQ(out["models"][1]["status"], "skipped");
  EXPECT_EQ(out["models"][2]["status"], "skipped");
  EXPECT_EQ(LakehouseInt("SELECT count(*) FROM staging_prices"), 1) << "the old table was replaced";
}

TEST_F(LakehouseHandlersTest, BadParamsAndMissingFolders) {
  proto::JobResult r = Run("transform.sql", "{}");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.error.find("models"), std::string::npos) << r.error;
  r = Run("transform.sql", R"({"models": ")" + dir_.File("nonexistent/models") + R"("})");
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.error.find("no models folder"), std::string::npos) << r.error;
  r = Run("load", R"({"models": "a", "sources": "b"})");
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.error.find("either"), std::string::npos) << r.error;
  r = Run("load", R"({"sources": ")" + dir_.File("nonexistent/sources.toml") + R"("})");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_NE(r.error.find("sources.toml"), std::string::npos) << r.error;
}

// A missing models folder or sources file is named by its absolute path,
// with the param and the folder it was resolved against (a relative root:
// the worker's working folder too), so a service's operator sees where the
// worker looked.
TEST_F(LakehouseHandlersTest, MissingModelsFolderNamesTheResolvedPathAndItsBase) {
  namespace fs = std::filesystem;
  std::string root = fs::weakly_canonical(dir_.path()).string();
  proto::JobResult r = Run("transform.sql", R"({"models": "pipeline/default/models"})");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.error.find("no models folder " + root + "/pipeline/default/models ("), std::string::npos)
      << r.error;
  EXPECT_NE(r.error.find("models = 'pipeline/default/models', resolved against the first models root " + root),
            std::string::npos)
      << r.error;
  EXPECT_NE(r.error.find("--models-root"), std::string::npos) << r.error;

  r = Run("load", R"({"models": "pipeline/default/models"})");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.error.find("no sources file " + root + "/pipeline/default/models/sources.toml ("), std::string::npos)
      << r.error;
  EXPECT_NE(r.error.find("resolved against the first models root " + root), std::string::npos) << r.error;

  // A relative root (the default is "."): taken from the working folder, which is named.
  std::string cwd = fs::weakly_canonical(fs::current_path()).string();
  settings_.models_roots = {"sluice-no-such-root"};
  r = Run("transform.sql", R"({"models": "m"})");
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.error.find("no models folder " + cwd + "/sluice-no-such-root/m ("), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("resolved against the first models root " + cwd + "/sluice-no-such-root ('sluice-no-such-root' "
                         "in the worker's working folder " + cwd + ")"),
            std::string::npos)
      << r.error;
}

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

// --- confinement (issue 9, defect 3) ---

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string J(const std::string& key, const std::string& value) {
  return json{{key, value}}.dump();
}

// Runs the test from `dir` (so that relative params land in the test's
// folder even on a worker that does not confine them), then back.
class WorkingFolder {
 public:
  explicit WorkingFolder(const std::string& dir) : old_(std::filesystem::current_path()) {
    std::filesystem::current_path(dir);
  }
  ~WorkingFolder() { std::filesystem::current_path(old_); }

 private:
  std::filesystem::path old_;
};

// Regression: `serving=/any/path` replaced an unrelated file with a SQLite
// database, creating folders on the way.
TEST_F(LakehouseHandlersTest, ExportServingRefusesFilesOutsideTheServingFolder) {
  MakeLakehouse("CREATE TABLE serving_a (x); INSERT INTO serving_a VALUES (1);");
  WriteFile("victim.txt", "keep me\n");
  WriteFile("data/notes.txt", "keep me too\n");
  const std::string outside = dir_.File("elsewhere/new/analytics.sqlite");
  {  // A database of another kind in the serving folder (WAL, like state.sqlite).
    Database other;
    ASSERT_TRUE(other.Open(dir_.File("data/state.sqlite")).ok());
    ASSERT_TRUE(other.Exec("PRAGMA journal_mode=WAL; CREATE TABLE jobs (id); INSERT INTO jobs VALUES (1);").ok());
  }
  const std::string state_before = Slurp(dir_.File("data/state.sqlite"));
  const std::string lakehouse_before = Slurp(settings_.lakehouse_path);
  std::filesystem::create_directory_symlink(dir_.path(), dir_.File("data/up"));
  std::filesystem::create_symlink(dir_.File("victim.txt"), dir_.File("data/link.sqlite"));
  WorkingFolder cwd(dir_.File("data"));

  const std::string refused[] = {
      dir_.File("victim.txt"),                // another folder
      outside,                                // another folder, not there yet
      dir_.File("some/other/path"),           // the issue's example, in the test folder
      "../victim.txt",                        // `..`
      dir_.File("data/../victim.txt"),        // `..`, even though it normalises
      dir_.File("data/sub/analytics.sqlite"),  // a sub-folder (would be created)
      dir_.File("data/up/victim.txt"),        // a symlinked folder that leads out
      "link.sqlite",                          // a symlink in the folder
      "notes.txt",                            // an existing file that is not an export
      "state.sqlite",                         // another application's database
      "lakehouse.sqlite",                     // the lakehouse
      "analytics.sqlite-wal",                 // an SQLite side file
      ".",                                    //
  };
  for (const std::string& target : refused) {
    proto::JobResult r = Run("export.serving", J("serving", target));
    EXPECT_EQ(r.outcome, Outcome::kFailed) << target;
    EXPECT_FALSE(r.retryable) << target;
    EXPECT_NE(r.error.find("serving"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find(std::filesystem::canonical(dir_.File("data")).string()), std::string::npos)
        << "the error names the serving folder: " << r.error;
  }
  EXPECT_EQ(Slurp(dir_.File("victim.txt")), "keep me\n");
  EXPECT_EQ(Slurp(dir_.File("data/notes.txt")), "keep me too\n");
  EXPECT_EQ(Slurp(dir_.File("data/state.sqlite")), state_before);
  EXPECT_EQ(Slurp(settings_.lakehouse_path), lakehouse_before);
  EXPECT_TRUE(std::filesystem::is_symlink(dir_.File("data/link.sqlite")));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("elsewhere")));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("data/sub")));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("some")));
  EXPECT_FALSE(std::filesystem::exists(settings_.serving_path)) << "nothing was exported";
}

TEST_F(LakehouseHandlersTest, ExportServingMayNameAnotherFileInItsFolder) {
  MakeLakehouse("CREATE TABLE serving_a (x); INSERT INTO serving_a VALUES (1);");
  // Absent, the worker's own file, a bare name, a path in the folder, and
  // a second export over a file an export wrote.
  const std::pair<std::string, std::string> allowed[] = {
      {"{}", settings_.serving_path},
      {J("serving", settings_.serving_path), settings_.serving_path},
      {J("serving", "second.sqlite"), dir_.File("data/second.sqlite")},
      {J("serving", dir_.File("data/third.sqlite")), dir_.File("data/third.sqlite")},
      {J("serving", dir_.File("data/./second.sqlite")), dir_.File("data/second.sqlite")},
  };
  for (const auto& [params, written] : allowed) {
    proto::JobResult r = Run("export.serving", params);
    ASSERT_EQ(r.outcome, Outcome::kSucceeded) << params << ": " << r.error;
    EXPECT_EQ(std::filesystem::canonical(Outputs(r)["path"].get<std::string>()),
              std::filesystem::canonical(written)) << params;
    Database served;
    ASSERT_TRUE(served.Open(written, true).ok());
    auto st = served.Prepare("SELECT count(*) FROM serving_a");
    ASSERT_TRUE(st.ok()) << written;
    ASSERT_EQ(st->Step(), SQLITE_ROW);
    EXPECT_EQ(st->Int(0), 1);
  }
}

// Regression: `models=` and `sources=` read any path on the worker host.
TEST_F(LakehouseHandlersTest, ModelsAndSourcesOutsideTheRootsAreRefused) {
  // A valid models folder outside the root, so that a refusal is not just
  // "there is nothing there".
  ::sluice::testing::TempDir outside("sluice-outside-models");
  settings_.models_roots = {dir_.File("root")};
  std::filesystem::create_directories(dir_.File("root"));
  WriteGz("prices/2024/03/a.csv.gz", "item,price\ncoffee,1\n");
  const std::string models = MakeModels();  // dir_/models: outside dir_/root too
  std::filesystem::create_directory_symlink(models, dir_.File("root/escape"));
  std::filesystem::create_directories(dir_.File("root/own"));
  std::filesystem::create_symlink(models + "/sources.toml", dir_.File("root/own/sources.toml"));
  WorkingFolder cwd(dir_.File("root"));

  const std::string root = std::filesystem::canonical(dir_.File("root")).string();
  const std::pair<std::string, std::string> refused[] = {
      {"transform.sql", J("models", "/etc")},
      {"transform.sql", J("models", models)},
      {"transform.sql", J("models", "../models")},
      {"transform.sql", J("models", "escape")},                 // a symlink out of the root
      {"transform.sql", J("models", dir_.File("root/escape"))},
      {"transform.sql", J("models", "own")},                    // its sources.toml leads out
      {"load", J("models", "/etc")},
      {"load", J("models", "../x")},
      {"load", J("models", "escape")},
      {"load", J("models", "own")},
      {"load", J("sources", "/etc/passwd")},
      {"load", J("sources", models + "/sources.toml")},
      {"load", J("sources", "../models/sources.toml")},
      {"load", J("sources", "escape/sources.toml")},
      {"load", J("sources", "own/sources.toml")},
  };
  for (const auto& [kind, params] : refused) {
    proto::JobResult r = Run(kind, params);
    EXPECT_EQ(r.outcome, Outcome::kFailed) << kind << " " << params;
    EXPECT_FALSE(r.retryable) << kind << " " << params;
    EXPECT_NE(r.error.find("outside the models roots"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find(root), std::string::npos) << "the error names the roots: " << r.error;
  }
  EXPECT_FALSE(std::filesystem::exists(settings_.lakehouse_path)) << "a refused job opened the lakehouse";
}

TEST_F(LakehouseHandlersTest, ModelsInsideTheRootsAreRead) {
  WriteGz("prices/2024/03/a.csv.gz", "item,price\ncoffee,1\n");
  const std::string models = MakeModels();  // dir_/models
  std::filesystem::create_directories(dir_.File("first"));
  std::filesystem::create_directory_symlink(models, dir_.File("first/linked"));
  // Relative to the first root; absolute in the second; a symlink that
  // stays inside the roots.
  settings_.models_roots = {dir_.File("first"), dir_.path()};
  proto::JobResult r = Run("load", J("models", "../models"));
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(Outputs(r)["files_loaded"], 1);
  r = Run("load", J("sources", models + "/sources.toml"));
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  r = Run("transform.sql", J("models", "linked"));
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(Outputs(r)["models"].size(), 3u);
  r = Run("transform.sql", J("models", models));
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;

  // The root itself may be the models folder; by default the root is the
  // working folder.
  settings_.models_roots = {models};
  r = Run("transform.sql", J("models", "."));
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(HandlerSettings().models_roots, std::vector<std::string>{"."});
}

}  // namespace
}  // namespace sluice::worker
