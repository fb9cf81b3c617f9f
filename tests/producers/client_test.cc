// sluice::Client against a fake broker (a ROUTER in a thread, on a free port).
#include "producers/client.h"

#include <chrono>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "tests/producers/fake_broker.h"

namespace sluice {
namespace {

using json = nlohmann::json;
using testing::FakeBroker;
using Cmd = proto::Command;
using namespace std::chrono_literals;

Client ConnectTo(const FakeBroker& broker, std::chrono::milliseconds timeout = 10s) {
  ClientOptions options;
  options.timeout = timeout;
  auto c = Client::Connect(broker.endpoint(), options);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

json JobObject(const std::string& id, const std::string& state) {
  return {{"id", id}, {"state", state}, {"kind", "exec"}, {"queue", "default"}};
}

TEST(Client, RoundTripSendsTheRequestAndReturnsTheReply) {
  FakeBroker broker([](const FakeBroker::Request& r) -> std::vector<FakeBroker::Answer> {
    if (r.command == Cmd::kStatus)
      return {FakeBroker::Reply(r, {{"job", JobObject(r.body.value("id", ""), "queued")}})};
    return {};
  });
  Client client = ConnectTo(broker);
  auto job = client.Status("j7");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->id, "j7");
  EXPECT_EQ(job->state, "queued");

  auto requests = broker.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].command, Cmd::kStatus);
  EXPECT_EQ(requests[0].body["id"], "j7");
  EXPECT_TRUE(requests[0].body["req"].is_number_unsigned());
}

TEST(Client, EachCallUsesItsCommandAndANewReq) {
  FakeBroker broker([](const FakeBroker::Request& r) -> std::vector<FakeBroker::Answer> {
    switch (r.command) {
      case Cmd::kList: return {FakeBroker::Reply(r, {{"jobs", {JobObject("j2", "queued")}}})};
      case Cmd::kRetry:
      case Cmd::kCancelJob: return {FakeBroker::Reply(r, {{"job", JobObject("j1", "queued")}})};
      case Cmd::kWorkers: return {FakeBroker::Reply(r, {{"workers", json::array()}})};
      case Cmd::kStats: return {FakeBroker::Reply(r, {{"stats", {{"uptime_ms", 5}}}})};
      default: return {};
    }
  });
  Client client = ConnectTo(broker);
  ListFilter filter;
  filter.state = "queued";
  filter.kind = "exec";
  filter.limit = 7;
  auto jobs = client.List(filter);
  ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
  EXPECT_EQ(jobs->size(), 1u);
  EXPECT_TRUE(client.Retry("j1").ok());
  EXPECT_TRUE(client.Cancel("j1").ok());
  EXPECT_TRUE(client.Workers().ok());
  auto stats = client.Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->doc["uptime_ms"], 5);

  auto requests = broker.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[0].command, Cmd::kList);
  EXPECT_EQ(requests[0].body, (json{{"req", requests[0].body["req"]}, {"state", "queued"},
                                    {"kind", "exec"}, {"limit", 7}}));
  EXPECT_EQ(requests[1].command, Cmd::kRetry);
  EXPECT_EQ(requests[2].command, Cmd::kCancelJob);
  EXPECT_EQ(requests[3].command, Cmd::kWorkers);
  EXPECT_EQ(requests[4].command, Cmd::kStats);
  for (std::size_t i = 1; i < requests.size(); ++i)
    EXPECT_GT(requests[i].body["req"].get<std::uint64_t>(), requests[i - 1].body["req"].get<std::uint64_t>());
}

TEST(Client, GenericRequestReturnsTheWholeReply) {
  FakeBroker broker([](const FakeBroker::Request& r) -> std::vector<FakeBroker::Answer> {
    return {FakeBroker::Reply(r, {{"echo", r.body.value("x", 0)}})};
  });
  Client client = ConnectTo(broker);
  auto reply = client.Request(Cmd::kStats, {{"x", 42}});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ((*reply)["echo"], 42);
  EXPECT_EQ((*reply)["ok"], true);
  EXPECT_TRUE(reply->contains("req"));
  EXPECT_FALSE(client.Request(Cmd::kStats, json::array()).ok());
}

