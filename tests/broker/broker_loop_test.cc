// The broker's event loop in-process, with a clock the test moves, talking
// the real protocol over TCP to DEALER sockets played by the test.
#include "tests/broker/broker_fixture.h"

namespace sluice::broker {
namespace {

using namespace sluice::broker::testing;  // NOLINT: the fixture's vocabulary

TEST_F(BrokerLoopTest, ResultIsRecordedOnceAndDuplicatesAreAcked) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  std::string id = Submit(client, {{"kind", "k"}});
  worker.Ready("w1", 1);
  Msg job = worker.Recv();
  ASSERT_EQ(job.cmd, static_cast<std::uint8_t>(Command::kJob));
  EXPECT_EQ(job.Json()["job"], id);
  EXPECT_EQ(job.Json()["attempt"], 1);
  for (int i = 0; i < 2; ++i) {
    worker.Result(id, 1, Outcome::kSucceeded);
    Msg ack = worker.Recv();
    ASSERT_EQ(ack.cmd, static_cast<std::uint8_t>(Command::kAck));
    EXPECT_EQ(ack.Json()["acks"][0][0], id);
  }
  json st = Status(client, id)["job"];
  EXPECT_EQ(st["state"], "succeeded");
  EXPECT_EQ(st["attempts"].size(), 1u);
  EXPECT_EQ(Stats(client)["counters"]["duplicate_results"], 1);
}

// A job's latency runs through its JOB and its DONE: a turn sends those
// before the SUBMIT's reply and the worker's ACK. Seen on one socket that is
// both the submitter and the worker, where the order is observable.
TEST_F(BrokerLoopTest, JobGoesOutBeforeTheReplyAndDoneBeforeTheAck) {
  StartBroker();
  Peer peer(ctx_, endpoint_);
  peer.Ready("w1", 1);
  (void)peer.UntilFence();  // the READY is in
  peer.SendJson(Command::kSubmit, {{"req", 7}, {"notify", true}, {"jobs", json::array({{{"kind", "k"}}})}});
  Msg first = peer.Recv(), second = peer.Recv();
  ASSERT_EQ(first.cmd, static_cast<std::uint8_t>(Command::kJob));
  ASSERT_EQ(second.cmd, static_cast<std::uint8_t>(Command::kReply));
  const std::string id = second.Json()["jobs"][0]["id"];
  EXPECT_EQ(first.Json()["job"], id);
  peer.Result(id, 1, Outcome::kSucceeded);
  Msg done = peer.Recv(), ack = peer.Recv();
  ASSERT_EQ(done.cmd, static_cast<std::uint8_t>(Command::kDone));
  EXPECT_EQ(done.Json()["job"], id);
  ASSERT_EQ(ack.cmd, static_cast<std::uint8_t>(Command::kAck));
  EXPECT_EQ(ack.Json()["acks"][0][0], id);
}

TEST_F(BrokerLoopTest, NeverSendsMoreJobsThanSlots) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  json jobs = json::array();
  for (int i = 0; i < 10; ++i) jobs.push_back({{"kind", "k"}});
  client.Request(Command::kSubmit, {{"jobs", jobs}});
  worker.Ready("w1", 2);
  Msg a = worker.Recv(), b = worker.Recv();
  ASSERT_EQ(a.cmd, static_cast<std::uint8_t>(Command::kJob));
  ASSERT_EQ(b.cmd, static_cast<std::uint8_t>(Command::kJob));
  EXPECT_TRUE(worker.UntilFence().empty()) << "a third job beyond 2 slots";
  worker.Result(a.Json()["job"], 1, Outcome::kSucceeded);
  Msg next = worker.Recv();
  if (next.cmd == static_cast<std::uint8_t>(Command::kAck)) next = worker.Recv();
  EXPECT_EQ(next.cmd, static_cast<std::uint8_t>(Command::kJob));
}

