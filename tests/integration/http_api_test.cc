// /api and the status page's files, as a script or the page meets them: a
// real broker with --http and a worker, a failed run, a dead job and a
// paused schedule, read over TCP. The answers are the JSON that `sluice
// ... --json` prints for the same request.
#include <httplib.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/integration/http_scrape.h"
#include "tests/integration/integration_test.h"

namespace sluice::testing {
namespace {

using json = nlohmann::json;

class HttpApiTest : public IntegrationTest {
 protected:
  // GET `path` as JSON; `status` gets the HTTP status.
  json GetJson(const std::string& path, int* status, const std::string& token = "") {
    auto r = HttpGet(port_, path, token);
    if (!r) {
      *status = -1;
      return nullptr;
    }
    *status = r->status;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << path;
    return json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  }
  void StartWithWorkflows(std::vector<std::string> extra = {}) {
    const std::string registry = dir_.File("workflows.toml");
    std::ofstream(registry) << R"(
[workflow.breaks]
[[workflow.breaks.stage]]
name = "first"
kind = "test.noop"
[[workflow.breaks.stage]]
name = "second"
kind = "test.fail"
params = { succeed_on = 99 }
max_attempts = 1
depends_on = ["first"]

[workflow.nightly]
schedule = "0 3 * * *"
[[workflow.nightly.stage]]
name = "only"
kind = "test.noop"
)";
    std::vector<std::string> args = {"--http", "127.0.0.1:0", "--workflows", registry};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_NO_FATAL_FAILURE(StartBroker(args));
    port_ = LoggedHttpPort(*cluster_.broker());
    ASSERT_GT(port_, 0) << cluster_.broker()->Stderr();
  }
  int port_ = 0;
};

TEST_F(HttpApiTest, TheOverviewShowsRunsDeadJobsSchedulesAndWorkers) {
  ASSERT_NO_FATAL_FAILURE(StartWithWorkflows());
  cluster_.StartWorker(2);
  ASSERT_TRUE(WaitForWorkers(1));
  auto ids = SubmitAll({Spec("test.noop"), Spec("test.fail", {{"succeed_on", 99}}, /*max_attempts=*/1)});
  ASSERT_EQ(ids.size(), 2u);
  Answer run = client().Request(proto::Command::kRun, {{"workflow", "breaks"}}, Scaled(Ms(30000)));
  ASSERT_TRUE(run.ok()) << run.Describe();
  const std::string run_id = run.body["run"]["id"];
  ASSERT_TRUE(client().Request(proto::Command::kPause, {{"workflow", "nightly"}}, Scaled(Ms(30000))).ok());
  ASSERT_EQ(WaitForCount("dead", 2), 2);

  int status = 0;
  json o;
  // The run ends after its stage (one more commit): wait for it.
  ASSERT_TRUE(WaitUntil(
      [&] {
        o = GetJson("/api/overview", &status);
        return status == 200 && o.is_object() && o["runs"]["breaks"].size() == 1 &&
               o["runs"]["breaks"][0]["state"] == "failed";
      },
      Scaled(Ms(30000)), Ms(100)))
      << o.dump();
  for (const char* key : {"stats", "workers", "schedules", "runs", "dead", "extractions", "export"})
    EXPECT_TRUE(o.contains(key)) << key;
  EXPECT_TRUE(o["export"].is_null());  // no export.serving yet
  // The run grid's data: the failed stage with its job and error.
  const json& r = o["runs"]["breaks"][0];
  EXPECT_EQ(r["id"], run_id);
  ASSERT_EQ(r["stages"].size(), 2u);
  EXPECT_EQ(r["stages"][0]["name"], "first");
  EXPECT_EQ(r["stages"][0]["state"], "succeeded");
  EXPECT_EQ(r["stages"][1]["state"], "dead");
  const std::string failed_job = r["stages"][1]["job"];
  EXPECT_TRUE(o["runs"]["nightly"].is_array() && o["runs"]["nightly"].empty());
  // Dead jobs, newest first, with their errors.
  ASSERT_EQ(o["dead"].size(), 2u) << o["dead"].dump();
  EXPECT_EQ(o["dead"][0]["id"], failed_job);
  EXPECT_EQ(o["dead"][1]["id"], ids[1]);
  EXPECT_NE(o["dead"][1]["error"].get<std::string>().find("succeed_on"), std::string::npos);
  // The paused schedule and its next fire time.
  json nightly;
  for (const json& s : o["schedules"])
    if (s["workflow"] == "nightly") nightly = s;
  EXPECT_EQ(nightly["paused"], true) << o["schedules"].dump();
  EXPECT_TRUE(nightly["next_fire"].is_string()) << nightly.dump();
  // The worker, its slots; STATS with the queue's ended jobs and the broker's clock.
  ASSERT_EQ(o["workers"].size(), 1u);
  EXPECT_EQ(o["workers"][0]["slots"], 2);
  EXPECT_TRUE(o["workers"][0]["last_seen_ms"].is_number());
  EXPECT_EQ(o["stats"]["queues"]["default"]["succeeded"], 2);  // the job and the run's first stage
  EXPECT_EQ(o["stats"]["queues"]["default"]["dead"], 2);
  EXPECT_TRUE(o["stats"]["now_ms"].is_number());

  // A stage's attempts, as the page opens them: the error of each.
  json job = GetJson("/api/jobs/" + failed_job, &status);
  ASSERT_EQ(status, 200) << job.dump();
  EXPECT_EQ(job["id"], failed_job);
  EXPECT_EQ(job["state"], "dead");
  ASSERT_EQ(job["attempts"].size(), 1u);
  EXPECT_EQ(job["attempts"][0]["outcome"], "failed");
  EXPECT_NE(job["attempts"][0]["error"].get<std::string>().find("succeed_on"), std::string::npos);
  json run_doc = GetJson("/api/runs/" + run_id, &status);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(run_doc["state"], "failed");

  // The single-request routes: the same objects, filtered.
  json dead = GetJson("/api/jobs?state=dead&kind=test.fail&limit=1", &status);
  ASSERT_EQ(status, 200);
  ASSERT_EQ(dead["jobs"].size(), 1u);
  EXPECT_EQ(dead["jobs"][0]["id"], failed_job);
  json runs = GetJson("/api/runs?workflow=breaks", &status);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(runs["runs"].size(), 1u);
  EXPECT_EQ(GetJson("/api/workers", &status)["workers"].size(), 1u);
  EXPECT_EQ(GetJson("/api/schedules", &status)["schedules"].size(), 2u);
  EXPECT_TRUE(GetJson("/api/extractions", &status)["extractions"].is_array());
  EXPECT_EQ(GetJson("/api/stats", &status)["jobs"]["dead"], 2);

  // Refusals: the protocol's codes, as HTTP statuses.
  json e = GetJson("/api/jobs/j999999", &status);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(e["error"]["code"], "not_found");
  e = GetJson("/api/jobs?state=bogus", &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(e["error"]["code"], "bad_request");
  EXPECT_NE(e["error"]["message"].get<std::string>().find("bogus"), std::string::npos);
  GetJson("/api/jobs?limit=0", &status);
  EXPECT_EQ(status, 400);
  GetJson("/api/jobs?limit=99999999999", &status);
  EXPECT_EQ(status, 400);
  GetJson("/api/runs/" + failed_job, &status);  // a job id where a run id goes
  EXPECT_EQ(status, 404);
  GetJson("/api/jobs?queue=%FF%FE", &status);  // not UTF-8
  EXPECT_EQ(status, 400);
  GetJson("/api/no-such-route", &status);
  EXPECT_EQ(status, 404);

  // The page: its three files, compiled in.
  auto page = HttpGet(port_, "/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("<script src=\"/status.js\">"), std::string::npos);
  // It runs its own files only: no inline script, nothing from elsewhere.
  EXPECT_EQ(page->get_header_value("Content-Security-Policy").rfind("default-src 'self'", 0), 0u);
  EXPECT_EQ(page->body.find("<script>"), std::string::npos);
  for (const char* f : {"/status.js", "/status.css"}) {
    auto r2 = HttpGet(port_, f);
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->status, 200) << f;
    EXPECT_GT(r2->body.size(), 1000u) << f;
  }
}

