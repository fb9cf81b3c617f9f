// The worker's side of PROTOCOL.md §5, against a fake broker: a Worker runs
// in-process on its own thread; the test plays the broker on a ROUTER.
// Deadlines are generous (a loaded machine is slow) and only upper bounds
// on waiting; nothing asserts a speed.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "fake_broker.h"
#include "handler_harness.h"
#include "workers/worker.h"

namespace sluice::worker {
namespace {

using namespace std::chrono_literals;
using testing::DecodeReady;
using testing::DecodeResult;
using testing::FakeBroker;
using testing::Params;
using testing::Received;
using proto::Command;

constexpr auto kProtocolWait = 20s;  // the most any single expected message may take

WorkerOptions TestOptions(const FakeBroker& broker) {
  WorkerOptions o;
  o.broker = broker.endpoint();
  o.worker_id = "w-test";
  o.slots = 2;
  o.heartbeat = 200ms;
  o.grace = 30s;
  o.ack_wait = 5s;
  return o;
}

// A Worker running on its own thread; stopped (hard) and joined on scope exit.
class RunningWorker {
 public:
  explicit RunningWorker(WorkerOptions options)
      : worker_(std::move(options), &stop_), thread_([this] { exit_code_ = worker_.Run(); }) {}
  ~RunningWorker() { Stop(3); }
  // Sends `requests` stop requests (1: drain, 2: return running jobs, 3: don't wait for ACKs).
  void RequestStop(int requests = 1) {
    for (int i = 0; i < requests; ++i) stop_.Request();
  }
  // Waits for Run() to return; its exit code.
  int Join() {
    if (thread_.joinable()) thread_.join();
    return exit_code_;
  }

 private:
  void Stop(int requests) {
    if (!thread_.joinable()) return;
    RequestStop(requests);
    thread_.join();
  }
  StopRequests stop_;
  Worker worker_;
  int exit_code_ = -1;
  std::thread thread_;
};

// Waits for the RESULT of `job`, skipping other messages.
std::optional<proto::JobResult> ResultFor(FakeBroker& broker, const std::string& job,
                                          std::chrono::milliseconds timeout = kProtocolWait) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    auto m = broker.ReceiveCommand(Command::kResult, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                         end - std::chrono::steady_clock::now()));
    if (!m) return std::nullopt;
    proto::JobResult r = DecodeResult(*m);
    if (r.job == job) return r;
  }
  return std::nullopt;
}

TEST(WorkerProtocol, ReadyAnnouncesTheWorker) {
  FakeBroker broker;
  WorkerOptions o = TestOptions(broker);
  o.slots = 3;
  o.queues = {"a", "b"};
  RunningWorker w(o);
  auto m = broker.ReceiveCommand(Command::kReady, kProtocolWait);
  ASSERT_TRUE(m);
  proto::Ready ready = DecodeReady(*m);
  EXPECT_EQ(ready.worker, "w-test");
  EXPECT_EQ(ready.pid, ::getpid());
  EXPECT_FALSE(ready.host.empty());
  EXPECT_EQ(ready.queues, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ready.slots, 3u);
  EXPECT_EQ(ready.heartbeat_ms, 200u);
  EXPECT_EQ(ready.version, kWorkerVersion);
  EXPECT_TRUE(ready.running.empty());
  EXPECT_NE(std::find(ready.kinds.begin(), ready.kinds.end(), "test.noop"), ready.kinds.end());
  EXPECT_EQ(std::find(ready.kinds.begin(), ready.kinds.end(), "exec"), ready.kinds.end())
      << "exec must not be announced without --allow-exec";
}

TEST(WorkerProtocol, ExecIsAnnouncedWithAllowExec) {
  FakeBroker broker;
  WorkerOptions o = TestOptions(broker);
  o.allow_exec = true;
  RunningWorker w(o);
  auto m = broker.ReceiveCommand(Command::kReady, kProtocolWait);
  ASSERT_TRUE(m);
  proto::Ready ready = DecodeReady(*m);
  EXPECT_NE(std::find(ready.kinds.begin(), ready.kinds.end(), "exec"), ready.kinds.end());
}

TEST(WorkerProtocol, RunsJobsAndReportsResults) {
  FakeBroker broker;
  RunningWorker w(TestOptions(broker));
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 1, "test.noop", Params("{}"));
  broker.SendJob(broker.peer(), "j2", 1, "test.fail", Params(R"({"succeed_on": 2})"));
  broker.SendJob(broker.peer(), "j3", 1, "test.sleep", Params(R"({"ms": 10})"));
  auto r1 = ResultFor(broker, "j1");
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->outcome, Outcome::kSucceeded);
  EXPECT_EQ(r1->attempt, 1u);
  auto r2 = ResultFor(broker, "j2");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->outcome, Outcome::kFailed);
  EXPECT_TRUE(r2->retryable);
  EXPECT_EQ(r2->error, "test.fail: attempt 1 < succeed_on 2");
  auto r3 = ResultFor(broker, "j3");
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->outcome, Outcome::kSucceeded) << r3->error;
}

TEST(WorkerProtocol, HeartbeatsWhenIdle) {
  FakeBroker broker;
  RunningWorker w(TestOptions(broker));
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  auto hb = broker.ReceiveCommand(Command::kHeartbeat, kProtocolWait);
  ASSERT_TRUE(hb);
  proto::Heartbeat beat;
  ASSERT_TRUE(proto::Decode(hb->body, &beat).ok());
  EXPECT_FALSE(beat.slots.has_value()) << "a serving worker's heartbeat does not change its slots";
}

