// The typed client requests (schemas/requests.h): round trips and refusals.
#include "schemas/requests.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "schemas/protocol.h"

namespace sluice::proto {
namespace requests_test {
namespace {

using json = nlohmann::json;

std::string Pack(const json& j) {
  std::string out;
  json::to_msgpack(j, out);
  return out;
}

template <typename M>
M RoundTrip(const M& m) {
  std::string once;
  Encode(m, &once);
  // `req` comes first, so that PeekReq finds it in a body refused later.
  EXPECT_EQ(once.substr(1, 4), std::string("\xa3req", 4));
  M back;
  Status s = Decode(once, &back);
  EXPECT_TRUE(s.ok()) << s.message();
  std::string twice;
  Encode(back, &twice);
  EXPECT_EQ(once, twice);
  return back;
}

TEST(Requests, RoundTrips) {
  EXPECT_EQ(RoundTrip(StatusRequest{.req = 1, .id = "j12"}).id, "j12");
  EXPECT_EQ(RoundTrip(RetryRequest{.req = 2, .id = "j3"}).id, "j3");
  EXPECT_EQ(RoundTrip(CancelJobRequest{.req = 3, .id = "r4"}).id, "r4");
  ListRequest l = RoundTrip(ListRequest{.req = 4, .state = "queued", .queue = "io", .kind = "exec", .limit = 7});
  EXPECT_EQ(l.req, 4u);
  EXPECT_EQ(l.state, "queued");
  EXPECT_EQ(l.queue, "io");
  EXPECT_EQ(l.kind, "exec");
  EXPECT_EQ(l.limit, 7u);
  ExtractionsRequest x = RoundTrip(ExtractionsRequest{.req = 5, .source = "ico", .limit = kMaxLimit});
  EXPECT_EQ(x.source, "ico");
  EXPECT_EQ(x.limit, kMaxLimit);
  RunRequest run = RoundTrip(RunRequest{.req = 6, .workflow = "coffee", .params = {{"date", "2024-03-01"}, {"x", "é"}}});
  EXPECT_EQ(run.workflow, "coffee");
  EXPECT_EQ(run.params.at("date"), "2024-03-01");
  EXPECT_EQ(run.params.at("x"), "é");
  RunsRequest runs = RoundTrip(RunsRequest{.req = 7, .workflow = "coffee", .state = "failed", .limit = 3});
  EXPECT_EQ(runs.state, "failed");
  EXPECT_EQ(runs.limit, 3u);
  EXPECT_EQ(RoundTrip(PauseRequest{.req = 8, .workflow = "w"}).workflow, "w");
  EXPECT_EQ(RoundTrip(ResumeRequest{.req = 9, .workflow = "w"}).workflow, "w");
  EXPECT_EQ(RoundTrip(SchedulesRequest{.req = 10}).req, 10u);
  EXPECT_EQ(RoundTrip(ReloadRequest{.req = 11}).req, 11u);
  EXPECT_EQ(RoundTrip(WorkersRequest{.req = 12}).req, 12u);
  EXPECT_EQ(RoundTrip(StatsRequest{.req = 13}).req, 13u);
}

TEST(Requests, EmptyOptionalFieldsAreLeftOut) {
  std::string body;
  Encode(RunsRequest{.req = 1}, &body);
  EXPECT_EQ(json::from_msgpack(body), (json{{"req", 1}}));
  body.clear();
  Encode(RunRequest{.req = 1, .workflow = "w"}, &body);
  EXPECT_EQ(json::from_msgpack(body), (json{{"req", 1}, {"workflow", "w"}}));
  body.clear();
  Encode(ListRequest{.req = 1, .kind = "k"}, &body);
  EXPECT_EQ(json::from_msgpack(body), (json{{"req", 1}, {"kind", "k"}}));
}

template <typename M>
Status DecodeAs(const json& body) {
  M m;
  return Decode(Pack(body), &m);
}

void ExpectRefused(const Status& s, const std::string& what) {
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << what;
  EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
}

TEST(Requests, ReqIsRequiredOfEveryRequest) {
  ExpectRefused(DecodeAs<StatusRequest>({{"id", "j1"}}), "STATUS: missing field 'req'");
  ExpectRefused(DecodeAs<RetryRequest>({{"id", "j1"}}), "RETRY: missing field 'req'");
  ExpectRefused(DecodeAs<CancelJobRequest>({{"id", "j1"}}), "CANCEL_JOB: missing field 'req'");
  ExpectRefused(DecodeAs<ListRequest>(json::object()), "LIST: missing field 'req'");
  ExpectRefused(DecodeAs<ExtractionsRequest>(json::object()), "EXTRACTIONS: missing field 'req'");
  ExpectRefused(DecodeAs<RunRequest>({{"workflow", "w"}}), "RUN: missing field 'req'");
  ExpectRefused(DecodeAs<RunsRequest>(json::object()), "RUNS: missing field 'req'");
  ExpectRefused(DecodeAs<PauseRequest>({{"workflow", "w"}}), "PAUSE: missing field 'req'");
  ExpectRefused(DecodeAs<ResumeRequest>({{"workflow", "w"}}), "RESUME: missing field 'req'");
  ExpectRefused(DecodeAs<SchedulesRequest>(json::object()), "SCHEDULES: missing field 'req'");
  ExpectRefused(DecodeAs<ReloadRequest>(json::object()), "RELOAD: missing field 'req'");
  ExpectRefused(DecodeAs<WorkersRequest>(json::object()), "WORKERS: missing field 'req'");
  ExpectRefused(DecodeAs<StatsRequest>(json::object()), "STATS: missing field 'req'");
  // Not a map at all.
  RunRequest r;
  ExpectRefused(Decode(Pack(json::array({1})), &r), "RUN: body is not a map");
  ReloadRequest reload;
  ExpectRefused(Decode("", &reload), "RELOAD: empty body");
}

TEST(Requests, ALimitAboveTheMaximumIsRefusedNotClamped) {
  ExpectRefused(DecodeAs<ListRequest>({{"req", 1}, {"limit", 20000}}), "LIST: field 'limit' must be at most 10000");
  ExpectRefused(DecodeAs<RunsRequest>({{"req", 1}, {"limit", 20000}}), "RUNS: field 'limit' must be at most 10000");
  ExpectRefused(DecodeAs<ExtractionsRequest>({{"req", 1}, {"limit", 20000}}),
                "EXTRACTIONS: field 'limit' must be at most 10000");
  RunsRequest runs;
  ASSERT_TRUE(Decode(Pack({{"req", 1}, {"limit", 10000}}), &runs).ok());
  EXPECT_EQ(runs.limit, 10000u);
  ListRequest list;
  ASSERT_TRUE(Decode(Pack({{"req", 1}, {"limit", 0}}), &list).ok());
  EXPECT_EQ(EffectiveLimit(list.limit, kDefaultListLimit), 100u);
  EXPECT_EQ(EffectiveLimit(runs.limit, kDefaultRunsLimit), 10000u);
}

TEST(Requests, NamesFollowTheNameRule) {
  ExpectRefused(DecodeAs<ListRequest>({{"req", 1}, {"queue", "a b"}}), "LIST: field 'queue' must be 1-64");
  ExpectRefused(DecodeAs<ListRequest>({{"req", 1}, {"kind", std::string(65, 'k')}}), "LIST: field 'kind'");
  ExpectRefused(DecodeAs<ExtractionsRequest>({{"req", 1}, {"source", "../x"}}), "EXTRACTIONS: field 'source'");
  ExpectRefused(DecodeAs<RunRequest>({{"req", 1}, {"workflow", "a/b"}}), "RUN: field 'workflow' must be 1-64");
  ExpectRefused(DecodeAs<RunRequest>({{"req", 1}}), "RUN: missing field 'workflow'");
  ExpectRefused(DecodeAs<RunsRequest>({{"req", 1}, {"workflow", ""}}), "RUNS: field 'workflow'");
  ExpectRefused(DecodeAs<PauseRequest>({{"req", 1}, {"workflow", "x y"}}), "PAUSE: field 'workflow'");
  ExpectRefused(DecodeAs<ResumeRequest>({{"req", 1}}), "RESUME: missing field 'workflow'");
  ExpectRefused(DecodeAs<RunRequest>({{"req", 1}, {"workflow", "w"}, {"params", {{"a b", "1"}}}}),
                "RUN: field 'params' key 'a b' must be 1-64");
}

TEST(Requests, StatesAreChecked) {
  ExpectRefused(DecodeAs<ListRequest>({{"req", 1}, {"state", "sleeping"}}), "LIST: field 'state' is not a job state");
  ExpectRefused(DecodeAs<RunsRequest>({{"req", 1}, {"state", "dead"}}), "RUNS: field 'state' is not a run state");
  for (std::string_view s : kRunStates) EXPECT_TRUE(DecodeAs<RunsRequest>({{"req", 1}, {"state", s}}).ok()) << s;
}

TEST(Requests, StringsMustBeUtf8AndBounded) {
  ExpectRefused(DecodeAs<ListRequest>({{"req", 1}, {"kind", "\xff"}}), "LIST: field 'kind' is not valid UTF-8");
  // Fields nobody reads too.
  ExpectRefused(DecodeAs<StatsRequest>({{"req", 1}, {"note", "\xc3"}}), "STATS: field 'note' is not valid UTF-8");
  ExpectRefused(DecodeAs<RunRequest>({{"req", 1}, {"workflow", "w"}, {"params", {{"date", "\xe2\x82"}}}}),
                "not valid UTF-8");
  ExpectRefused(DecodeAs<StatusRequest>({{"req", 1}, {"id", std::string(65, 'j')}}), "STATUS: field 'id' longer than 64");
  ExpectRefused(DecodeAs<StatusRequest>({{"req", 1}, {"id", ""}}), "STATUS: field 'id' must not be empty");
  ExpectRefused(DecodeAs<RunRequest>({{"req", 1}, {"workflow", "w"},
                                      {"params", {{"p", std::string(kMaxRunParamBytes + 1, 'v')}}}}),
                "RUN: field 'params' value of 'p' longer than");
  json many = json::object();
  for (std::size_t i = 0; i <= kMaxRunParams; ++i) many["p" + std::to_string(i)] = "v";
  ExpectRefused(DecodeAs<RunRequest>({{"req", 1}, {"workflow", "w"}, {"params", many}}),
                "RUN: field 'params' has more than 256 entries");
}

TEST(Requests, WrongTypesAreRefused) {
  ExpectRefused(DecodeAs<WorkersRequest>({{"req", "1"}}), "WORKERS: field 'req' must be a non-negative integer");
  ExpectRefused(DecodeAs<ListRequest>({{"req", 1}, {"limit", -1}}), "LIST: field 'limit' must be a non-negative integer");
  ExpectRefused(DecodeAs<RunsRequest>({{"req", 1}, {"limit", "5"}}), "RUNS: field 'limit'");
  ExpectRefused(DecodeAs<ListRequest>({{"req", 1}, {"state", 3}}), "LIST: field 'state' must be a string");
  ExpectRefused(DecodeAs<StatusRequest>({{"req", 1}, {"id", 5}}), "STATUS: field 'id' must be a string");
  ExpectRefused(DecodeAs<RunRequest>({{"req", 1}, {"workflow", "w"}, {"params", 3}}), "RUN: field 'params' must be a map");
  ExpectRefused(DecodeAs<RunRequest>({{"req", 1}, {"workflow", "w"}, {"params", {{"n", 1}}}}),
                "RUN: field 'params' must map strings to strings");
  ExpectRefused(DecodeAs<PauseRequest>({{"req", 1}, {"workflow", 3}}), "PAUSE: field 'workflow' must be a string");
}

TEST(Requests, UnknownFieldsAndNilsAreIgnored) {
  RunRequest r;
  ASSERT_TRUE(Decode(Pack({{"req", 1}, {"workflow", "w"}, {"params", nullptr}, {"future", {1, 2}}}), &r).ok());
  EXPECT_TRUE(r.params.empty());
}

}  // namespace
}  // namespace requests_test
}  // namespace sluice::proto
