// The `sluice` command line, run in this process (cli::Run with string
// streams) against a fake broker: flags, output and exit codes.
#include "producers/cli.h"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "producers/exit_codes.h"
#include "tests/producers/fake_broker.h"
#include "tests/producers/fake_jobs.h"

namespace sluice::cli {
namespace {

using json = nlohmann::json;
using sluice::testing::FakeBroker;
using ::testing::HasSubstr;
using Cmd = proto::Command;

struct CliRun {
  int code;
  std::string out, err;
};

CliRun Sluice(std::vector<std::string> args, const std::string& stdin_text = "") {
  args.insert(args.begin(), "sluice");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  const int code = Run(static_cast<int>(argv.size()), argv.data(), in, out, err);
  return {code, out.str(), err.str()};
}

class CliTest : public ::testing::Test {
 protected:
  CliTest() : broker_(sluice::testing::FakeJobsHandler()) {}
  // The command with --broker pointing at the fake broker.
  CliRun Run(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.push_back("--broker");
    args.push_back(broker_.endpoint());
    return Sluice(std::move(args), stdin_text);
  }
  json Json(const CliRun& r) {
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not one JSON document: " << r.out;
    return j;
  }
  FakeBroker broker_;
};

TEST_F(CliTest, SubmitPrintsTheIdAndSendsEveryFlag) {
  auto r = Run({"submit", "extract.http", "--param", "url=http://x/a", "--param-json", "n=5",
                "--param-json", "headers={\"Accept\":\"text/csv\"}", "--queue", "io", "--priority",
                "-5", "--max-attempts", "3", "--backoff", "0.5", "--timeout", "90", "--delay",
                "1.25", "--key", "k1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "j1\n");
  EXPECT_EQ(r.err, "");
  auto reqs = broker_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].command, Cmd::kSubmit);
  const json& spec = reqs[0].body["jobs"][0];
  EXPECT_EQ(spec["kind"], "extract.http");
  EXPECT_EQ(spec["params"], json::parse(R"({"url":"http://x/a","n":5,"headers":{"Accept":"text/csv"}})"));
  EXPECT_EQ(spec["queue"], "io");
  EXPECT_EQ(spec["priority"], -5);
  EXPECT_EQ(spec["max_attempts"], 3);
  EXPECT_EQ(spec["backoff_ms"], 500);
  EXPECT_EQ(spec["timeout_ms"], 90000);
  EXPECT_EQ(spec["delay_ms"], 1250);
  EXPECT_EQ(spec["key"], "k1");
}

TEST_F(CliTest, BackfillSubmitsOneExtractJobPerPeriod) {
  auto r = Run({"backfill", "--source", "psd", "--url", "http://o/{year}/{month}.csv", "--from",
                "2023-11", "--to", "2024-02", "--param", "ext=csv", "--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  auto reqs = broker_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const json& jobs = reqs[0].body["jobs"];
  ASSERT_EQ(jobs.size(), 4u);
  const char* dates[] = {"2023-11", "2023-12", "2024-01", "2024-02"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(jobs[i]["kind"], "extract.http");
    EXPECT_EQ(jobs[i]["params"]["date"], dates[i]);
    EXPECT_EQ(jobs[i]["params"]["period"], "month");
    EXPECT_EQ(jobs[i]["params"]["source"], "psd");
    EXPECT_EQ(jobs[i]["params"]["url"], "http://o/{year}/{month}.csv");
    EXPECT_EQ(jobs[i]["params"]["ext"], "csv");
  }
  json out = Json(r);
  ASSERT_EQ(out["jobs"].size(), 4u);
  EXPECT_EQ(out["jobs"][3]["date"], "2024-02");
  EXPECT_TRUE(out["jobs"][0].contains("id"));
  EXPECT_TRUE(out["jobs"][0].contains("state"));
}

TEST_F(CliTest, BackfillRefusesABadRangeAndSubmitsNothing) {
  EXPECT_EQ(Run({"backfill", "--source", "s", "--url", "u", "--from", "2024-03", "--to", "2024-01"}).code,
            kExitUsage);
  EXPECT_EQ(Run({"backfill", "--source", "s", "--url", "u", "--from", "2024-13", "--to", "2024-14"}).code,
            kExitUsage);
  EXPECT_EQ(Run({"backfill", "--source", "s", "--url", "u", "--from", "2024", "--to", "2025",
                 "--period", "week"}).code,
            kExitUsage);
  EXPECT_EQ(broker_.count(Cmd::kSubmit), 0u);
}

TEST_F(CliTest, GlobalOptionsWorkBeforeOrAfterTheSubcommand) {
  auto before = Sluice({"--json", "--broker", broker_.endpoint(), "submit", "x"});
  EXPECT_EQ(before.code, kExitOk) << before.err;
  EXPECT_EQ(Json(before), (json{{"id", "j1"}, {"state", "queued"}, {"created", true}}));
  auto after = Sluice({"submit", "x", "--json", "--broker", broker_.endpoint(), "--rpc-timeout", "10"});
  EXPECT_EQ(after.code, kExitOk) << after.err;
  EXPECT_EQ(Json(after)["id"], "j2");
}

TEST_F(CliTest, SubmitManyReadsNdjsonAndPrintsOneIdPerLine) {
  auto r = Run({"submit-many"}, "{\"kind\":\"ok\"}\n\n{\"kind\":\"x\",\"params\":{\"a\":[1]},\"delay_ms\":5}\n");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "j1\nj2\n");
  auto reqs = broker_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body["jobs"].size(), 2u);
  EXPECT_EQ(reqs[0].body["jobs"][1]["params"], (json{{"a", {1}}}));
  EXPECT_EQ(reqs[0].body["jobs"][1]["delay_ms"], 5);

  auto j = Run({"submit-many", "--json"}, "{\"kind\":\"fail\"}\n");
  EXPECT_EQ(j.code, kExitOk) << j.err;
  EXPECT_EQ(Json(j), (json{{"jobs", {{{"id", "j3"}, {"state", "dead"}, {"created", true}}}}}));
}

TEST_F(CliTest, SubmitManySplitsLargeInputIntoBatches) {
  std::string lines;
  for (int i = 0; i < 12345; ++i) lines += "{\"kind\":\"x\"}\n";
  auto r = Run({"submit-many"}, lines);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 12345);
  EXPECT_EQ(broker_.count(Cmd::kSubmit), 2u);
}

TEST_F(CliTest, SubmitManyWithABadLineSubmitsNothing) {
  auto r = Run({"submit-many"}, "{\"kind\":\"ok\"}\n{\"kind\":\"ok\",\"priority\":9999}\n");
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "sluice: submit-many: line 2: field 'priority' must be in [-1000, 1000]\n");
  EXPECT_EQ(broker_.requests().size(), 0u);
}

TEST_F(CliTest, UsageErrorsExitTwoWithOneLineOnStderr) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"submit"}, {"submit", "x", "--param", "novalue"},
        {"submit", "x", "--param-json", "k={"}, {"submit", "x", "--backoff", "-1"},
        {"submit", "x", "--timeout", "0"}, {"submit", "x", "--priority", "5000"},
        {"submit", "bad kind"}, {"submit", "x", "--bogus"}, {"list", "--state", "nope"},
        {"list", "--limit", "0"}, {"wait", "j1", "--timeout", "soon"}, {"frobnicate"}, {},
        {"submit", "x", "--rpc-timeout", "never"}}) {
    auto r = Run(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.code, kExitUsage) << joined << r.err;
    EXPECT_EQ(r.out, "") << joined;
    EXPECT_EQ(r.err.rfind("sluice: ", 0), 0u) << joined << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << r.err;
  }
  EXPECT_EQ(broker_.requests().size(), 0u);
}