TEST(WorkerProtocol, ResendsUnackedResultsAfterTheBrokerGoesSilent) {
  FakeBroker broker;
  RunningWorker w(TestOptions(broker));
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  const std::string first_peer = broker.peer();
  broker.SendJob(first_peer, "j1", 1, "test.noop", Params("{}"));
  broker.SendJob(first_peer, "j2", 1, "test.noop", Params("{}"));
  ASSERT_TRUE(ResultFor(broker, "j1"));
  ASSERT_TRUE(ResultFor(broker, "j2"));
  broker.SendAck(first_peer, {{"j1", 1}});

  broker.set_silent(true);  // no more heartbeats: after 3 intervals the worker gives up on us
  auto ready = broker.ReceiveCommand(Command::kReady, kProtocolWait);
  ASSERT_TRUE(ready) << "the worker did not reconnect";
  EXPECT_NE(ready->peer, first_peer) << "a reconnect uses a new socket";
  broker.set_silent(false);

  std::set<std::string> resent;
  auto m = broker.ReceiveCommand(Command::kResult, kProtocolWait);
  ASSERT_TRUE(m);
  resent.insert(DecodeResult(*m).job);
  broker.seen = [&](const Received& r) {
    if (r.command == Command::kResult) resent.insert(DecodeResult(r).job);
  };
  // The fence: the worker re-sends its results in one go, so its next
  // HEARTBEAT comes after all of them.
  ASSERT_TRUE(broker.ReceiveCommand(Command::kHeartbeat, kProtocolWait));
  broker.seen = nullptr;
  EXPECT_EQ(resent, (std::set<std::string>{"j2"})) << "only the unacked result is re-sent";
}

TEST(WorkerProtocol, ResendsUnackedResultsToARestartedBroker) {
  auto broker = std::make_unique<FakeBroker>();
  const int port = broker->port();
  RunningWorker w(TestOptions(*broker));
  ASSERT_TRUE(broker->ReceiveCommand(Command::kReady, kProtocolWait));
  broker->SendJob(broker->peer(), "j1", 1, "test.noop", Params("{}"));
  ASSERT_TRUE(ResultFor(*broker, "j1"));

  broker.reset();  // the broker dies without ACKing ...
  broker = std::make_unique<FakeBroker>(port);  // ... and comes back on the same port, knowing nobody
  broker->set_silent(true);
  Received m;
  // Like the real broker: anything but READY from an unknown connection
  // gets ERROR unknown_worker (or the worker times us out: either way, READY).
  for (auto end = std::chrono::steady_clock::now() + kProtocolWait; std::chrono::steady_clock::now() < end;) {
    auto r = broker->Receive(1s);
    if (!r) continue;
    m = *r;
    if (m.command == Command::kReady) break;
    proto::ErrorMsg e{0, std::string(proto::err::kUnknownWorker), "who are you?"};
    std::string body;
    proto::Encode(e, &body);
    broker->Send(m.peer, Command::kError, body);
  }
  ASSERT_EQ(m.command, Command::kReady);
  auto r = broker->ReceiveCommand(Command::kResult, kProtocolWait);
  ASSERT_TRUE(r);
  EXPECT_EQ(DecodeResult(*r).job, "j1");
}

TEST(WorkerProtocol, UnknownWorkerErrorGetsReadyAndResultsAgain) {
  FakeBroker broker;
  RunningWorker w(TestOptions(broker));
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 1, "test.noop", Params("{}"));
  ASSERT_TRUE(ResultFor(broker, "j1"));
  std::this_thread::sleep_for(250ms);  // past the worker's "just sent READY" window
  proto::ErrorMsg e{0, std::string(proto::err::kUnknownWorker), "restarted"};
  std::string body;
  proto::Encode(e, &body);
  broker.Send(broker.peer(), Command::kError, body);
  auto ready = broker.ReceiveCommand(Command::kReady, kProtocolWait);
  ASSERT_TRUE(ready);
  auto r = broker.ReceiveCommand(Command::kResult, kProtocolWait);
  ASSERT_TRUE(r);
  EXPECT_EQ(DecodeResult(*r).job, "j1");
}

TEST(WorkerProtocol, BrokerByeMakesTheWorkerReconnectKeepingResults) {
  FakeBroker broker;
  RunningWorker w(TestOptions(broker));
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  const std::string first_peer = broker.peer();
  broker.SendJob(first_peer, "j1", 1, "test.noop", Params("{}"));
  ASSERT_TRUE(ResultFor(broker, "j1"));
  std::string body;
  proto::Encode(proto::Bye{"broker restarting"}, &body);
  broker.Send(first_peer, Command::kBye, body);
  auto ready = broker.ReceiveCommand(Command::kReady, kProtocolWait);
  ASSERT_TRUE(ready);
  EXPECT_NE(ready->peer, first_peer);
  auto r = broker.ReceiveCommand(Command::kResult, kProtocolWait);
  ASSERT_TRUE(r);
  EXPECT_EQ(DecodeResult(*r).job, "j1");
}