TEST(Client, AReplyWithAStaleReqIsIgnored) {
  FakeBroker broker([](const FakeBroker::Request& r) -> std::vector<FakeBroker::Answer> {
    const std::uint64_t req = r.body["req"];
    json stale_reply = {{"req", req + 1000}, {"ok", true}, {"job", JobObject("j-stale", "dead")}};
    json stale_error = {{"req", req + 1001}, {"ok", false}, {"code", "not_found"}, {"message", "x"}};
    return {{Cmd::kReply, stale_reply},
            {Cmd::kError, stale_error},
            {Cmd::kHeartbeat, json::object()},  // not for clients: ignored too
            FakeBroker::Reply(r, {{"job", JobObject("j1", "running")}})};
  });
  Client client = ConnectTo(broker);
  auto job = client.Status("j1");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->id, "j1");
  EXPECT_EQ(job->state, "running");
}

TEST(Client, ALateAnswerToATimedOutRequestIsDiscarded) {
  // The first STATUS gets no answer until the second arrives; then both are
  // answered, the stale one first.
  std::vector<FakeBroker::Request> held;
  FakeBroker broker([&held](const FakeBroker::Request& r) -> std::vector<FakeBroker::Answer> {
    if (held.empty()) {
      held.push_back(r);
      return {};
    }
    return {FakeBroker::Reply(held[0], {{"job", JobObject("j-first", "queued")}}),
            FakeBroker::Reply(r, {{"job", JobObject("j-second", "queued")}})};
  });
  Client client = ConnectTo(broker, 300ms);
  auto first = client.Status("j-first");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), Code::kUnavailable);
  client.set_timeout(10s);
  auto second = client.Status("j-second");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->id, "j-second");
}

TEST(Client, AnErrorReplyBecomesAStatusWithItsCode) {
  FakeBroker broker([](const FakeBroker::Request& r) -> std::vector<FakeBroker::Answer> {
    const std::string id = r.body.value("id", "");
    if (id == "j404") return {FakeBroker::Error(r, "not_found", "no job j404")};
    if (id == "j409") return {FakeBroker::Error(r, "invalid_state", "job j409 is succeeded")};
    if (id == "bad") return {FakeBroker::Error(r, "bad_request", "STATUS: field 'id' must not be empty")};
    if (id == "bye") return {FakeBroker::Error(r, "shutting_down", "the broker is stopping")};
    return {FakeBroker::Error(r, "internal", "disk full")};
  });
  Client client = ConnectTo(broker);
  struct Case {
    const char* id;
    Code code;
    const char* message;
  };
  for (const Case& c : {Case{"j404", Code::kNotFound, "not_found: no job j404"},
                        Case{"j409", Code::kConflict, "invalid_state: job j409 is succeeded"},
                        Case{"bad", Code::kInvalidArgument, "bad_request: STATUS: field 'id' must not be empty"},
                        Case{"bye", Code::kUnavailable, "shutting_down: the broker is stopping"},
                        Case{"other", Code::kInternal, "internal: disk full"}}) {
    auto r = client.Status(c.id);
    ASSERT_FALSE(r.ok()) << c.id;
    EXPECT_EQ(r.status().code(), c.code) << c.id;
    EXPECT_EQ(r.status().message(), c.message);
  }
}

TEST(Client, AnErrorWithReqZeroAnswersThePendingRequest) {
  FakeBroker broker([](const FakeBroker::Request&) -> std::vector<FakeBroker::Answer> {
    return {{Cmd::kError, {{"req", 0}, {"ok", false}, {"code", "bad_request"}, {"message", "not a map"}}}};
  });
  Client client = ConnectTo(broker);
  auto r = client.Stats();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST(Client, ASilentBrokerGivesUnavailableWithinTheTimeout) {
  FakeBroker broker([](const FakeBroker::Request&) { return std::vector<FakeBroker::Answer>{}; });
  Client client = ConnectTo(broker, 200ms);
  const auto start = std::chrono::steady_clock::now();
  auto r = client.Status("j1");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("no answer"), std::string::npos) << r.status().message();
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 30s);  // bounded; never a hang
}