TEST_F(BrokerLoopTest, PrefetchAddsToCreditUntilTheWorkerDrains) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  json jobs = json::array();
  for (int i = 0; i < 20; ++i) jobs.push_back({{"kind", "k"}});
  client.Request(Command::kSubmit, {{"jobs", jobs}});
  worker.Ready("w1", 2, {}, 60000, 3);
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) {
    Msg m = worker.Recv();
    ASSERT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kJob)) << "job " << i;
    got.push_back(m.Json()["job"]);
  }
  EXPECT_TRUE(worker.UntilFence().empty()) << "more than slots + prefetch";
  std::string drain;
  proto::Encode(proto::Heartbeat{0}, &drain);
  worker.Send(Command::kHeartbeat, drain);
  worker.Result(got[0], 1, Outcome::kSucceeded);
  Msg m = worker.Recv();
  EXPECT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kAck));
  EXPECT_TRUE(worker.UntilFence().empty()) << "a draining worker got a job";
}

// Regression: lease timers of finished jobs used to stay in a lazily-cleaned
// heap for their whole timeout (30 min by default): unbounded memory.
TEST_F(BrokerLoopTest, FinishedJobsLeaveNoTimersBehind) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  json jobs = json::array();
  for (int i = 0; i < 50; ++i) jobs.push_back({{"kind", "k"}});
  client.Request(Command::kSubmit, {{"jobs", jobs}});
  worker.Ready("w1", 8, {}, 60000);
  int done = 0;
  while (done < 50) {
    Msg m = worker.Recv();
    ASSERT_NE(m.cmd, 0) << "stalled after " << done;
    if (m.cmd != static_cast<std::uint8_t>(Command::kJob)) continue;
    worker.Result(m.Json()["job"], 1, Outcome::kSucceeded);
    ++done;
  }
  json stats;
  for (int i = 0; i < 50; ++i) {
    stats = Stats(client);
    if (stats["jobs"]["succeeded"] == 50) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(stats["jobs"]["succeeded"], 50);
  EXPECT_EQ(stats["timers"], 0);
  EXPECT_EQ(stats["live_jobs"], 0);
}

TEST_F(BrokerLoopTest, ConcurrencyKeyLimitsRunningJobs) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  json jobs = json::array();
  for (int i = 0; i < 5; ++i) jobs.push_back({{"kind", "k"}, {"concurrency_key", "origin-a"}, {"concurrency_limit", 2}});
  jobs.push_back({{"kind", "k"}});  // no key: not held back
  client.Request(Command::kSubmit, {{"jobs", jobs}});
  worker.Ready("w1", 8, {}, 60000);
  std::vector<std::string> got;
  for (int i = 0; i < 3; ++i) {
    Msg m = worker.Recv();
    ASSERT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kJob)) << i;
    got.push_back(m.Json()["job"]);
  }
  EXPECT_TRUE(worker.UntilFence().empty()) << "a third job of key origin-a ran";
  EXPECT_NE(std::find(got.begin(), got.end(), "j6"), got.end()) << "the unkeyed job waited";
  worker.Result(got[0] == "j6" ? got[1] : got[0], 1, Outcome::kSucceeded);
  Msg m = worker.Recv();
  if (m.cmd == static_cast<std::uint8_t>(Command::kAck)) m = worker.Recv();
  ASSERT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kJob)) << "a freed key slot is used";
  // At most the ACK, if it came after the JOB; no other job of the key.
  std::vector<Msg> rest = worker.UntilFence();
  EXPECT_LE(rest.size(), 1u) << "over the key's limit";
  for (const Msg& x : rest) EXPECT_EQ(x.cmd, static_cast<std::uint8_t>(Command::kAck)) << "over the key's limit";
}

// Waits until WORKERS lists `id`: its READY, and the dispatch of that
// turn, have been handled before anything the client sends next.
void WaitForWorker(Peer& client, const std::string& id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    const json reply = client.Request(Command::kWorkers, json::object());
    for (const auto& w : reply.value("workers", json::array()))
      if (w.value("worker", "") == id) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL() << "worker " << id << " never showed up in WORKERS";
}

