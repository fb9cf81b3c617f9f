// The extract stage end to end: a real nginx origin, the broker and a worker
// as processes, `extract.http` jobs submitted over the wire. Shows the
// conditional GET across runs (the broker keeps the cursor; nginx logs the
// 304 with no body), the landing file gunzipping to the origin's bytes, and
// the extraction_runs rows as the seeds' query and `sluice extractions`
// see them.
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "tests/integration/http_scrape.h"
#include "tests/integration/integration_test.h"
#include "tests/workers/nginx_server.h"
#include "tests/workers/scripted_http_server.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;
using worker::testing::NginxServer;

class ExtractTest : public IntegrationTest {
 protected:
  void SetUp() override {
    if (!worker::testing::NginxInstalled()) GTEST_SKIP() << "nginx is not installed";
  }
};

std::string Gunzip(const fs::path& p) {
  gzFile f = gzopen(p.c_str(), "rb");
  if (f == nullptr) return "<cannot open>";
  std::string out;
  char buf[4096];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  gzclose(f);
  return out;
}

std::vector<fs::path> LandingFiles(const fs::path& root) {
  std::vector<fs::path> files;
  if (!fs::exists(root)) return files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) files.push_back(e.path());
  return files;
}

TEST_F(ExtractTest, ConditionalRunsLandOnceAndAreRecorded) {
  NginxServer origin;
  ASSERT_TRUE(origin.ok()) << origin.error();
  const std::string body = "Commodity_Code,Commodity_Description,Value\n0711100,\"Coffee, Green\",42\n";
  origin.WriteFile("psd/2024-03.csv", body);

  ASSERT_NO_FATAL_FAILURE(StartBroker({"--http", "127.0.0.1:0"}));
  const fs::path landing = fs::path(dir_.path()) / "landing";
  cluster_.StartWorker(2, {"--landing", landing.string()});
  ASSERT_TRUE(WaitForWorkers(1));

  json params = {{"source", "usda_psd"}, {"url", origin.Url("/psd/{year}-{month}.csv")}, {"date", "2024-03"}};
  const std::string first = SubmitOne(Spec("extract.http", params));
  json job = WaitForState(first, {"succeeded", "dead"});
  ASSERT_EQ(job.value("state", ""), "succeeded") << job.dump();

  auto files = LandingFiles(landing);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(Gunzip(files[0]), body);
  const std::string rel = fs::relative(files[0], landing).string();
  EXPECT_EQ(rel.rfind("usda_psd/", 0), 0u) << rel;
  EXPECT_EQ(rel.substr(rel.size() - 7), ".csv.gz") << rel;

  // Second run: the broker passes the cursor, nginx answers 304, nothing new lands.
  const std::string second = SubmitOne(Spec("extract.http", params));
  job = WaitForState(second, {"succeeded", "dead"});
  ASSERT_EQ(job.value("state", ""), "succeeded") << job.dump();
  EXPECT_EQ(LandingFiles(landing).size(), 1u);
  auto log = origin.AccessLog(2);
  ASSERT_GE(log.size(), 2u);
  EXPECT_EQ(log.back().rfind("304 0 ", 0), 0u) << log.back();

  // The seeds' query, from the sqlite3 CLI, exactly as users run it.
  CommandResult q = RunCommand(
      "sqlite3", {"/usr/bin/sqlite3", cluster_.state_path(),
                  "SELECT status, files_written, files_skipped, extractor FROM extraction_runs "
                  "WHERE status='success' AND started_at > datetime('now','-7 days') ORDER BY run_id"},
      dir_.path(), Scaled(Ms(30000)));
  ASSERT_TRUE(q.status.exited && q.status.code == 0) << q.Describe();
  EXPECT_EQ(q.out, "success|1|0|usda_psd\nsuccess|0|1|usda_psd\n");

  CommandResult cli = cluster_.Cli({"extractions", "--source", "usda_psd", "--json"});
  ASSERT_TRUE(cli.status.exited && cli.status.code == 0) << cli.Describe();
  json runs = json::parse(cli.out, nullptr, false);
  ASSERT_TRUE(runs.is_object()) << cli.out;
  ASSERT_EQ(runs["extractions"].size(), 2u);
  EXPECT_EQ(runs["extractions"][0]["job_id"], second);
  EXPECT_EQ(runs["extractions"][0]["files_skipped"], 1);

  // And /metrics, per source: one file written (its bytes), one skipped.
  const int port = LoggedHttpPort(*cluster_.broker());
  ASSERT_GT(port, 0);
  std::string text;
  PromText m = ScrapeUntil(
      port,
      [](const PromText& t) {
        return t.Value("sluice_extract_files_total", {{"source", "usda_psd"}, {"result", "skipped"}}) == 1;
      },
      Scaled(Ms(30000)), &text);
  ASSERT_EQ(m.error, "") << text;
  EXPECT_EQ(m.Value("sluice_extract_files_total", {{"source", "usda_psd"}, {"result", "written"}}), 1) << text;
  EXPECT_EQ(m.Value("sluice_extract_files_total", {{"source", "usda_psd"}, {"result", "skipped"}}), 1) << text;
  EXPECT_GT(m.Value("sluice_extract_bytes_total", {{"source", "usda_psd"}}), 0) << text;
}