TEST(Client, NoBrokerAtAllGivesUnavailableWithinTheTimeout) {
  // Bind and close a port so that nothing listens there.
  std::string endpoint;
  {
    FakeBroker gone([](const FakeBroker::Request&) { return std::vector<FakeBroker::Answer>{}; });
    endpoint = gone.endpoint();
  }
  ClientOptions options;
  options.timeout = 200ms;
  auto client = Client::Connect(endpoint, options);
  ASSERT_TRUE(client.ok());
  auto r = client->Submit({proto::JobSpec{.kind = "exec"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
}

TEST(Client, ABadEndpointIsAnInvalidArgument) {
  auto c = Client::Connect("not an endpoint");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
}

TEST(Client, AReplyThatIsNotAMapIsAnErrorNotACrash) {
  FakeBroker broker([](const FakeBroker::Request& r) -> std::vector<FakeBroker::Answer> {
    if (r.body.value("id", "") == "garbage") return {{Cmd::kReply, json(std::string("\xc1\xc1\xc1"))}};
    return {FakeBroker::Reply(r, {{"job", "not a map"}})};
  });
  Client client = ConnectTo(broker, 1s);
  auto shape = client.Status("j1");
  ASSERT_FALSE(shape.ok());
  EXPECT_EQ(shape.status().code(), Code::kInternal);
  // Undecodable bytes carry no req we can match: the request times out.
  auto garbage = client.Status("garbage");
  ASSERT_FALSE(garbage.ok());
}

// Answers SUBMIT with ids j<n>, counting from 1 over all SUBMITs.
FakeBroker::Answer SubmitReply(const FakeBroker::Request& r, std::uint64_t* next_id) {
  json jobs = json::array();
  for (std::size_t i = 0; i < r.body["jobs"].size(); ++i)
    jobs.push_back({{"id", "j" + std::to_string((*next_id)++)}, {"created", true}, {"state", "queued"}});
  return FakeBroker::Reply(r, {{"jobs", std::move(jobs)}});
}

TEST(Client, SubmitSendsTheSpecsAndReturnsIdsInOrder) {
  std::uint64_t next_id = 1;
  FakeBroker broker([&](const FakeBroker::Request& r) -> std::vector<FakeBroker::Answer> {
    if (r.body["jobs"][0].value("key", "") == "dup")
      return {FakeBroker::Reply(r, {{"jobs", {{{"id", "j99"}, {"created", false}, {"state", "succeeded"}}}}})};
    return {SubmitReply(r, &next_id)};
  });
  Client client = ConnectTo(broker);
  proto::JobSpec a{.kind = "exec", .queue = "q1", .priority = 3, .max_attempts = 2,
                   .backoff_ms = 500, .timeout_ms = 1000, .delay_ms = 20, .key = "k1"};
  a.params = std::string("\x81\xa1" "a" "\x01", 4);  // {"a": 1}
  proto::JobSpec b{.kind = "test.noop"};
  auto ids = client.Submit({a, b});
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), 2u);
  EXPECT_EQ((*ids)[0].id, "j1");
  EXPECT_EQ((*ids)[1].id, "j2");
  EXPECT_TRUE((*ids)[0].created);
  EXPECT_EQ((*ids)[0].state, JobState::kQueued);

  auto requests = broker.requests();
  ASSERT_EQ(requests.size(), 1u);
  const json& spec = requests[0].body["jobs"][0];
  EXPECT_EQ(spec["kind"], "exec");
  EXPECT_EQ(spec["params"], (json{{"a", 1}}));
  EXPECT_EQ(spec["queue"], "q1");
  EXPECT_EQ(spec["priority"], 3);
  EXPECT_EQ(spec["max_attempts"], 2);
  EXPECT_EQ(spec["backoff_ms"], 500);
  EXPECT_EQ(spec["timeout_ms"], 1000);
  EXPECT_EQ(spec["delay_ms"], 20);
  EXPECT_EQ(spec["key"], "k1");

  auto dup = client.Submit({proto::JobSpec{.kind = "exec", .key = "dup"}});
  ASSERT_TRUE(dup.ok());
  EXPECT_FALSE((*dup)[0].created);
  EXPECT_EQ((*dup)[0].state, JobState::kSucceeded);
}

TEST(Client, AnInvalidSpecFailsBeforeAnythingIsSent) {
  // The broker answers only the fence below: a STATUS.
  FakeBroker broker([](const FakeBroker::Request& r) {
    std::vector<FakeBroker::Answer> out;
    if (r.command == proto::Command::kStatus) out.push_back(FakeBroker::Error(r, "not_found", "no such job"));
    return out;
  });
  Client client = ConnectTo(broker, 5s);
  auto r = client.Submit({proto::JobSpec{.kind = "ok"}, proto::JobSpec{.kind = "bad kind"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("jobs[1]: field 'kind'", 0), 0u) << r.status().message();
  EXPECT_TRUE(client.Submit({}).ok());
  // A fence: one connection's requests arrive in order, so once the STATUS
  // is answered anything sent before it has arrived too.
  EXPECT_FALSE(client.Status("j1").ok());
  const auto got = broker.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].command, proto::Command::kStatus);
}

TEST(Client, ALargeSubmitIsSplitIntoPipelinedSubmits) {
  // 25,001 jobs: SUBMITs of 10,000 + 10,000 + 5,001. The broker answers none
  // until it holds all three, so the client must send them before waiting;
  // it then answers them in reverse order.
  constexpr std::size_t kJobs = 2 * proto::kMaxJobsPerSubmit + 5001;
  std::vector<FakeBroker::Request> held;
  std::uint64_t next_id = 1;
  FakeBroker broker([&](const FakeBroker::Request& r) -> std::vector<FakeBroker::Answer> {
    held.push_back(r);
    if (held.size() < 3) return {};
    // Ids are assigned in submission order, answers sent in reverse.
    std::vector<FakeBroker::Answer> answers;
    for (const auto& h : held) answers.push_back(SubmitReply(h, &next_id));
    return {answers.rbegin(), answers.rend()};
  });
  Client client = ConnectTo(broker, 30s);
  std::vector<proto::JobSpec> specs(kJobs, proto::JobSpec{.kind = "test.noop"});
  for (std::size_t i = 0; i < kJobs; ++i) specs[i].key = "k" + std::to_string(i);
  auto ids = client.Submit(specs);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), kJobs);
  for (std::size_t i = 0; i < kJobs; i += 997) EXPECT_EQ((*ids)[i].id, "j" + std::to_string(i + 1));
  EXPECT_EQ(ids->back().id, "j" + std::to_string(kJobs));

  auto requests = broker.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].body["jobs"].size(), proto::kMaxJobsPerSubmit);
  EXPECT_EQ(requests[1].body["jobs"].size(), proto::kMaxJobsPerSubmit);
  EXPECT_EQ(requests[2].body["jobs"].size(), 5001u);
  EXPECT_EQ(requests[1].body["jobs"][0]["key"], "k10000");
  EXPECT_EQ(requests[2].body["jobs"][5000]["key"], "k" + std::to_string(kJobs - 1));
}