// A timed-out attempt may still run on its worker until that worker reports
// it: its slot of the concurrency key stays taken until then, so the next
// job of the key (a lakehouse "single writer") does not overlap it.
// Regression: the slot was freed when the job left `running`.
TEST_F(BrokerLoopTest, ATimedOutAttemptKeepsItsKeySlotUntilItsWorkerReports) {
  StartBroker();
  Peer client(ctx_, endpoint_), w1(ctx_, endpoint_), w2(ctx_, endpoint_);
  // a (kind k1) runs only on w1, b (kind k2) only on w2; one key.
  const json keyed = {{"kind", "k2"}, {"concurrency_key", "lake"}, {"concurrency_limit", 1}};
  json first = keyed;
  first["kind"] = "k1";
  first["timeout_ms"] = 1000;
  first["max_attempts"] = 1;
  const std::string a = Submit(client, first);
  w1.Ready("w1", 1, {}, 3600 * 1000, 0, {"k1"});
  ASSERT_EQ(w1.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
  clock_.Advance(1000 + 2 * 1000 + 10);  // timeout + grace
  Msg cancel = w1.Recv();
  ASSERT_EQ(cancel.cmd, static_cast<std::uint8_t>(Command::kCancel));
  EXPECT_EQ(Status(client, a)["job"]["state"], "dead");

  const std::string b = Submit(client, keyed);
  w2.Ready("w2", 1, {}, 3600 * 1000, 0, {"k2"});
  WaitForWorker(client, "w2");
  json st = Status(client, b)["job"];
  EXPECT_EQ(st["state"], "queued") << "ran beside the timed-out attempt that w1 still runs: " << st.dump();

  w1.Result(a, 1, Outcome::kCancelled);  // w1 has stopped it
  ASSERT_EQ(w1.Recv().cmd, static_cast<std::uint8_t>(Command::kAck));
  Msg job = w2.Recv();
  ASSERT_EQ(job.cmd, static_cast<std::uint8_t>(Command::kJob));
  EXPECT_EQ(job.Json()["job"], b);
}

// The same for a cancelled attempt, and for a worker that leaves without
// reporting: its leases go with it, and so do their slots.
TEST_F(BrokerLoopTest, ACancelledAttemptKeepsItsKeySlotUntilItsWorkerGoes) {
  StartBroker();
  Peer client(ctx_, endpoint_), w1(ctx_, endpoint_), w2(ctx_, endpoint_);
  // a (kind k1) runs only on w1, b (kind k2) only on w2; one key.
  const json keyed = {{"kind", "k2"}, {"concurrency_key", "lake"}, {"concurrency_limit", 1}};
  json first = keyed;
  first["kind"] = "k1";
  const std::string a = Submit(client, first);
  w1.Ready("w1", 1, {}, 3600 * 1000, 0, {"k1"});
  ASSERT_EQ(w1.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
  EXPECT_EQ(client.Request(Command::kCancelJob, {{"id", a}})["job"]["state"], "cancelled");
  ASSERT_EQ(w1.Recv().cmd, static_cast<std::uint8_t>(Command::kCancel));

  const std::string b = Submit(client, keyed);
  w2.Ready("w2", 1, {}, 3600 * 1000, 0, {"k2"});
  WaitForWorker(client, "w2");
  EXPECT_EQ(Status(client, b)["job"]["state"], "queued");

  w1.SendJson(Command::kBye, {{"reason", "test"}});
  Msg job = w2.Recv();
  ASSERT_EQ(job.cmd, static_cast<std::uint8_t>(Command::kJob));
  EXPECT_EQ(job.Json()["job"], b);
}

// A retry's state change is dated when it happens. Regression: the move to
// `scheduled` kept the dispatch's updated_ms.
TEST_F(BrokerLoopTest, AFailedAttemptDatesItsMoveToScheduled) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  const std::string id = Submit(client, {{"kind", "k"}, {"backoff_ms", 10000}});
  worker.Ready("w1", 1, {}, 3600 * 1000);
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
  const std::int64_t dispatched_at = clock_.NowMs();
  clock_.Advance(5000);
  worker.Result(id, 1, Outcome::kFailed, "boom");
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kAck));
  json st = Status(client, id)["job"];
  EXPECT_EQ(st["state"], "scheduled");
  EXPECT_GE(st["updated_ms"].get<std::int64_t>(), dispatched_at + 5000) << st.dump();
}