TEST_F(CliTest, HelpExitsZeroForTheAppAndEverySubcommand) {
  for (const char* sub : {"", "submit", "submit-many", "status", "list", "wait", "retry", "cancel",
                          "workers", "stats"}) {
    std::vector<std::string> args;
    if (*sub) args.push_back(sub);
    args.push_back("--help");
    auto r = Sluice(args);
    EXPECT_EQ(r.code, kExitOk) << sub;
    EXPECT_THAT(r.out, HasSubstr("Usage:")) << sub;
  }
  EXPECT_THAT(Sluice({"--help"}).out, HasSubstr("Exit codes:"));
  auto version = Sluice({"--version"});
  EXPECT_EQ(version.code, kExitOk);
  EXPECT_THAT(version.out, HasSubstr("."));
}

TEST_F(CliTest, BrokerErrorsPrintTheCodeAndMapToExitCodes) {
  auto nf = Run({"status", "j404"});
  EXPECT_EQ(nf.code, kExitFailed);
  EXPECT_EQ(nf.err, "sluice: not_found: no job j404\n");
  EXPECT_EQ(nf.out, "");

  ASSERT_EQ(Run({"submit", "ok"}).code, kExitOk);
  auto inv = Run({"retry", "j1"});
  EXPECT_EQ(inv.code, kExitFailed);
  EXPECT_EQ(inv.err, "sluice: invalid_state: job j1 is succeeded\n");

  auto bad = Run({"submit", "reject"});
  EXPECT_EQ(bad.code, kExitUsage);
  EXPECT_EQ(bad.err, "sluice: bad_request: SUBMIT jobs[0]: kind 'reject' is refused\n");
}