TEST(Client, AFailedBatchOfASplitSubmitSaysWhatWasSubmitted) {
  std::uint64_t next_id = 1;
  int submits = 0;
  FakeBroker broker([&](const FakeBroker::Request& r) -> std::vector<FakeBroker::Answer> {
    if (++submits == 2) return {FakeBroker::Error(r, "internal", "disk full")};
    return {SubmitReply(r, &next_id)};
  });
  ClientOptions options;
  options.timeout = 30s;
  options.submit_window = 1;  // one at a time: batch 3 is never sent
  auto client = Client::Connect(broker.endpoint(), options);
  ASSERT_TRUE(client.ok());
  std::vector<proto::JobSpec> specs(3 * proto::kMaxJobsPerSubmit, proto::JobSpec{.kind = "x"});
  auto r = client->Submit(specs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
  EXPECT_EQ(r.status().message(),
            "internal: disk full (submitting jobs[10000..19999]; 10000 of 30000 jobs were "
            "confirmed submitted)");
  EXPECT_EQ(broker.count(Cmd::kSubmit), 2u);
}

TEST(Client, RunCallsSendTheirCommandsAndTakeTheirField) {
  FakeBroker broker([](const FakeBroker::Request& r) -> std::vector<FakeBroker::Answer> {
    const json run = {{"id", "r3"}, {"state", "running"}};
    const json entry = {{"workflow", "w"}, {"paused", r.command == Cmd::kPause}};
    switch (r.command) {
      case Cmd::kRun:
      case Cmd::kStatus:
      case Cmd::kCancelJob: return {FakeBroker::Reply(r, {{"run", run}})};
      case Cmd::kRuns: return {FakeBroker::Reply(r, {{"runs", {run}}})};
      case Cmd::kSchedules: return {FakeBroker::Reply(r, {{"schedules", {entry}}})};
      case Cmd::kPause:
      case Cmd::kResume: return {FakeBroker::Reply(r, {{"schedule", entry}})};
      case Cmd::kReload: return {FakeBroker::Reply(r, {{"workflows", 2}, {"path", "/w.toml"}})};
      default: return {};
    }
  });
  Client client = ConnectTo(broker);
  auto run = client.Run("w", {{"date", "2024-05-01"}});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->id, "r3");
  EXPECT_EQ((*client.Runs("w", "running", 7))[0].id, "r3");
  EXPECT_EQ((*client.Runs("", "", 0)).size(), 1u);
  EXPECT_EQ(client.RunStatus("r3")->state, "running");
  EXPECT_EQ(client.CancelRun("r3")->id, "r3");
  EXPECT_EQ((*client.Schedules())[0].workflow, "w");
  EXPECT_EQ(client.Pause("w")->paused, true);
  EXPECT_EQ(client.Resume("w")->paused, false);
  EXPECT_EQ(proto::ToJson(*client.Reload()), (json{{"workflows", 2}, {"path", "/w.toml"}}));

  auto reqs = broker.requests();
  ASSERT_EQ(reqs.size(), 9u);
  EXPECT_EQ(reqs[0].command, Cmd::kRun);
  EXPECT_EQ(reqs[0].body["workflow"], "w");
  EXPECT_EQ(reqs[0].body["params"], (json{{"date", "2024-05-01"}}));
  EXPECT_EQ(reqs[1].command, Cmd::kRuns);
  EXPECT_EQ(reqs[1].body["workflow"], "w");
  EXPECT_EQ(reqs[1].body["state"], "running");
  EXPECT_EQ(reqs[1].body["limit"], 7);
  EXPECT_FALSE(reqs[2].body.contains("workflow"));
  EXPECT_FALSE(reqs[2].body.contains("limit"));
  EXPECT_EQ(reqs[3].command, Cmd::kStatus);
  EXPECT_EQ(reqs[3].body["id"], "r3");
  EXPECT_EQ(reqs[4].command, Cmd::kCancelJob);
  EXPECT_EQ(reqs[4].body["id"], "r3");
  EXPECT_EQ(reqs[5].command, Cmd::kSchedules);
  EXPECT_EQ(reqs[6].command, Cmd::kPause);
  EXPECT_EQ(reqs[6].body["workflow"], "w");
  EXPECT_EQ(reqs[7].command, Cmd::kResume);
  EXPECT_EQ(reqs[8].command, Cmd::kReload);
}

TEST(Client, ARunReplyWithoutItsFieldIsAnError) {
  FakeBroker broker([](const FakeBroker::Request& r) -> std::vector<FakeBroker::Answer> {
    // A job where a run is expected (an old broker), and a RELOAD with no count.
    if (r.command == Cmd::kStatus) return {FakeBroker::Reply(r, {{"job", {{"id", "r1"}}}})};
    return {FakeBroker::Reply(r, {{"path", "/w.toml"}})};
  });
  Client client = ConnectTo(broker);
  auto run = client.RunStatus("r1");
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), Code::kInternal);
  EXPECT_EQ(run.status().message(), "the broker's STATUS reply has no 'run' map");
  auto reload = client.Reload();
  ASSERT_FALSE(reload.ok());
  EXPECT_EQ(reload.status().code(), Code::kInternal);
}

TEST(Client, AMovedClientStillWorks) {
  FakeBroker broker([](const FakeBroker::Request& r) -> std::vector<FakeBroker::Answer> {
    return {FakeBroker::Reply(r, {{"stats", json::object()}})};
  });
  Client a = ConnectTo(broker);
  Client b = std::move(a);
  EXPECT_TRUE(b.Stats().ok());
}

}  // namespace
}  // namespace sluice