// With a token: the page's files (no data) are served to anyone, so the
// page can ask for the token; every /api route and /metrics need it.
TEST_F(HttpApiTest, TheApiNeedsTheTokenThePageDoesNot) {
  const std::string token_file = dir_.File("http.token");
  std::ofstream(token_file) << "a-token-that-is-long-enough-1234\n";
  ASSERT_NO_FATAL_FAILURE(StartWithWorkflows({"--http-token-file", token_file}));
  EXPECT_EQ(HttpGet(port_, "/")->status, 200);
  EXPECT_EQ(HttpGet(port_, "/status.js")->status, 200);
  for (const char* path : {"/api/overview", "/api/stats", "/api/jobs", "/api/jobs/j1", "/metrics", "/api/nope"})
    EXPECT_EQ(HttpGet(port_, path)->status, 401) << path;
  int status = 0;
  json o = GetJson("/api/overview", &status, "a-token-that-is-long-enough-1234");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(o["schedules"].size(), 2u);
}

// A broker stopping while the page polls: it stops cleanly (the mailbox
// lets waiting requests go: tests/broker/api_mailbox_test.cc).
TEST_F(HttpApiTest, StoppingAnswersWhatWaits) {
  ASSERT_NO_FATAL_FAILURE(StartWithWorkflows());
  std::atomic<bool> go{true};
  std::atomic<int> answered{0};
  std::thread poller([&] {
    while (go) {
      auto r = HttpGet(port_, "/api/overview");
      if (r) answered++;
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return answered > 3; }, Scaled(Ms(30000)), Ms(10)));
  auto st = cluster_.StopBroker(SIGTERM);
  go = false;
  poller.join();
  EXPECT_TRUE(st.exited && st.code == 0) << cluster_.Describe();
}

}  // namespace
}  // namespace sluice::testing
