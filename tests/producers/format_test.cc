// Human output: times, tables, the job view, workers and stats.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "producers/cluster_format.h"
#include "producers/job_format.h"
#include "producers/text_table.h"
#include "producers/time_format.h"

namespace sluice {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::int64_t kT0 = 1714566896789;  // 2024-05-01T12:34:56.789Z

TEST(FormatIsoUtc, ShowsUtcWithOrWithoutMilliseconds) {
  EXPECT_EQ(FormatIsoUtc(kT0), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(FormatIsoUtc(kT0, false), "2024-05-01T12:34:56Z");
  EXPECT_EQ(FormatIsoUtc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIsoUtc(-1), "1969-12-31T23:59:59.999Z");
}

TEST(FormatDurationMs, PicksAUnitForPeople) {
  EXPECT_EQ(FormatDurationMs(0), "0 ms");
  EXPECT_EQ(FormatDurationMs(850), "850 ms");
  EXPECT_EQ(FormatDurationMs(1234), "1.234 s");
  EXPECT_EQ(FormatDurationMs(123'000), "2m03s");
  EXPECT_EQ(FormatDurationMs(3'723'000), "1h02m03s");
  EXPECT_EQ(FormatDurationMs(273'900'000), "3d04h05m");
  EXPECT_EQ(FormatDurationMs(-1500), "-1.500 s");
}

TEST(TextTable, AlignsColumnsAndKeepsCellsOnOneLine) {
  TextTable t({"ID", "STATE", "INFO"});
  t.AddRow({"j1", "queued", "waiting: no worker"});
  t.AddRow({"j123", "dead", "error: line one\nline two"});
  t.AddRow({"j2"});
  EXPECT_EQ(t.Render(),
            "ID    STATE   INFO\n"
            "j1    queued  waiting: no worker\n"
            "j123  dead    error: line one line two\n"
            "j2\n");
  EXPECT_EQ(t.rows(), 3u);
}

json JobWithAttempts() {
  return json::parse(R"({
    "id": "j12", "state": "dead", "kind": "exec", "queue": "default", "priority": 5,
    "attempt": 2, "failures": 2, "max_attempts": 2, "backoff_ms": 500, "timeout_ms": 60000,
    "run_at_ms": 1714566896789, "created_ms": 1714566896789, "updated_ms": 1714566900000,
    "finished_ms": 1714566900000, "key": null, "error": "exit status 3",
    "params": {"argv": ["false"]}, "outputs": null,
    "attempts": [
      {"attempt": 1, "worker": "w-1", "host": "hostA", "started_ms": 1714566896789,
       "finished_ms": 1714566898023, "outcome": "failed", "error": "exit status 1",
       "exit_code": 1, "stdout": "hello\nworld\n", "stderr": ""},
      {"attempt": 2, "worker": "w-2", "host": "hostB", "started_ms": 1714566899000,
       "finished_ms": 1714566900000, "outcome": "timed_out", "error": "exit status 3",
       "exit_code": null, "stdout": "", "stderr": "boom"}
    ]})");
}

TEST(FormatJob, ShowsTheJobAndEveryAttempt) {
  const std::string s = FormatJob(JobWithAttempts(), kT0);
  EXPECT_THAT(s, HasSubstr("id          j12\n"));
  EXPECT_THAT(s, HasSubstr("state       dead\n"));
  EXPECT_THAT(s, HasSubstr("attempts    2 started, 2 failed (max 2)\n"));
  EXPECT_THAT(s, HasSubstr("backoff     500 ms\n"));
  EXPECT_THAT(s, HasSubstr("timeout     1m00s\n"));
  EXPECT_THAT(s, HasSubstr("created     2024-05-01T12:34:56.789Z\n"));
  EXPECT_THAT(s, HasSubstr("finished    2024-05-01T12:35:00.000Z\n"));
  EXPECT_THAT(s, HasSubstr("error       exit status 3\n"));
  EXPECT_THAT(s, HasSubstr("params      {\"argv\":[\"false\"]}\n"));
  EXPECT_THAT(s, Not(HasSubstr("key ")));      // null: left out
  EXPECT_THAT(s, Not(HasSubstr("outputs")));   // null: left out
  EXPECT_THAT(s, Not(HasSubstr("run at")));    // only for jobs that have not run yet

  // Attempt 1: every field, times in ISO-8601 UTC, duration, output tails.
  EXPECT_THAT(s, HasSubstr("  attempt 1  failed\n"
                           "    worker    w-1 on hostA\n"
                           "    started   2024-05-01T12:34:56.789Z\n"
                           "    finished  2024-05-01T12:34:58.023Z\n"
                           "    duration  1.234 s\n"
                           "    exit code 1\n"
                           "    error:\n"
                           "      | exit status 1\n"
                           "    stdout (tail):\n"
                           "      | hello\n"
                           "      | world\n"));
  EXPECT_THAT(s, HasSubstr("  attempt 2  timed_out\n"));
  EXPECT_THAT(s, HasSubstr("    stderr (tail):\n      | boom\n"));
  // The attempt without an exit code shows none; empty tails are left out.
  const std::string second = s.substr(s.find("attempt 2"));
  EXPECT_THAT(second, Not(HasSubstr("exit code")));
  EXPECT_THAT(second, Not(HasSubstr("stdout")));
}

TEST(FormatJob, ARunningAttemptShowsHowLongItHasRun) {
  json job = {{"id", "j1"}, {"state", "running"},
              {"attempts", {{{"attempt", 1}, {"worker", "w"}, {"started_ms", kT0},
                             {"finished_ms", nullptr}, {"outcome", nullptr}}}}};
  const std::string s = FormatJob(job, kT0 + 2500);
  EXPECT_THAT(s, HasSubstr("attempt 1  running\n"));
  EXPECT_THAT(s, HasSubstr("duration  2.500 s so far\n"));
}

TEST(FormatJob, NeverThrowsOnMissingOrMistypedFields) {
  for (const json& job : {json(), json::object(), json::array(), json("j1"),
                          json{{"id", 5}, {"state", {1, 2}}, {"attempts", "x"}},
                          json{{"attempts", {1, nullptr, "x", json::object()}}},
                          json{{"error", std::string("\xff\xfe bad utf8")}, {"params", {{"k", std::string("\xc3")}}}}}) {
    EXPECT_NO_THROW(FormatJob(job, kT0)) << job.dump();
    EXPECT_NO_THROW(FormatJobTable(json::array({job}))) << job.dump();
    EXPECT_NO_THROW(FormatJobLine(job)) << job.dump();
  }
}

TEST(FormatJobTable, ShowsWhyAQueuedJobWaits) {
  json jobs = json::parse(R"([
    {"id": "j2", "state": "queued", "kind": "x", "queue": "q", "priority": 0, "attempt": 0,
     "max_attempts": 5, "created_ms": 1714566896789,
     "waiting": "no connected worker runs kind 'x' on queue 'q'"},
    {"id": "j1", "state": "scheduled", "kind": "exec", "queue": "default", "priority": 10,
     "attempt": 1, "max_attempts": 5, "created_ms": 1714566896789, "run_at_ms": 1714566900000,
     "error": "exit status 1"}
  ])");
  EXPECT_EQ(FormatJobTable(jobs),
            "ID  STATE      KIND  QUEUE    PRI  ATTEMPT  CREATED               INFO\n"
            "j2  queued     x     q        0    0/5      2024-05-01T12:34:56Z  waiting: no connected "
            "worker runs kind 'x' on queue 'q'\n"
            "j1  scheduled  exec  default  10   1/5      2024-05-01T12:34:56Z  next run "
            "2024-05-01T12:35:00Z; error: exit status 1\n");
}

TEST(FormatJobLine, IdStateAndTheErrorOfAFailedJob) {
  EXPECT_EQ(FormatJobLine({{"id", "j1"}, {"state", "succeeded"}}), "j1 succeeded\n");
  EXPECT_EQ(FormatJobLine({{"id", "j2"}, {"state", "dead"}, {"error", "boom\nmore"}}),
            "j2 dead (boom)\n");
  // A retried job's old error is history, not news.
  EXPECT_EQ(FormatJobLine({{"id", "j3"}, {"state", "queued"}, {"error", "boom"}}), "j3 queued\n");
}

TEST(FormatWorkers, OneRowPerWorker) {
  json workers = json::parse(R"([{"worker": "h-1-a", "host": "h", "pid": 42, "queues": ["default", "io"],
    "kinds": ["exec", "test.noop"], "slots": 4, "busy": 1, "version": "0.1.0",
    "connected_ms": 1714566896789, "last_seen_ms": 1714566896789, "running": [["j1", 1]], "key": "etl-1"},
    {"worker": "w2", "host": "h", "pid": 7, "queues": ["default"], "kinds": ["exec"], "slots": 1, "busy": 0,
     "version": "0.1.0", "connected_ms": 1714566896789, "last_seen_ms": 1714566896789, "running": [], "key": null}])");
  const std::string s = FormatWorkers(workers, kT0 + 2000);
  EXPECT_THAT(s, HasSubstr("WORKER  HOST  KEY    PID  QUEUES      KINDS           SLOTS  BUSY"));
  EXPECT_THAT(s, HasSubstr("h-1-a   h     etl-1  42   default,io  exec,test.noop  4      1     0.1.0"));
  // Without CURVE there is no key name.
  EXPECT_THAT(s, HasSubstr("w2      h     -      7    default     exec            1      0"));
  EXPECT_THAT(s, HasSubstr("2.000 s ago"));
}