TEST_F(CliTest, StatusShowsTheJobOrItsJson) {
  ASSERT_EQ(Run({"submit", "ok", "--param", "a=b"}).code, kExitOk);
  auto human = Run({"status", "j1"});
  EXPECT_EQ(human.code, kExitOk) << human.err;
  EXPECT_THAT(human.out, HasSubstr("state       succeeded\n"));
  EXPECT_THAT(human.out, HasSubstr("attempt 1  succeeded\n"));
  EXPECT_THAT(human.out, HasSubstr("started   2024-05-01T12:34:56.789Z\n"));
  auto j = Run({"status", "j1", "--json"});
  EXPECT_EQ(j.code, kExitOk);
  json job = Json(j);
  EXPECT_EQ(job["id"], "j1");
  EXPECT_EQ(job["state"], "succeeded");
  EXPECT_EQ(job["params"], (json{{"a", "b"}}));
  EXPECT_EQ(job["attempts"].size(), 1u);
}

TEST_F(CliTest, ListShowsATableWithWaitingReasons) {
  ASSERT_EQ(Run({"submit", "ok"}).code, kExitOk);
  ASSERT_EQ(Run({"submit", "exotic"}).code, kExitOk);
  auto r = Run({"list"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ID  STATE      KIND"));
  EXPECT_THAT(r.out, HasSubstr("waiting: no connected worker runs kind 'exotic' on queue 'default'"));
  auto j = Run({"--json", "list", "--state", "queued", "--limit", "5", "--kind", "exotic", "--queue", "default"});
  EXPECT_EQ(j.code, kExitOk);
  json doc = Json(j);
  ASSERT_EQ(doc["jobs"].size(), 1u);
  EXPECT_EQ(doc["jobs"][0]["id"], "j2");
  auto reqs = broker_.requests();
  EXPECT_EQ(reqs.back().body["limit"], 5);
  EXPECT_EQ(reqs.back().body["kind"], "exotic");
  EXPECT_EQ(reqs.back().body["queue"], "default");
}

TEST_F(CliTest, WaitExitsZeroWhenAllSucceeded) {
  ASSERT_EQ(Run({"submit-many"}, "{\"kind\":\"ok\"}\n{\"kind\":\"ok\"}\n").code, kExitOk);
  auto r = Run({"wait", "j1", "j2"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "j1 succeeded\nj2 succeeded\n");
  auto j = Run({"wait", "j1", "j2", "--json"});
  EXPECT_EQ(j.code, kExitOk);
  json doc = Json(j);
  ASSERT_EQ(doc["jobs"].size(), 2u);
  EXPECT_EQ(doc["jobs"][1]["id"], "j2");
  EXPECT_EQ(doc["jobs"][1]["state"], "succeeded");
}

TEST_F(CliTest, WaitExitsOneWhenAJobFailedOrWasCancelled) {
  ASSERT_EQ(Run({"submit-many"}, "{\"kind\":\"ok\"}\n{\"kind\":\"fail\"}\n{\"kind\":\"x\"}\n").code, kExitOk);
  auto r = Run({"wait", "j1", "j2"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.out, "j1 succeeded\nj2 dead (exit status 1)\n");
  auto c = Run({"cancel", "j3"});
  EXPECT_EQ(c.code, kExitOk) << c.err;
  EXPECT_EQ(c.out, "j3 cancelled\n");
  auto w = Run({"wait", "j3", "--json"});
  EXPECT_EQ(w.code, kExitFailed);
  EXPECT_EQ(Json(w)["jobs"][0]["state"], "cancelled");
}

TEST_F(CliTest, WaitExitsFourWhenItsTimeoutRunsOut) {
  ASSERT_EQ(Run({"submit-many"}, "{\"kind\":\"ok\"}\n{\"kind\":\"slow\"}\n").code, kExitOk);
  auto r = Run({"wait", "j1", "j2", "--timeout", "1", "--json"});
  EXPECT_EQ(r.code, kExitWaitTimeout);
  json doc = Json(r);
  EXPECT_EQ(doc["jobs"][0]["state"], "succeeded");
  EXPECT_EQ(doc["jobs"][1]["state"], "running");
  EXPECT_EQ(r.err, "sluice: wait: timed out after 1 s; 1 of 2 jobs not finished: j2\n");
  // It polled: more than one STATUS for the running job.
  std::size_t polls = 0;
  for (const auto& req : broker_.requests())
    polls += req.command == Cmd::kStatus && req.body.value("id", "") == "j2";
  EXPECT_GE(polls, 2u);
}

TEST_F(CliTest, WaitOnAnUnknownJobIsNotFound) {
  auto r = Run({"wait", "j77"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err, "sluice: not_found: no job j77\n");
}

TEST_F(CliTest, RetryAndCancelPrintTheNewState) {
  ASSERT_EQ(Run({"submit", "fail"}).code, kExitOk);
  auto r = Run({"retry", "j1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "j1 queued\n");
  auto j = Run({"cancel", "j1", "--json"});
  EXPECT_EQ(j.code, kExitOk);
  EXPECT_EQ(Json(j)["state"], "cancelled");
  EXPECT_EQ(broker_.count(Cmd::kCancelJob), 1u);
}

TEST_F(CliTest, WorkersAndStats) {
  auto w = Run({"workers"});
  EXPECT_EQ(w.code, kExitOk) << w.err;
  EXPECT_THAT(w.out, HasSubstr("w1"));
  auto wj = Run({"workers", "--json"});
  EXPECT_EQ(Json(wj)["workers"][0]["worker"], "w1");
  auto s = Run({"stats"});
  EXPECT_EQ(s.code, kExitOk) << s.err;
  EXPECT_THAT(s.out, HasSubstr("uptime   1.000 s\n"));
  auto sj = Run({"stats", "--json"});
  EXPECT_EQ(Json(sj)["stats"]["workers"], 1);
}

TEST(Cli, ASilentBrokerExitsThreeWithinTheRpcTimeout) {
  FakeBroker silent([](const FakeBroker::Request&) { return std::vector<FakeBroker::Answer>{}; });
  for (std::vector<std::string> args : {std::vector<std::string>{"stats"}, {"submit", "x"},
                                        {"wait", "j1"}, {"list"}}) {
    args.insert(args.end(), {"--broker", silent.endpoint(), "--rpc-timeout", "0.2"});
    auto r = Sluice(args);
    EXPECT_EQ(r.code, kExitUnreachable) << args[0];
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, HasSubstr("sluice: no answer from the broker at " + silent.endpoint() + " within 0.2 s"));
  }
}

}  // namespace
}  // namespace sluice::cli