TEST_F(BrokerLoopTest, LakehouseKindsShareOneWriterKey) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  json jobs = json::array();
  for (const char* kind : {"load", "transform.sql", "export.serving"}) jobs.push_back({{"kind", kind}});
  jobs.push_back({{"kind", "export.serving"}, {"concurrency_key", "mine"}});  // its own key
  client.Request(Command::kSubmit, {{"jobs", jobs}});
  json status = Status(client, "j1");
  EXPECT_EQ(status["job"]["concurrency_key"], "lakehouse") << status.dump();
  EXPECT_EQ(status["job"]["concurrency_limit"], 1);
  worker.Ready("w1", 8, {}, 60000, 0, {"load", "transform.sql", "export.serving"});
  std::vector<std::string> got;
  for (int i = 0; i < 2; ++i) {
    Msg m = worker.Recv();
    ASSERT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kJob)) << i;
    got.push_back(m.Json()["job"]);
  }
  EXPECT_TRUE(worker.UntilFence().empty()) << "two lakehouse jobs ran at once";
  EXPECT_NE(std::find(got.begin(), got.end(), "j4"), got.end()) << "the job with its own key waited";
}

TEST_F(BrokerLoopTest, ExtractRunsAreRecordedAndCursorsPassedOn) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  json spec = {{"kind", "extract.http"},
               {"params", {{"source", "psd"}, {"url", "http://o/{year}-{month}.csv"}, {"date", "2024-03"}}}};
  std::string first = Submit(client, spec);
  worker.Ready("w1", 2, {}, 60000, 0, {"extract.http"});
  Msg job = worker.Recv();
  ASSERT_EQ(job.cmd, static_cast<std::uint8_t>(Command::kJob));
  EXPECT_EQ(job.Json()["params"]["date"], "2024-03");
  EXPECT_FALSE(job.Json()["params"].contains("cursor"));

  auto query = [&](const std::string& sql) {
    Database db;
    EXPECT_TRUE(db.Open(config_.state_path, true).ok());
    auto st = db.Prepare(sql);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    std::vector<std::string> row;
    if (st.ok() && st->Step() == SQLITE_ROW)
      for (int i = 0; i < st->columns(); ++i) row.push_back(std::string(st->Text(i)));
    return row;
  };
  std::vector<std::string> row;
  for (int i = 0; i < 50 && row.empty(); ++i) {
    row = query("SELECT status, extractor, url, job_id FROM extraction_runs");
    if (row.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(row.size(), 4u);
  EXPECT_EQ(row[0], "running");
  EXPECT_EQ(row[1], "psd");
  EXPECT_EQ(row[2], "http://o/2024-03.csv");
  EXPECT_EQ(row[3], first);

  proto::JobResult r;
  r.job = first;
  r.attempt = 1;
  json outputs = {{"url", "http://o/2024-03.csv"}, {"etag", "\"v1\""}, {"last_modified", "Sat, 01 Jun 2024 00:00:00 GMT"},
                  {"files_written", 1}, {"files_skipped", 0}, {"bytes_written", 1234},
                  {"cursor_value", "period=2024-03 etag=\"v1\""}};
  auto ob = json::to_msgpack(outputs);
  r.outputs.assign(ob.begin(), ob.end());
  std::string b;
  proto::Encode(r, &b);
  worker.Send(Command::kResult, b);
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kAck));
  row = query("SELECT status, files_written, bytes_written, cursor_value, finished_at IS NOT NULL FROM extraction_runs");
  ASSERT_GE(row.size(), 4u);
  EXPECT_EQ(row[0], "success");
  EXPECT_EQ(row[1], "1");
  EXPECT_EQ(row[2], "1234");
  EXPECT_EQ(row[3], "period=2024-03 etag=\"v1\"");

  // The next run of that (source, URL) carries the cursor.
  std::string second = Submit(client, spec);
  Msg job2 = worker.Recv();
  ASSERT_EQ(job2.cmd, static_cast<std::uint8_t>(Command::kJob));
  EXPECT_EQ(job2.Json()["job"], second);
  EXPECT_EQ(job2.Json()["params"]["cursor"]["etag"], "\"v1\"");
  EXPECT_EQ(job2.Json()["params"]["cursor"]["last_modified"], "Sat, 01 Jun 2024 00:00:00 GMT");
  worker.Result(second, 1, Outcome::kFailed, "HTTP 404 for http://o/2024-03.csv");
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kAck));
  row = query("SELECT status, error_message, job_id, attempt FROM extraction_runs WHERE job_id='" + second + "'");
  ASSERT_EQ(row.size(), 4u);
  EXPECT_EQ(row[0], "failed");
  EXPECT_NE(row[1].find("404"), std::string::npos);
}