TEST(FormatStats, ShowsEverySection) {
  json stats = json::parse(R"({"jobs": {"queued": 3, "dead": 1}, "queues": {"default": {"queued": 3,
    "running": 0, "scheduled": 2}}, "workers": 2, "counters": {"submitted": 10},
    "tasks": {"lease_reaper": {"runs": 7, "last_ms": 1714566896789},
              "wal_checkpoint": {"runs": 9, "last_ms": 1714566896789, "failures": 0,
                                 "pages_checkpointed": 1234, "wal_bytes": 4096}},
    "uptime_ms": 3723000, "version": "0.1.0", "extra": {"a": 1}})");
  const std::string s = FormatStats(stats);
  EXPECT_THAT(s, HasSubstr("version  0.1.0\n"));
  EXPECT_THAT(s, HasSubstr("uptime   1h02m03s\n"));
  EXPECT_THAT(s, HasSubstr("workers  2\n"));
  EXPECT_THAT(s, HasSubstr("jobs:\n  dead    1\n  queued  3\n"));
  EXPECT_THAT(s, HasSubstr("  default  3       0        2\n"));
  EXPECT_THAT(s, HasSubstr("counters:\n  submitted  10\n"));
  EXPECT_THAT(s, HasSubstr("  lease_reaper    7     2024-05-01T12:34:56Z\n"));
  EXPECT_THAT(s, HasSubstr("  wal_checkpoint  9     2024-05-01T12:34:56Z  "
                           "failures=0 pages_checkpointed=1234 wal_bytes=4096\n"));
  EXPECT_THAT(s, HasSubstr("extra  {\"a\":1}\n"));
  EXPECT_NO_THROW(FormatStats(json("x")));
  EXPECT_NO_THROW(FormatWorkers(json::object(), 0));
}

}  // namespace
}  // namespace sluice