TEST(WorkerProtocol, ReadyAfterAReconnectListsRunningAttempts) {
  FakeBroker broker;
  RunningWorker w(TestOptions(broker));
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j7", 3, "test.sleep", Params(R"({"ms": 600000})"));
  broker.Pump(100ms);
  broker.set_silent(true);
  auto ready = broker.ReceiveCommand(Command::kReady, kProtocolWait);
  ASSERT_TRUE(ready);
  proto::Ready r = DecodeReady(*ready);
  ASSERT_EQ(r.running.size(), 1u);
  EXPECT_EQ(r.running[0].job, "j7");
  EXPECT_EQ(r.running[0].attempt, 3u);
}

TEST(WorkerProtocol, NeverRunsMoreBlockingJobsThanSlots) {
  FakeBroker broker;
  WorkerOptions o = TestOptions(broker);  // 2 slots
  o.prefetch = 0;                         // --prefetch 0: nothing waits here
  o.adaptive = false;
  RunningWorker w(o);
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  for (const char* job : {"j1", "j2", "j3", "j4"})
    broker.SendJob(broker.peer(), job, 1, "test.sleep", Params(R"({"ms": 1500})"));
  // While two sleep, an inline job still runs: it takes no slot.
  broker.SendJob(broker.peer(), "n1", 1, "test.noop", Params("{}"));

  std::vector<proto::JobResult> results;
  while (results.size() < 5) {
    auto m = broker.ReceiveCommand(Command::kResult, kProtocolWait);
    ASSERT_TRUE(m) << "only " << results.size() << " results arrived";
    results.push_back(DecodeResult(*m));
  }
  // The two over the limit were handed back at once, before any sleep ended.
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(results[i].job == "j3" || results[i].job == "j4") << results[i].job;
    EXPECT_EQ(results[i].outcome, Outcome::kReturned);
    EXPECT_NE(results[i].error.find("no free slot"), std::string::npos) << results[i].error;
  }
  EXPECT_EQ(results[2].job, "n1");
  EXPECT_EQ(results[2].outcome, Outcome::kSucceeded);
  for (int i = 3; i < 5; ++i) {
    EXPECT_TRUE(results[i].job == "j1" || results[i].job == "j2") << results[i].job;
    EXPECT_EQ(results[i].outcome, Outcome::kSucceeded) << results[i].error;
  }
  // The slots are free again.
  broker.SendJob(broker.peer(), "j5", 1, "test.sleep", Params(R"({"ms": 1})"));
  auto r5 = ResultFor(broker, "j5");
  ASSERT_TRUE(r5);
  EXPECT_EQ(r5->outcome, Outcome::kSucceeded);
}

TEST(WorkerProtocol, PrefetchedJobsWaitForASlotInOrder) {
  FakeBroker broker;
  WorkerOptions o = TestOptions(broker);
  o.slots = 1;
  o.prefetch = 2;
  o.adaptive = false;
  RunningWorker w(o);
  auto ready = broker.ReceiveCommand(Command::kReady, kProtocolWait);
  ASSERT_TRUE(ready);
  EXPECT_EQ(DecodeReady(*ready).prefetch, 2u);
  for (const char* job : {"j1", "j2", "j3", "j4", "j5"})
    broker.SendJob(broker.peer(), job, 1, "test.sleep", Params(R"({"ms": 300})"));
  broker.SendCancel(broker.peer(), "j3", 1);  // still waiting (j1 sleeps): never starts
  std::vector<proto::JobResult> results;
  while (results.size() < 5) {
    auto m = broker.ReceiveCommand(Command::kResult, kProtocolWait);
    ASSERT_TRUE(m) << "only " << results.size() << " results arrived";
    results.push_back(DecodeResult(*m));
  }
  // Beyond 1 slot + 2 prefetched: j4 and j5 handed back at once; then the
  // cancelled j3; then j1 and j2 in the order they came.
  EXPECT_EQ(results[0].job, "j4");
  EXPECT_EQ(results[0].outcome, Outcome::kReturned);
  EXPECT_EQ(results[1].job, "j5");
  EXPECT_EQ(results[2].job, "j3");
  EXPECT_EQ(results[2].outcome, Outcome::kCancelled);
  EXPECT_EQ(results[3].job, "j1");
  EXPECT_EQ(results[3].outcome, Outcome::kSucceeded) << results[3].error;
  EXPECT_EQ(results[4].job, "j2");
  EXPECT_EQ(results[4].outcome, Outcome::kSucceeded) << results[4].error;
}

TEST(WorkerProtocol, RecallHandsBackOnlyTheJobsStillWaiting) {
  FakeBroker broker;
  WorkerOptions o = TestOptions(broker);
  o.slots = 1;  // adaptive prefetch, the default
  RunningWorker w(o);
  auto ready = broker.ReceiveCommand(Command::kReady, kProtocolWait);
  ASSERT_TRUE(ready);
  EXPECT_TRUE(DecodeReady(*ready).adaptive);
  EXPECT_EQ(DecodeReady(*ready).prefetch, sluice::worker::kAdaptivePrefetch);
  for (const char* job : {"j1", "j2", "j3"})
    broker.SendJob(broker.peer(), job, 1, "test.sleep", Params(R"({"ms": 300})"));
  // j1 runs, j2 and j3 wait; j9 is unknown, j1 has started: both stay.
  proto::RecallMsg recall{{{"j1", 1}, {"j3", 1}, {"j9", 1}}};
  std::string body;
  proto::Encode(recall, &body);
  broker.Send(broker.peer(), Command::kRecall, body);
  std::vector<proto::JobResult> results;
  while (results.size() < 3) {
    auto m = broker.ReceiveCommand(Command::kResult, kProtocolWait);
    ASSERT_TRUE(m) << "only " << results.size() << " results arrived";
    results.push_back(DecodeResult(*m));
  }
  EXPECT_EQ(results[0].job, "j3");
  EXPECT_EQ(results[0].outcome, Outcome::kReturned);
  EXPECT_EQ(results[1].job, "j1");
  EXPECT_EQ(results[1].outcome, Outcome::kSucceeded) << results[1].error;
  EXPECT_EQ(results[2].job, "j2");
  EXPECT_EQ(results[2].outcome, Outcome::kSucceeded) << results[2].error;
}