TEST_F(BrokerLoopTest, FailedAttemptWaitsForItsBackoff) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  std::string id = Submit(client, {{"kind", "k"}, {"backoff_ms", 10000}});
  worker.Ready("w1", 1, {}, 3600 * 1000);  // silent worker must outlive the clock jump
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
  const std::int64_t failed_at = clock_.NowMs();
  worker.Result(id, 1, Outcome::kFailed, "boom");
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kAck));
  json st = Status(client, id)["job"];
  EXPECT_EQ(st["state"], "scheduled");
  EXPECT_GE(st["run_at_ms"].get<std::int64_t>(), failed_at + 10000);
  EXPECT_TRUE(worker.UntilFence().empty()) << "dispatched before its backoff";
  clock_.Advance(13000);  // past 10 s + 25% jitter
  Msg again = worker.Recv();
  ASSERT_EQ(again.cmd, static_cast<std::uint8_t>(Command::kJob));
  EXPECT_EQ(again.Json()["attempt"], 2);
}

TEST_F(BrokerLoopTest, NonRetryableFailureIsDeadAtOnce) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  std::string id = Submit(client, {{"kind", "k"}});
  worker.Ready("w1", 1);
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
  proto::JobResult r;
  r.job = id;
  r.attempt = 1;
  r.outcome = Outcome::kFailed;
  r.error = "HTTP 404 for http://x/y";
  r.retryable = false;
  std::string b;
  proto::Encode(r, &b);
  worker.Send(Command::kResult, b);
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kAck));
  json st = Status(client, id)["job"];
  EXPECT_EQ(st["state"], "dead");
  EXPECT_NE(st["error"].get<std::string>().find("404"), std::string::npos);
}

TEST_F(BrokerLoopTest, LeaseTimeoutCancelsAndRetries) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  std::string id = Submit(client, {{"kind", "k"}, {"timeout_ms", 1000}, {"backoff_ms", 1000}});
  worker.Ready("w1", 1, {}, 60000);  // heartbeats will not interfere
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
  clock_.Advance(1000 + 2 * 1000 + 10);  // timeout + grace (2 broker heartbeats)
  Msg cancel = worker.Recv();
  ASSERT_EQ(cancel.cmd, static_cast<std::uint8_t>(Command::kCancel));
  EXPECT_EQ(cancel.Json()["job"], id);
  json st = Status(client, id)["job"];
  EXPECT_EQ(st["state"], "scheduled");
  EXPECT_EQ(st["attempts"][0]["outcome"], "timed_out");
  // Its slot stays taken until the worker reports the attempt.
  clock_.Advance(2000);
  EXPECT_TRUE(worker.UntilFence().empty());
  worker.Result(id, 1, Outcome::kCancelled);
  Msg m = worker.Recv();
  if (m.cmd == static_cast<std::uint8_t>(Command::kAck)) m = worker.Recv();
  ASSERT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kJob));
  EXPECT_EQ(m.Json()["attempt"], 2);
}

TEST_F(BrokerLoopTest, SilentWorkerIsLostAndItsJobRunsElsewhere) {
  StartBroker();
  Peer client(ctx_, endpoint_), w1(ctx_, endpoint_), w2(ctx_, endpoint_);
  std::string id = Submit(client, {{"kind", "k"}, {"backoff_ms", 60000}});
  w1.Ready("w1", 1, {}, 200);
  ASSERT_EQ(w1.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
  w2.Ready("w2", 1, {}, 60000);
  clock_.Advance(3 * 200 + 50);
  Msg m = w2.Recv();
  ASSERT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kJob));
  EXPECT_EQ(m.Json()["job"], id);
  EXPECT_EQ(m.Json()["attempt"], 2);
  json st = Status(client, id)["job"];
  EXPECT_EQ(st["attempts"][0]["outcome"], "lost");
  EXPECT_NE(st["attempts"][0]["error"].get<std::string>().find("worker lost"), std::string::npos);
}

