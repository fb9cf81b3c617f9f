// The built `sluice` binary as a script sees it: exit codes and bounded
// time, in real processes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "producers/exit_codes.h"
#include "tests/producers/fake_broker.h"
#include "tests/producers/fake_jobs.h"
#include "tests/producers/run_process.h"

namespace sluice::cli {
namespace {

using sluice::testing::FakeBroker;
using sluice::testing::RunProcess;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

const std::string kSluice = SLUICE_CLI_PATH;

// An endpoint where nothing listens: a port that was just bound and closed.
std::string DeadEndpoint() {
  FakeBroker gone([](const FakeBroker::Request&) { return std::vector<FakeBroker::Answer>{}; });
  return gone.endpoint();
}

TEST(SluiceBinary, NoBrokerExitsThreeWithinTheRpcTimeout) {
  const std::string endpoint = DeadEndpoint();
  for (std::vector<std::string> args : {std::vector<std::string>{"stats"}, {"submit", "exec"},
                                        {"status", "j1"}, {"wait", "j1"}}) {
    args.insert(args.begin(), kSluice);
    args.insert(args.end(), {"--broker", endpoint, "--rpc-timeout", "0.5"});
    auto r = RunProcess(args, "", {}, 30s);
    EXPECT_FALSE(r.timed_out) << args[1];
    EXPECT_EQ(r.exit_code, kExitUnreachable) << args[1] << ": " << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, HasSubstr("sluice: no answer from the broker"));
  }
}

TEST(SluiceBinary, TheEnvironmentNamesTheBrokerAndTheRpcTimeout) {
  auto r = RunProcess({kSluice, "stats"}, "", {{"SLUICE_BROKER", DeadEndpoint()}, {"SLUICE_RPC_TIMEOUT", "0.3"}}, 30s);
  EXPECT_EQ(r.exit_code, kExitUnreachable) << r.err;
  EXPECT_THAT(r.err, HasSubstr("within 0.3 s"));
}

TEST(SluiceBinary, UsageErrorsExitTwo) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{}, {"submit"}, {"submit", "x", "--param", "oops"},
        {"submit", "x", "--param-json", "k=[1,"}, {"nonsense"}}) {
    args.insert(args.begin(), kSluice);
    auto r = RunProcess(args, "", {}, 30s);
    EXPECT_EQ(r.exit_code, kExitUsage) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("sluice: ", 0), 0u) << r.err;
  }
  auto bad_ndjson = RunProcess({kSluice, "submit-many"}, "{\"kind\":\"a\"}\nnot json\n", {}, 30s);
  EXPECT_EQ(bad_ndjson.exit_code, kExitUsage);
  EXPECT_EQ(bad_ndjson.err, "sluice: submit-many: line 2: not valid JSON\n");
}

TEST(SluiceBinary, HelpExitsZero) {
  auto r = RunProcess({kSluice, "--help"}, "", {}, 30s);
  EXPECT_EQ(r.exit_code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("submit-many"));
}

TEST(SluiceBinary, SubmitThenWaitAgainstABroker) {
  FakeBroker broker(sluice::testing::FakeJobsHandler());
  auto submit = RunProcess({kSluice, "submit-many", "--broker", broker.endpoint()},
                           "{\"kind\":\"ok\"}\n{\"kind\":\"fail\"}\n", {}, 30s);
  EXPECT_EQ(submit.exit_code, kExitOk) << submit.err;
  EXPECT_EQ(submit.out, "j1\nj2\n");
  auto ok = RunProcess({kSluice, "wait", "j1"}, "", {{"SLUICE_BROKER", broker.endpoint()}}, 30s);
  EXPECT_EQ(ok.exit_code, kExitOk) << ok.err;
  auto failed = RunProcess({kSluice, "--json", "wait", "j1", "j2", "--broker", broker.endpoint()}, "", {}, 30s);
  EXPECT_EQ(failed.exit_code, kExitFailed) << failed.err;
  auto doc = nlohmann::json::parse(failed.out);
  EXPECT_EQ(doc["jobs"][1]["state"], "dead");
}

}  // namespace
}  // namespace sluice::cli