TEST(WorkerProtocol, AFixedPrefetchIsNotAdaptive) {
  FakeBroker broker;
  WorkerOptions o = TestOptions(broker);
  o.prefetch = 3;
  o.adaptive = false;
  RunningWorker w(o);
  auto ready = broker.ReceiveCommand(Command::kReady, kProtocolWait);
  ASSERT_TRUE(ready);
  EXPECT_FALSE(DecodeReady(*ready).adaptive);
  EXPECT_EQ(DecodeReady(*ready).prefetch, 3u);
}

TEST(WorkerProtocol, DrainingHandsPrefetchedJobsBackAtOnce) {
  FakeBroker broker;
  WorkerOptions o = TestOptions(broker);
  o.slots = 1;
  o.prefetch = 1;
  RunningWorker w(o);
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 1, "test.sleep", Params(R"({"ms": 1000})"));
  broker.SendJob(broker.peer(), "j2", 1, "test.sleep", Params(R"({"ms": 1000})"));
  broker.Pump(200ms);
  w.RequestStop(1);
  auto r2 = ResultFor(broker, "j2");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->outcome, Outcome::kReturned);
  auto r1 = ResultFor(broker, "j1");
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->outcome, Outcome::kSucceeded) << "the running job finishes within the grace";
}

TEST(WorkerProtocol, CancelStopsASleep) {
  FakeBroker broker;
  RunningWorker w(TestOptions(broker));
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 2, "test.sleep", Params(R"({"ms": 600000})"));
  broker.Pump(200ms);
  broker.SendCancel(broker.peer(), "j1", 1);  // another attempt: ignored
  broker.SendCancel(broker.peer(), "j9", 2);  // unknown: ignored
  broker.SendCancel(broker.peer(), "j1", 2);
  auto r = ResultFor(broker, "j1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attempt, 2u);
  EXPECT_EQ(r->outcome, Outcome::kCancelled) << r->error;
}

TEST(WorkerProtocol, JobTimeoutStopsASleep) {
  FakeBroker broker;
  RunningWorker w(TestOptions(broker));
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 1, "test.sleep", Params(R"({"ms": 600000})"), /*timeout_ms=*/200);
  auto r = ResultFor(broker, "j1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, Outcome::kTimedOut) << r->error;
}

TEST(WorkerProtocol, UnknownKindFailsWithoutRetry) {
  FakeBroker broker;
  RunningWorker w(TestOptions(broker));
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 1, "no.such.kind", Params("{}"));
  auto r = ResultFor(broker, "j1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, Outcome::kFailed);
  EXPECT_FALSE(r->retryable);
  EXPECT_NE(r->error.find("'no.such.kind'"), std::string::npos) << r->error;
}

TEST(WorkerProtocol, ExecIsRefusedWithoutAllowExec) {
  FakeBroker broker;
  RunningWorker w(TestOptions(broker));
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 1, "exec", Params(R"({"command": "touch", "args": ["/tmp/sluice-must-not-exist"]})"));
  auto r = ResultFor(broker, "j1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, Outcome::kFailed);
  EXPECT_FALSE(r->retryable);
  EXPECT_NE(r->error.find("--allow-exec"), std::string::npos) << r->error;
  EXPECT_FALSE(std::filesystem::exists("/tmp/sluice-must-not-exist"));
}

TEST(WorkerProtocol, ExecRunsWithAllowExec) {
  FakeBroker broker;
  WorkerOptions o = TestOptions(broker);
  o.allow_exec = true;
  RunningWorker w(o);
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 1, "exec", Params(R"({"command": "sh", "args": ["-c", "echo hi; exit 4"]})"));
  auto r = ResultFor(broker, "j1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, Outcome::kFailed);
  ASSERT_TRUE(r->exit_code);
  EXPECT_EQ(*r->exit_code, 4);
  EXPECT_EQ(r->stdout_tail, "hi\n");
}

TEST(WorkerProtocol, BadParamsFailWithoutRetry) {
  FakeBroker broker;
  RunningWorker w(TestOptions(broker));
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 1, "test.sleep", Params(R"({"ms": "soon"})"));
  auto r = ResultFor(broker, "j1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, Outcome::kFailed);
  EXPECT_FALSE(r->retryable);
  EXPECT_NE(r->error.find("'ms'"), std::string::npos) << r->error;
}