TEST_F(BrokerLoopTest, UnknownWorkerIsToldToIntroduceItself) {
  StartBroker();
  Peer w(ctx_, endpoint_);
  w.Send(Command::kHeartbeat, {});
  Msg m = w.Recv();
  ASSERT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kError));
  EXPECT_EQ(m.Json()["code"], "unknown_worker");
}

TEST_F(BrokerLoopTest, RestartedBrokerReadoptsRunningAttempts) {
  StartBroker();
  std::string id;
  {
    Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
    id = Submit(client, {{"kind", "k"}});
    worker.Ready("w1", 1);
    ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
    StopBroker();
  }
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  worker.Ready("w1", 1, {{id, 1}});
  worker.Result(id, 1, Outcome::kSucceeded);
  Msg m = worker.Recv();
  ASSERT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kAck)) << "adopted attempt must not be cancelled";
  json st = Status(client, id)["job"];
  EXPECT_EQ(st["state"], "succeeded");
  ASSERT_EQ(st["attempts"].size(), 1u);
  EXPECT_EQ(st["attempts"][0]["worker"], "w1");
}

TEST_F(BrokerLoopTest, RunningJobNobodyReadoptsIsLostAndRunsAgainAsTheNextAttempt) {
  StartBroker();
  std::string id;
  {
    Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
    id = Submit(client, {{"kind", "k"}});
    worker.Ready("w1", 1);
    ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
    StopBroker();
  }
  StartBroker();
  Peer client(ctx_, endpoint_), other(ctx_, endpoint_);
  other.Ready("w2", 1, {}, 60000);
  // Attempt 1 may still run on w1: nothing is dispatched while it may come
  // back (the STATS reply is a fence: a JOB would come before it).
  other.SendJson(Command::kStats, {{"req", 1}});
  EXPECT_EQ(other.Recv().cmd, static_cast<std::uint8_t>(Command::kReply)) << "re-run before workers could re-announce it";
  clock_.Advance((config_.liveness + 2) * config_.heartbeat_ms + 1);
  Msg m = other.Recv();
  ASSERT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kJob));
  // The dispatch was stored: the re-run is the next attempt; the first is lost.
  EXPECT_EQ(m.Json()["attempt"], 2);
  other.Result(id, 2, Outcome::kSucceeded);
  ASSERT_EQ(other.Recv().cmd, static_cast<std::uint8_t>(Command::kAck));
  json st = Status(client, id)["job"];
  EXPECT_EQ(st["state"], "succeeded");
  ASSERT_EQ(st["attempts"].size(), 2u);
  EXPECT_EQ(st["attempts"][0]["outcome"], "lost");
  EXPECT_EQ(st["attempts"][1]["worker"], "w2");
}

TEST_F(BrokerLoopTest, StatusAndListShowRunningAttemptsFromMemory) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  std::string id = Submit(client, {{"kind", "k"}});
  std::string waiting = Submit(client, {{"kind", "k"}});
  worker.Ready("w1", 1);
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
  json st = Status(client, id)["job"];
  EXPECT_EQ(st["state"], "running");
  ASSERT_EQ(st["attempts"].size(), 1u);
  EXPECT_EQ(st["attempts"][0]["worker"], "w1");
  EXPECT_TRUE(st["attempts"][0]["outcome"].is_null());
  json running = client.Request(Command::kList, {{"state", "running"}})["jobs"];
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0]["id"], id);
  json queued = client.Request(Command::kList, {{"state", "queued"}})["jobs"];
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0]["id"], waiting);
  json stats = Stats(client);
  EXPECT_EQ(stats["jobs"]["running"], 1);
  EXPECT_EQ(stats["jobs"]["queued"], 1);
}

TEST_F(BrokerLoopTest, StaleReadoptionIsCancelled) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  std::string id = Submit(client, {{"kind", "k"}});
  worker.Ready("w1", 0, {{id, 7}});  // an attempt this broker never handed out
  Msg m = worker.Recv();
  ASSERT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kCancel));
  EXPECT_EQ(m.Json()["attempt"], 7);
}

