// The typed replies (schemas/replies.h): they decode the replies as the
// broker used to build them (JSON objects through to_msgpack), encode them
// back to the very same bytes, and give back the same JSON.
#include "schemas/replies.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "schemas/protocol.h"

namespace sluice::proto {
namespace replies_test {
namespace {

using json = nlohmann::json;

std::string Pack(const json& j) {
  std::string out;
  json::to_msgpack(j, out);
  return out;
}

// A REPLY as the broker built it as JSON: its fields, `req` and `ok`.
json Reply(std::uint64_t req, json fields) {
  fields["req"] = req;
  fields["ok"] = true;
  return fields;
}

json Job(bool detail) {
  json j = {{"id", "j12"},          {"state", "queued"},       {"kind", "exec"},
            {"queue", "default"},   {"priority", -5},          {"attempt", 2u},
            {"failures", 1u},       {"max_attempts", 5u},      {"backoff_ms", 5000u},
            {"timeout_ms", 1800000u}, {"run_at_ms", 1714566896789}, {"created_ms", 1714566896000},
            {"updated_ms", 1714566897000}, {"finished_ms", nullptr}, {"key", "k1"},
            {"error", "exit status 1"}};
  j["concurrency_key"] = "extract.http:ico";
  j["concurrency_limit"] = 4u;
  j["waiting"] = "no connected worker runs kind 'exec' on queue 'default'";
  if (!detail) return j;
  j["params"] = {{"a", "b"}, {"n", 3}, {"nested", {{"x", {1, 2, nullptr}}}}};
  j["outputs"] = nullptr;
  j["attempts"] = json::array();
  j["attempts"].push_back({{"attempt", 1u}, {"worker", "w1"}, {"host", "h"}, {"started_ms", 1714566896789},
                           {"finished_ms", 1714566897000}, {"outcome", "failed"}, {"error", "exit status 1"},
                           {"exit_code", json(-1)}, {"stdout", "out"}, {"stderr", nullptr}});
  j["attempts"].push_back({{"attempt", 2u}, {"worker", "w2"}, {"host", nullptr}, {"started_ms", 1714566897500},
                           {"finished_ms", nullptr}, {"outcome", nullptr}, {"error", nullptr},
                           {"exit_code", nullptr}, {"stdout", nullptr}, {"stderr", nullptr}});
  return j;
}

json PlainJob(const std::string& id) {
  return {{"id", id},           {"state", "succeeded"}, {"kind", "test.noop"}, {"queue", "default"},
          {"priority", 0},      {"attempt", 1u},        {"failures", 0u},      {"max_attempts", 5u},
          {"backoff_ms", 0u},   {"timeout_ms", 0u},     {"run_at_ms", 1},      {"created_ms", 1},
          {"updated_ms", 2},    {"finished_ms", 2},     {"key", nullptr},      {"error", nullptr}};
}

json RunObject() {
  json stages = json::array();
  stages.push_back({{"name", "extract"}, {"kind", "extract.http"}, {"state", "succeeded"}, {"job", "j7"},
                    {"attempt", 1u}, {"started_ms", 100}, {"finished_ms", 200}, {"error", nullptr},
                    {"depends_on", json::array()}, {"queue", "io"}, {"kind_served", true}});
  stages.push_back({{"name", "load"}, {"kind", "load"}, {"state", "pending"}, {"job", nullptr},
                    {"attempt", 0}, {"started_ms", nullptr}, {"finished_ms", nullptr}, {"error", nullptr},
                    {"depends_on", {"extract"}}, {"queue", "default"}, {"kind_served", false}});
  return {{"id", "r3"},
          {"state", "running"},
          {"workflow", "coffee"},
          {"trigger", "cron"},
          {"logical_date", "2024-05-01"},
          {"slot", "2024-05-01T06:00:00Z"},
          {"params", std::map<std::string, std::string>{{"date", "2024-05-01"}, {"source", "ico"}}},
          {"created_ms", 50},
          {"started_ms", 60},
          {"finished_ms", nullptr},
          {"stages", stages}};
}

json Worker() {
  json running = json::array();
  running.push_back({std::string("j1"), 2u});
  running.push_back({std::string("j9"), 1u});
  return {{"worker", "w1"}, {"host", "h"}, {"pid", 4242}, {"queues", {"default", "io"}},
          {"kinds", {"exec"}}, {"slots", 2u}, {"prefetch", 0u}, {"adaptive", false}, {"window", 0u}, {"busy", std::size_t{2}},
          {"version", "0.1.0"}, {"connected_ms", 1}, {"last_seen_ms", 2}, {"running", running}, {"key", nullptr}};
}

json Schedule(bool paused) {
  json j = {{"workflow", "daily"}, {"schedule", "0 6 * * *"}, {"paused", paused}, {"catch_up", "latest"},
            {"max_active_runs", 1u}, {"next_fire", "2024-05-02T06:00:00Z"}, {"last_fire", nullptr},
            {"active_runs", 0u}, {"unserved_stages", json::array()}};
  j["unserved_stages"].push_back({{"stage", "b"}, {"kind", "py.square"}, {"queue", "default"}});
  return j;
}

json Extraction() {
  return {{"run_id", 17}, {"extractor", "ico"}, {"started_at", "2024-05-01 06:00:00"}, {"finished_at", nullptr},
          {"status", "running"}, {"files_written", 0}, {"files_skipped", 3}, {"bytes_written", 123456789012},
          {"cursor_value", ""}, {"error_message", nullptr}, {"job_id", "j5"}, {"attempt", 1},
          {"source", "ico"}, {"url", "https://example.org/x.csv"}};
}

// The broker's bytes decode, re-encode to the same bytes, and the view is
// the broker's JSON object again.
template <typename Reply, typename Get>
void ExpectBrokerShape(const json& reply, const char* field, Get get) {
  const std::string bytes = Pack(reply);
  Reply m;
  Status s = Decode(bytes, &m);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(m.req, reply["req"].get<std::uint64_t>());
  std::string again;
  Encode(m, &again);
  EXPECT_EQ(again, bytes) << field << ": " << json::from_msgpack(again).dump() << "\n vs "
                          << reply.dump();
  if (field != nullptr) {
    EXPECT_EQ(ToJson(get(m)), reply[field]);
  }
}

TEST(Replies, JobRepliesAreWhatTheBrokerSends) {
  ExpectBrokerShape<JobReply>(Reply(7, {{"job", Job(true)}}), "job", [](const JobReply& r) { return r.job; });
  ExpectBrokerShape<JobReply>(Reply(8, {{"job", Job(false)}}), "job", [](const JobReply& r) { return r.job; });
  ExpectBrokerShape<JobReply>(Reply(9, {{"job", PlainJob("j1")}}), "job", [](const JobReply& r) { return r.job; });
  ExpectBrokerShape<ListReply>(Reply(10, {{"jobs", {Job(false), PlainJob("j2")}}}), "jobs",
                               [](const ListReply& r) { return r.jobs; });
  ExpectBrokerShape<ListReply>(Reply(11, {{"jobs", json::array()}}), "jobs",
                               [](const ListReply& r) { return r.jobs; });

  JobReply r;
  ASSERT_TRUE(Decode(Pack(Reply(7, {{"job", Job(true)}})), &r).ok());
  EXPECT_EQ(r.job.id, "j12");
  EXPECT_EQ(r.job.priority, -5);
  EXPECT_EQ(r.job.key, "k1");
  EXPECT_FALSE(r.job.finished_ms);
  EXPECT_TRUE(r.job.detail);
  ASSERT_EQ(r.job.attempts.size(), 2u);
  EXPECT_EQ(r.job.attempts[0].exit_code, -1);
  EXPECT_EQ(r.job.attempts[0].stdout_tail, "out");
  EXPECT_FALSE(r.job.attempts[1].finished_ms);
  EXPECT_TRUE(r.job.outputs.empty());
  EXPECT_EQ(json::from_msgpack(r.job.params), Job(true)["params"]);
}

TEST(Replies, StoredParamsShownAsAStringPassThrough) {
  json job = Job(true);
  job["params"] = "(params not shown: nested deeper than 64 levels)";
  ExpectBrokerShape<JobReply>(Reply(1, {{"job", job}}), "job", [](const JobReply& r) { return r.job; });
}

TEST(Replies, RunRepliesAreWhatTheBrokerSends) {
  ExpectBrokerShape<RunReply>(Reply(3, {{"run", RunObject()}}), "run", [](const RunReply& r) { return r.run; });
  json manual = RunObject();
  manual["slot"] = nullptr;
  manual["trigger"] = "manual";
  manual["params"] = json::object();
  manual["stages"] = json::array();
  ExpectBrokerShape<RunsReply>(Reply(4, {{"runs", {RunObject(), manual}}}), "runs",
                               [](const RunsReply& r) { return r.runs; });
  RunReply r;
  ASSERT_TRUE(Decode(Pack(Reply(3, {{"run", RunObject()}})), &r).ok());
  ASSERT_EQ(r.run.stages.size(), 2u);
  EXPECT_EQ(r.run.stages[0].job, "j7");
  EXPECT_EQ(r.run.stages[1].depends_on, std::vector<std::string>{"extract"});
  EXPECT_FALSE(r.run.stages[1].kind_served);
  EXPECT_EQ(r.run.params.at("source"), "ico");
}

TEST(Replies, WorkersSchedulesReloadExtractionsStats) {
  ExpectBrokerShape<WorkersReply>(Reply(1, {{"workers", {Worker()}}}), "workers",
                                  [](const WorkersReply& r) { return r.workers; });
  ExpectBrokerShape<SchedulesReply>(Reply(2, {{"schedules", {Schedule(false), Schedule(true)}}}), "schedules",
                                    [](const SchedulesReply& r) { return r.schedules; });
  ExpectBrokerShape<ScheduleReply>(Reply(3, {{"schedule", Schedule(true)}}), "schedule",
                                   [](const ScheduleReply& r) { return r.schedule; });
  ExpectBrokerShape<ExtractionsReply>(Reply(4, {{"extractions", {Extraction()}}}), "extractions",
                                      [](const ExtractionsReply& r) { return r.extractions; });
  json stats = {{"jobs", {{"queued", 1}, {"dead", 0}}},
                {"queues", {{"default", {{"scheduled", 0}, {"queued", 1}, {"running", 0}}}}},
                {"workers", 1}, {"uptime_ms", 5}, {"version", "0.1.0"},
                {"state_db", {{"writable", true}, {"error", ""}, {"held_results", 0}}}};
  ExpectBrokerShape<StatsReply>(Reply(5, {{"stats", stats}}), "stats",
                                [](const StatsReply& r) { return r.stats; });
  const json reload = Reply(6, {{"workflows", 3u}, {"path", "/etc/sluice/workflows.toml"}});
  ExpectBrokerShape<ReloadReply>(reload, nullptr, [](const ReloadReply& r) { return r; });
  ReloadReply rr;
  ASSERT_TRUE(Decode(Pack(reload), &rr).ok());
  EXPECT_EQ(ToJson(rr), (json{{"workflows", 3}, {"path", "/etc/sluice/workflows.toml"}}));

  WorkersReply w;
  ASSERT_TRUE(Decode(Pack(Reply(1, {{"workers", {Worker()}}})), &w).ok());
  ASSERT_EQ(w.workers[0].running.size(), 2u);
  EXPECT_EQ(w.workers[0].running[1].job, "j9");
  ExtractionsReply x;
  ASSERT_TRUE(Decode(Pack(Reply(4, {{"extractions", {Extraction()}}})), &x).ok());
  EXPECT_EQ(x.extractions[0].cursor_value, "");  // '' and NULL differ
  EXPECT_FALSE(x.extractions[0].error_message);
  EXPECT_EQ(x.extractions[0].bytes_written, 123456789012);
}

TEST(Replies, TypedValuesRoundTrip) {
  JobReply job{.req = 1};
  job.job = JobView{.id = "j1", .state = "running", .kind = "k", .queue = "q", .priority = 3, .attempt = 1};
  job.job.detail = true;
  job.job.params = std::string("\x81\xa1" "a" "\x01", 4);
  job.job.attempts.push_back(AttemptView{.attempt = 1, .worker = "w", .started_ms = 5});
  RunReply run{.req = 2};
  run.run = RunView{.id = "r1", .state = "queued", .workflow = "w", .params = {{"a", "b"}}};
  run.run.stages.push_back(StageView{.name = "s", .depends_on = {"t"}, .kind_served = true});
  auto check = [](const auto& m) {
    std::string once, twice;
    Encode(m, &once);
    std::remove_cvref_t<decltype(m)> back;
    Status s = Decode(once, &back);
    ASSERT_TRUE(s.ok()) << s.message();
    Encode(back, &twice);
    EXPECT_EQ(once, twice);
  };
  check(job);
  check(run);
  check(ListReply{.req = 3, .jobs = {job.job, job.job}});
  check(RunsReply{.req = 4, .runs = {run.run}});
  check(WorkersReply{.req = 5, .workers = {WorkerView{.worker = "w", .running = {{"j1", 1}}}}});
  check(SchedulesReply{.req = 6, .schedules = {ScheduleView{.workflow = "w", .unserved_stages = {{"s", "k", "q"}}}}});
  check(ScheduleReply{.req = 7, .schedule = ScheduleView{.workflow = "w", .paused = true}});
  check(ReloadReply{.req = 8, .workflows = 2, .path = "/p"});
  check(ExtractionsReply{.req = 9, .extractions = {ExtractionRow{.run_id = 1, .source = "s"}}});
  check(StatsReply{.req = 10, .stats = StatsView{.doc = {{"uptime_ms", 5}}}});
  // A map of more than 15 entries (a job) widens its header: still one value.
  std::string bytes;
  Encode(job, &bytes);
  EXPECT_EQ(json::from_msgpack(bytes)["job"]["id"], "j1");
}

TEST(Replies, PartialObjectsOfOtherBrokersDecode) {
  // Only the identifying fields are required; unknown ones are ignored.
  JobReply j;
  ASSERT_TRUE(Decode(Pack(Reply(1, {{"job", {{"id", "j7"}, {"state", "queued"}, {"new_field", {1}}}}})), &j).ok());
  EXPECT_EQ(j.job.id, "j7");
  EXPECT_FALSE(j.job.detail);
  RunReply r;
  ASSERT_TRUE(Decode(Pack(Reply(1, {{"run", {{"id", "r3"}, {"state", "running"}}}})), &r).ok());
  ScheduleReply s;
  ASSERT_TRUE(Decode(Pack(Reply(1, {{"schedule", {{"workflow", "w"}, {"paused", true}}}})), &s).ok());
  EXPECT_TRUE(s.schedule.paused);
  // Text that is not UTF-8 (a tail stored by an older broker) is repaired.
  json job = Job(true);
  job["attempts"][0]["stdout"] = "ok \xff";
  ASSERT_TRUE(Decode(Pack(Reply(1, {{"job", job}})), &j).ok());
  EXPECT_EQ(j.job.attempts[0].stdout_tail, "ok \xEF\xBF\xBD");
}

void ExpectRefused(const Status& s, const std::string& what) {
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << what;
  EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
}

TEST(Replies, MalformedRepliesAreRefused) {
  JobReply j;
  ExpectRefused(Decode(Pack({{"ok", true}, {"job", PlainJob("j1")}}), &j), "job reply: missing field 'req'");
  ExpectRefused(Decode(Pack(Reply(1, {{"job", "not a map"}})), &j), "job reply: job: expected a map");
  ExpectRefused(Decode(Pack(Reply(1, json::object())), &j), "job reply: missing field 'job'");
  ExpectRefused(Decode(Pack(Reply(1, {{"job", {{"state", "queued"}}}})), &j), "job reply: job: missing field 'id'");
  json bad_attempt = Job(true);
  bad_attempt["attempts"][1]["attempt"] = "two";
  ExpectRefused(Decode(Pack(Reply(1, {{"job", bad_attempt}})), &j),
                "job reply: job: attempts[1]: field 'attempt' must be a non-negative integer");
  json ko = Reply(1, {{"job", PlainJob("j1")}});
  ko["ok"] = false;
  ExpectRefused(Decode(Pack(ko), &j), "field 'ok' is false");
  ListReply l;
  ExpectRefused(Decode(Pack(Reply(1, {{"jobs", {PlainJob("j1"), 3}}})), &l), "LIST reply: jobs[1]: expected a map");
  ExpectRefused(Decode(Pack(Reply(1, {{"jobs", "x"}})), &l), "LIST reply: field 'jobs' must be an array");
  const std::string whole = Pack(Reply(1, {{"jobs", {PlainJob("j1")}}}));
  ExpectRefused(Decode(whole.substr(0, whole.size() / 2), &l), "LIST reply: malformed msgpack");
  RunReply r;
  ExpectRefused(Decode(Pack(Reply(1, {{"job", PlainJob("r1")}})), &r), "run reply: missing field 'run'");
  json run = RunObject();
  run["params"] = {{"n", 1}};
  ExpectRefused(Decode(Pack(Reply(1, {{"run", run}})), &r), "run reply: run: field 'params' must be a map of strings");
  run = RunObject();
  run["stages"][1]["depends_on"] = "extract";
  ExpectRefused(Decode(Pack(Reply(1, {{"run", run}})), &r),
                "run reply: run: stages[1]: field 'depends_on' must be an array of strings");
  ReloadReply rr;
  ExpectRefused(Decode(Pack(Reply(1, {{"path", "/w.toml"}})), &rr), "RELOAD reply: missing field 'workflows'");
  WorkersReply w;
  json worker = Worker();
  worker["running"] = {{"j1"}};
  ExpectRefused(Decode(Pack(Reply(1, {{"workers", {worker}}})), &w),
                "WORKERS reply: workers[0]: field 'running' must be an array of [job, attempt]");
  StatsReply st;
  ExpectRefused(Decode(Pack(Reply(1, {{"stats", {1, 2}}})), &st), "STATS reply: stats: must be a map");
  // Lists are bounded.
  ExpectRefused(Decode(Pack(Reply(1, {{"workers", json(std::vector<int>(kMaxReplyItems + 1, 0))}})), &w),
                "WORKERS reply: field 'workers' has more than 100000 items");
}

}  // namespace
}  // namespace replies_test
}  // namespace sluice::proto