TEST(WorkerProtocol, AMalformedJobThatNamesItsAttemptIsAnswered) {
  FakeBroker broker;
  RunningWorker w(TestOptions(broker));
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  // {job: "j1", attempt: 1, kind: "bad kind!"}: the kind is not a name.
  std::string body = Params(R"({"job": "j1", "attempt": 1, "kind": "bad kind!"})");
  broker.Send(broker.peer(), Command::kJob, body);
  auto r = ResultFor(broker, "j1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, Outcome::kFailed);
  EXPECT_FALSE(r->retryable);
  EXPECT_NE(r->error.find("'kind'"), std::string::npos) << r->error;
  // params that are not a map
  broker.Send(broker.peer(), Command::kJob, Params(R"({"job": "j2", "attempt": 1, "kind": "test.noop", "params": [1]})"));
  auto r2 = ResultFor(broker, "j2");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->outcome, Outcome::kFailed);
  EXPECT_NE(r2->error.find("'params'"), std::string::npos) << r2->error;
}

TEST(WorkerProtocol, GarbageIsDroppedAndTheWorkerCarriesOn) {
  FakeBroker broker;
  RunningWorker w(TestOptions(broker));
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  const std::string peer = broker.peer();
  broker.SendFrames(peer, {"hello"});
  broker.SendFrames(peer, {"a", "b", "c", "d", "e"});
  broker.SendFrames(peer, {"SLUICE2", std::string(1, '\x05'), Params("{}")});
  broker.SendFrames(peer, {"SLUICE1", std::string(1, '\x99')});
  broker.SendFrames(peer, {"SLUICE1", "JOB"});
  broker.Send(peer, Command::kJob, "\xc1");                     // not msgpack
  broker.Send(peer, Command::kJob, Params(R"({"attempt": 1})"));  // no job id: cannot be answered
  broker.Send(peer, Command::kJob, {});                          // no body at all
  broker.Send(peer, Command::kAck, Params(R"({"acks": 5})"));
  broker.Send(peer, Command::kCancel, "\x80");
  broker.Send(peer, Command::kSubmit, Params(R"({"req": 1})"));  // wrong direction
  broker.Send(peer, Command::kError, "junk");
  broker.SendJob(peer, "ok", 1, "test.noop", Params("{}"));
  auto m = broker.ReceiveCommand(Command::kResult, kProtocolWait);
  ASSERT_TRUE(m);
  proto::JobResult r = DecodeResult(*m);
  EXPECT_EQ(r.job, "ok") << "nothing before it deserved a RESULT";
  EXPECT_EQ(r.outcome, Outcome::kSucceeded);
}

TEST(WorkerProtocol, ARepeatedJobIsNotRunTwice) {
  FakeBroker broker;
  // One slot and a local queue: whatever the worker starts after j1 waits
  // for the slot in the order it came, so the fence job's RESULT comes after
  // the duplicate's, had the duplicate been run.
  WorkerOptions o = TestOptions(broker);
  o.slots = 1;
  o.prefetch = 4;
  RunningWorker w(o);
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 1, "test.sleep", Params(R"({"ms": 300})"));
  broker.SendJob(broker.peer(), "j1", 1, "test.sleep", Params(R"({"ms": 300})"));  // while running
  broker.SendJob(broker.peer(), "fence", 1, "test.sleep", Params(R"({"ms": 1})"));
  auto first = broker.ReceiveCommand(Command::kResult, kProtocolWait);
  ASSERT_TRUE(first);
  EXPECT_EQ(DecodeResult(*first).job, "j1");
  EXPECT_EQ(DecodeResult(*first).outcome, Outcome::kSucceeded);
  auto next = broker.ReceiveCommand(Command::kResult, kProtocolWait);
  ASSERT_TRUE(next);
  EXPECT_EQ(DecodeResult(*next).job, "fence") << "the duplicate JOB ran a second time";
  // Once finished but not ACKed, the same JOB gets the same RESULT back.
  broker.SendJob(broker.peer(), "j1", 1, "test.sleep", Params(R"({"ms": 300})"));
  auto again = broker.ReceiveCommand(Command::kResult, kProtocolWait);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, first->body);
}

TEST(WorkerProtocol, StopRequestDrainsReturnsAndSaysBye) {
  FakeBroker broker;
  WorkerOptions o = TestOptions(broker);
  o.grace = 1500ms;
  RunningWorker w(o);
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "short", 1, "test.sleep", Params(R"({"ms": 300})"));
  broker.SendJob(broker.peer(), "long", 1, "test.sleep", Params(R"({"ms": 600000})"));
  broker.Pump(100ms);
  w.RequestStop();

  // First: slots 0.
  for (auto end = std::chrono::steady_clock::now() + kProtocolWait;;) {
    ASSERT_LT(std::chrono::steady_clock::now(), end) << "no HEARTBEAT {slots: 0}";
    auto hb = broker.ReceiveCommand(Command::kHeartbeat, kProtocolWait);
    ASSERT_TRUE(hb);
    proto::Heartbeat beat;
    ASSERT_TRUE(proto::Decode(hb->body, &beat).ok());
    if (beat.slots == 0u) break;
  }
  // A JOB while draining is handed back at once.
  broker.SendJob(broker.peer(), "late", 1, "test.noop", Params("{}"));

  std::map<std::string, proto::JobResult> results;
  while (results.size() < 3) {
    auto m = broker.ReceiveCommand(Command::kResult, kProtocolWait);
    ASSERT_TRUE(m) << "got " << results.size() << " results";
    proto::JobResult r = DecodeResult(*m);
    results[r.job] = r;
    broker.SendAck(broker.peer(), {{r.job, r.attempt}});
  }
  EXPECT_EQ(results["late"].outcome, Outcome::kReturned);
  EXPECT_EQ(results["short"].outcome, Outcome::kSucceeded) << "it fit in the grace period";
  EXPECT_EQ(results["long"].outcome, Outcome::kReturned);
  EXPECT_TRUE(results["long"].retryable);

  ASSERT_TRUE(broker.ReceiveCommand(Command::kBye, kProtocolWait));
  EXPECT_EQ(w.Join(), 0);
}