TEST_F(BrokerLoopTest, CancelRunningTellsTheWorkerAndIgnoresItsLateResult) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  std::string id = Submit(client, {{"kind", "k"}});
  worker.Ready("w1", 1);
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
  json r = client.Request(Command::kCancelJob, {{"id", id}});
  EXPECT_EQ(r["job"]["state"], "cancelled");
  Msg m = worker.Recv();
  ASSERT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kCancel));
  worker.Result(id, 1, Outcome::kSucceeded);
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kAck));
  json st = Status(client, id)["job"];
  EXPECT_EQ(st["state"], "cancelled");
  EXPECT_EQ(st["attempts"][0]["outcome"], "cancelled");
  json again = client.Request(Command::kCancelJob, {{"id", id}});
  EXPECT_EQ(again["code"], "invalid_state");
}

TEST_F(BrokerLoopTest, RetryOfADeadJobRunsItAgain) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  std::string id = Submit(client, {{"kind", "k"}, {"max_attempts", 1}});
  worker.Ready("w1", 1);
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
  worker.Result(id, 1, Outcome::kFailed, "boom");
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kAck));
  EXPECT_EQ(Status(client, id)["job"]["state"], "dead");
  json r = client.Request(Command::kRetry, {{"id", id}});
  EXPECT_EQ(r["job"]["state"], "queued");
  Msg m = worker.Recv();
  ASSERT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kJob));
  EXPECT_EQ(m.Json()["attempt"], 2);
  EXPECT_EQ(client.Request(Command::kRetry, {{"id", "j999"}})["code"], "not_found");
}

TEST_F(BrokerLoopTest, DelayedJobWaitsForRunAt) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  json r = client.Request(Command::kSubmit, {{"jobs", {{{"kind", "k"}, {"delay_ms", 60000}}}}});
  EXPECT_EQ(r["jobs"][0]["state"], "scheduled");
  worker.Ready("w1", 1, {}, 3600 * 1000);
  EXPECT_TRUE(worker.UntilFence().empty());
  clock_.Advance(60001);
  EXPECT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
}

TEST_F(BrokerLoopTest, RetentionPrunesOldFinishedJobs) {
  config_.retention_ms = 3600 * 1000;
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  std::string id = Submit(client, {{"kind", "k"}});
  worker.Ready("w1", 1, {}, 3600 * 1000);
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
  worker.Result(id, 1, Outcome::kSucceeded);
  ASSERT_EQ(worker.Recv().cmd, static_cast<std::uint8_t>(Command::kAck));
  std::string young = Submit(client, {{"kind", "other"}});
  clock_.Advance(2 * 3600 * 1000);
  bool pruned = false;
  for (int i = 0; i < 50 && !pruned; ++i) {
    pruned = Status(client, id)["code"] == "not_found";
    if (!pruned) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(pruned);
  EXPECT_EQ(Status(client, young)["job"]["state"], "queued") << "live jobs are never pruned";
}

TEST_F(BrokerLoopTest, IdempotencyKeyReturnsTheFirstJob) {
  StartBroker();
  Peer client(ctx_, endpoint_);
  json r = client.Request(Command::kSubmit,
                          {{"jobs", {{{"kind", "k"}, {"key", "x"}}, {{"kind", "k"}, {"key", "x"}}}}});
  EXPECT_EQ(r["jobs"][0]["id"], r["jobs"][1]["id"]);
  EXPECT_EQ(r["jobs"][1]["created"], false);
  json r2 = client.Request(Command::kSubmit, {{"jobs", {{{"kind", "k"}, {"key", "x"}}}}});
  EXPECT_EQ(r2["jobs"][0]["id"], r["jobs"][0]["id"]);
  EXPECT_EQ(Stats(client)["jobs"]["queued"], 1);
}

TEST_F(BrokerLoopTest, ListSaysWhyAJobWaits) {
  StartBroker();
  Peer client(ctx_, endpoint_);
  Submit(client, {{"kind", "nobody.runs.this"}, {"queue", "q1"}});
  json r = client.Request(Command::kList, {{"state", "queued"}});
  ASSERT_EQ(r["jobs"].size(), 1u);
  EXPECT_NE(r["jobs"][0]["waiting"].get<std::string>().find("no connected worker"), std::string::npos);
  EXPECT_EQ(client.Request(Command::kList, {{"state", "bogus"}})["code"], "bad_request");
}

}  // namespace
}  // namespace sluice::broker