TEST_F(ExtractTest, TwoServerErrorsThenSuccessEndsInSuccessAfterRetries) {
  const std::string body = "a,b\n1,2\n";
  worker::testing::ScriptedHttpServer origin([&](int n, const std::string&) {
    if (n < 2) return worker::testing::Reply(500, "", "busy");
    return worker::testing::Reply(200, "ETag: \"v1\"\r\n", body);
  });
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--backoff", "0.2s"}));
  const fs::path landing = fs::path(dir_.path()) / "landing";
  cluster_.StartWorker(1, {"--landing", landing.string()});
  ASSERT_TRUE(WaitForWorkers(1));
  const std::string id = SubmitOne(Spec("extract.http", {{"source", "cot"}, {"url", origin.Url("/cot.csv")}}, 5));
  json job = WaitForState(id, {"succeeded", "dead"});
  ASSERT_EQ(job.value("state", ""), "succeeded") << job.dump();
  EXPECT_EQ(job.value("attempt", 0), 3);
  auto files = LandingFiles(landing);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(Gunzip(files[0]), body);
  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  auto rows = db.Query("SELECT attempt, status, error_message FROM extraction_runs WHERE job_id='" + id +
                       "' ORDER BY attempt");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["status"], "failed");
  EXPECT_NE(rows[0]["error_message"].get<std::string>().find("500"), std::string::npos) << rows[0].dump();
  EXPECT_EQ(rows[1]["status"], "failed");
  EXPECT_EQ(rows[2]["status"], "success");
}

TEST_F(ExtractTest, AFailedRunIsRecordedWithItsError) {
  NginxServer origin;
  ASSERT_TRUE(origin.ok()) << origin.error();
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  cluster_.StartWorker(1, {"--landing", (fs::path(dir_.path()) / "landing").string()});
  ASSERT_TRUE(WaitForWorkers(1));
  json params = {{"source", "cftc"}, {"url", origin.Url("/missing.csv")}};
  const std::string id = SubmitOne(Spec("extract.http", params));
  json job = WaitForState(id, {"succeeded", "dead"});
  ASSERT_EQ(job.value("state", ""), "dead") << job.dump();
  EXPECT_EQ(job.value("attempt", 0), 1) << "a 404 is not retried";
  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  auto rows = db.Query("SELECT status, error_message FROM extraction_runs WHERE job_id='" + id + "'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["status"], "failed");
  EXPECT_NE(rows[0]["error_message"].get<std::string>().find("404"), std::string::npos) << rows[0].dump();
}

}  // namespace
}  // namespace sluice::testing