TEST(WorkerProtocol, ShutdownWaitsForAcksOnlySoLong) {
  FakeBroker broker;
  WorkerOptions o = TestOptions(broker);
  o.ack_wait = 500ms;
  RunningWorker w(o);
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 1, "test.noop", Params("{}"));
  ASSERT_TRUE(ResultFor(broker, "j1"));
  w.RequestStop();
  ASSERT_TRUE(broker.ReceiveCommand(Command::kBye, kProtocolWait)) << "no BYE without ACKs";
  EXPECT_EQ(w.Join(), 0);
}

TEST(WorkerProtocol, ASecondStopRequestReturnsRunningJobsAtOnce) {
  FakeBroker broker;
  WorkerOptions o = TestOptions(broker);
  o.grace = 3600s;
  RunningWorker w(o);
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 1, "test.sleep", Params(R"({"ms": 600000})"));
  broker.Pump(100ms);
  w.RequestStop(2);
  auto r = ResultFor(broker, "j1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, Outcome::kReturned);
  broker.SendAck(broker.peer(), {{"j1", 1}});
  ASSERT_TRUE(broker.ReceiveCommand(Command::kBye, kProtocolWait));
  EXPECT_EQ(w.Join(), 0);
}

// A RESULT the broker refuses as bad_request (its ERROR names the job and
// attempt) will be refused again: the worker stops re-sending it.
TEST(WorkerProtocol, AResultRefusedAsBadRequestIsNotSentAgain) {
  FakeBroker broker;
  RunningWorker w(TestOptions(broker));
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 1, "test.noop", Params("{}"));
  ASSERT_TRUE(ResultFor(broker, "j1"));
  // Raw, as PROTOCOL.md §4 writes it.
  const std::vector<std::uint8_t> refused = nlohmann::json::to_msgpack(
      {{"req", 0}, {"ok", false}, {"code", "bad_request"}, {"message", "RESULT: field 'outputs' is bad"},
       {"job", "j1"}, {"attempt", 1}});
  broker.Send(broker.peer(), Command::kError, std::string(refused.begin(), refused.end()));
  std::string body;
  std::this_thread::sleep_for(250ms);  // past the worker's "just sent READY" window
  proto::ErrorMsg unknown{0, std::string(proto::err::kUnknownWorker), "restarted"};
  body.clear();
  proto::Encode(unknown, &body);
  broker.Send(broker.peer(), Command::kError, body);
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  // After READY come the unacknowledged RESULTs, then the answer to a new
  // JOB (the fence): j1 must not be among them.
  broker.SendJob(broker.peer(), "j2", 1, "test.noop", Params("{}"));
  std::vector<std::string> results;
  for (auto end = std::chrono::steady_clock::now() + kProtocolWait; std::chrono::steady_clock::now() < end;) {
    auto m = broker.ReceiveCommand(Command::kResult, 1s);
    if (!m) continue;
    results.push_back(DecodeResult(*m).job);
    if (results.back() == "j2") break;
  }
  ASSERT_FALSE(results.empty());
  EXPECT_EQ(results.back(), "j2");
  EXPECT_EQ(std::count(results.begin(), results.end(), "j1"), 0);
}

// Jobs run on while the broker is away; their results reach it when it is
// back (the worker keeps them until ACKed).
TEST(WorkerProtocol, AJobFinishedDuringAnOutageIsReportedWhenTheBrokerIsBack) {
  auto broker = std::make_unique<FakeBroker>();
  const int port = broker->port();
  WorkerOptions o = TestOptions(*broker);
  o.heartbeat = 100ms;
  RunningWorker w(o);
  ASSERT_TRUE(broker->ReceiveCommand(Command::kReady, kProtocolWait));
  broker->SendJob(broker->peer(), "j1", 1, "test.sleep", Params(R"({"ms": 700})"));
  broker->Pump(100ms);
  broker.reset();  // gone while j1 runs, for longer than several reconnects
  std::this_thread::sleep_for(1500ms);
  broker = std::make_unique<FakeBroker>(port);
  std::optional<proto::JobResult> result;
  for (auto end = std::chrono::steady_clock::now() + kProtocolWait;
       !result && std::chrono::steady_clock::now() < end;) {
    auto m = broker->Receive(1s);
    if (!m) continue;
    if (m->command == Command::kResult) {
      result = DecodeResult(*m);
    } else if (m->command != Command::kReady) {
      // Like the real broker: a stranger's HEARTBEAT gets unknown_worker.
      broker->SendError(m->peer, proto::err::kUnknownWorker, "who are you?");
    }
  }
  ASSERT_TRUE(result);
  EXPECT_EQ(result->job, "j1");
  EXPECT_EQ(result->outcome, Outcome::kSucceeded) << result->error;
}

// A broker that never answers: every further connection waits longer
// (base 300 ms here: 300, 300, 600, 1200 ms between READYs, + jitter).
// Lower bounds only, with room for a slow connect.
TEST(WorkerProtocol, ReconnectsBackOffWhileTheBrokerIsSilent) {
  FakeBroker broker;
  broker.set_silent(true);
  WorkerOptions o = TestOptions(broker);
  o.heartbeat = 100ms;
  RunningWorker w(o);
  std::vector<std::chrono::steady_clock::time_point> readies;
  std::set<std::string> peers;
  while (readies.size() < 5) {
    auto m = broker.ReceiveCommand(Command::kReady, kProtocolWait);
    ASSERT_TRUE(m) << "only " << readies.size() << " READYs";
    readies.push_back(std::chrono::steady_clock::now());
    peers.insert(m->peer);
  }
  EXPECT_EQ(peers.size(), 5u) << "each READY comes on a new connection";
  auto gap = [&](int i) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(readies[i + 1] - readies[i]);
  };
  EXPECT_GE(gap(2), 450ms) << "the 3rd silent connection waits 600 ms";
  EXPECT_GE(gap(3), 900ms) << "the 4th silent connection waits 1200 ms";
}

// ERROR forbidden: the broker does not accept this worker's key. The worker
// sends nothing more on that connection, takes no job, keeps its results,
// and tries a new connection after the backoff (longer each time it is
// refused again); once accepted it reports everything it kept.
TEST(WorkerProtocol, ForbiddenStopsTheWorkerUntilTheBrokerAcceptsItsKey) {
  FakeBroker broker;
  WorkerOptions o = TestOptions(broker);
  o.heartbeat = 200ms;  // base 600 ms
  RunningWorker w(o);
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  const std::string first = broker.peer();
  broker.SendJob(first, "j1", 1, "test.noop", Params("{}"));
  ASSERT_TRUE(ResultFor(broker, "j1"));  // not ACKed

  // Refused. The fake keeps beating to the old connection: no sign of life
  // on a refused connection, so the worker still leaves it.
  const auto refused_at = std::chrono::steady_clock::now();
  broker.SendError(first, proto::err::kForbidden, "key w-test is not authorized as a worker");
  broker.SendJob(first, "j2", 1, "test.sleep", Params(R"({"ms": 1})"));
  std::vector<Received> on_first;
  std::optional<Received> ready;
  for (auto end = std::chrono::steady_clock::now() + kProtocolWait; !ready && std::chrono::steady_clock::now() < end;) {
    auto m = broker.Receive(1s);
    if (!m) continue;
    if (m->peer == first) on_first.push_back(*m);
    else if (m->command == Command::kReady) ready = m;
  }
  ASSERT_TRUE(ready) << "no new connection after the refusal";
  // From here the fake beats no more: a beat on the new connection would
  // be a sign of life, and reset the backoff.
  broker.set_silent(true);
  EXPECT_GE(std::chrono::steady_clock::now() - refused_at, 600ms) << "it waits the backoff first";
  for (const Received& m : on_first)
    EXPECT_NE(m.command, Command::kResult) << "a RESULT went out on the refused connection";
  EXPECT_TRUE(DecodeReady(*ready).running.empty()) << "j2 was not started";
  // After READY, the results it kept: j1's, and j2 handed back.
  std::map<std::string, proto::JobResult> results;
  while (results.size() < 2) {
    auto m = broker.ReceiveCommand(Command::kResult, kProtocolWait);
    ASSERT_TRUE(m) << results.size() << " results";
    EXPECT_EQ(m->peer, ready->peer);
    proto::JobResult r = DecodeResult(*m);
    results[r.job] = r;
  }
  EXPECT_EQ(results["j1"].outcome, Outcome::kSucceeded);
  EXPECT_EQ(results["j2"].outcome, Outcome::kReturned);
  EXPECT_TRUE(results["j2"].retryable);
  EXPECT_NE(results["j2"].error.find("forbidden"), std::string::npos) << results["j2"].error;

  // Refused again: the second wait is twice the first.
  const std::string second = ready->peer;
  const auto refused_again_at = std::chrono::steady_clock::now();
  broker.SendError(second, proto::err::kForbidden, "still not authorized");
  ready.reset();
  for (auto end = std::chrono::steady_clock::now() + kProtocolWait; !ready && std::chrono::steady_clock::now() < end;) {
    auto m = broker.Receive(1s);
    if (m && m->command == Command::kReady && m->peer != first && m->peer != second) ready = m;
  }
  ASSERT_TRUE(ready);
  EXPECT_GE(std::chrono::steady_clock::now() - refused_again_at, 1200ms);

  // Accepted (the operator authorized the key and reloaded the broker).
  broker.set_silent(false);
  const std::string third = ready->peer;
  broker.SendAck(third, {{"j1", 1}, {"j2", 1}});
  broker.SendJob(third, "j3", 1, "test.sleep", Params(R"({"ms": 1})"));
  auto r3 = ResultFor(broker, "j3");
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->outcome, Outcome::kSucceeded) << r3->error;
  auto hb = broker.ReceiveCommand(Command::kHeartbeat, kProtocolWait);
  ASSERT_TRUE(hb) << "heartbeats resume";
  EXPECT_EQ(hb->peer, third);
}

// A refused worker still shuts down on a stop request.
TEST(WorkerProtocol, ARefusedWorkerStillStops) {
  FakeBroker broker;
  WorkerOptions o = TestOptions(broker);
  o.ack_wait = 300ms;
  RunningWorker w(o);
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 1, "test.noop", Params("{}"));
  ASSERT_TRUE(ResultFor(broker, "j1"));
  broker.SendError(broker.peer(), proto::err::kForbidden, "no");
  broker.Pump(100ms);
  w.RequestStop();
  EXPECT_EQ(w.Join(), 0);
}

// CURVE: with --curve-key and --broker-key the worker is a CURVE client of
// the broker; without them, or with another broker key, it cannot talk to
// a CURVE broker at all.
struct CurveFiles {
  CurveFiles() {
    char tmpl[] = "/tmp/sluice-worker-curve-XXXXXX";
    dir = ::mkdtemp(tmpl);
    EXPECT_TRUE(curve::WriteNewCert(dir, "broker", &broker_key, &broker_pub).ok());
    EXPECT_TRUE(curve::WriteNewCert(dir, "worker", &worker_key, &worker_pub).ok());
    EXPECT_TRUE(curve::WriteNewCert(dir, "other", &other_key, &other_pub).ok());
    broker = curve::ReadSecretCert(broker_key).value();
  }
  ~CurveFiles() { std::filesystem::remove_all(dir); }
  std::string dir, broker_key, broker_pub, worker_key, worker_pub, other_key, other_pub;
  curve::KeyPair broker;
};

TEST(WorkerProtocol, CurveKeysLetTheWorkerTalkToACurveBroker) {
  if (!zmq_has("curve")) GTEST_SKIP() << "libzmq without CURVE";
  CurveFiles files;
  FakeBroker broker(0, 100ms, &files.broker);
  WorkerOptions o = TestOptions(broker);
  o.curve_key_file = files.worker_key;
  o.broker_key_file = files.broker_pub;
  ASSERT_TRUE(LoadCurveKeys(&o).ok());
  RunningWorker w(o);
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kProtocolWait));
  broker.SendJob(broker.peer(), "j1", 1, "test.noop", Params("{}"));
  auto r = ResultFor(broker, "j1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, Outcome::kSucceeded);
  // After a reconnect (a new socket) the keys apply again.
  broker.set_silent(true);
  const std::string first = broker.peer();
  auto ready = broker.ReceiveCommand(Command::kReady, kProtocolWait);
  ASSERT_TRUE(ready);
  EXPECT_NE(ready->peer, first);
}

TEST(WorkerProtocol, WithoutTheRightKeysNothingReachesACurveBroker) {
  if (!zmq_has("curve")) GTEST_SKIP() << "libzmq without CURVE";
  CurveFiles files;
  FakeBroker broker(0, 100ms, &files.broker);
  // The fence: the broker saw the worker's handshake fail; a message could
  // only come through a handshake that succeeded.
  {
    RunningWorker plain(TestOptions(broker));
    ASSERT_TRUE(broker.WaitForFailedHandshake(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, 10s))
        << "the plain worker never tried";
    EXPECT_FALSE(broker.Receive(0ms)) << "a plain worker got through";
  }
  WorkerOptions o = TestOptions(broker);
  o.curve_key_file = files.worker_key;
  o.broker_key_file = files.other_pub;  // not this broker's key
  ASSERT_TRUE(LoadCurveKeys(&o).ok());
  RunningWorker wrong(o);
  ASSERT_TRUE(broker.WaitForFailedHandshake(ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC, 10s))
      << "the worker with the wrong broker key never tried";
  EXPECT_FALSE(broker.Receive(0ms)) << "a worker trusting another broker key got through";
}

TEST(WorkerOptions, CurveKeysAreBothOrNeither) {
  CurveFiles files;
  WorkerOptions o;
  ASSERT_TRUE(LoadCurveKeys(&o).ok());
  EXPECT_TRUE(o.curve.server_z85.empty()) << "neither: no CURVE";
  o.curve_key_file = files.worker_key;
  Status s = LoadCurveKeys(&o);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("--broker-key"), std::string::npos) << s.message();
  o.curve_key_file.clear();
  o.broker_key_file = files.broker_pub;
  s = LoadCurveKeys(&o);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("--curve-key"), std::string::npos) << s.message();
  // Each bad file is named.
  o.curve_key_file = files.worker_pub;  // a .pub has no secret key
  s = LoadCurveKeys(&o);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(files.worker_pub), std::string::npos) << s.message();
  o.curve_key_file = files.dir + "/missing.key";
  s = LoadCurveKeys(&o);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(files.dir + "/missing.key"), std::string::npos) << s.message();
  o.curve_key_file = files.worker_key;
  o.broker_key_file = files.dir + "/missing.pub";
  s = LoadCurveKeys(&o);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(files.dir + "/missing.pub"), std::string::npos) << s.message();
  o.broker_key_file = files.broker_pub;
  s = LoadCurveKeys(&o);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(o.curve.server_z85, files.broker.public_z85);
  EXPECT_EQ(o.curve.own.public_z85, curve::ReadPublicKey(files.worker_pub).value());
}

}  // namespace
}  // namespace sluice::worker
