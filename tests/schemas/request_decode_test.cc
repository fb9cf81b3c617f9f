#include "schemas/request_decode.h"

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "schemas/envelope.h"
#include "schemas/messages.h"
#include "schemas/protocol.h"

namespace sluice::proto {
namespace {

using Value = std::variant<std::int64_t, std::string, bool>;
using Fields = std::vector<std::pair<std::string, Value>>;

// A msgpack map of the given fields, in order.
std::string Pack(const Fields& fields) {
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_map(static_cast<std::uint32_t>(fields.size()));
  for (const auto& [key, value] : fields) {
    pk.pack(key);
    std::visit([&](const auto& v) { pk.pack(v); }, value);
  }
  return {b.data(), b.size()};
}

std::uint8_t Code(Command c) { return static_cast<std::uint8_t>(c); }

TEST(DecodeRequest, EveryCommandTakesAWellFormedBody) {
  std::string ready, result, job, cancel, ack, submit, error, recall, done;
  Encode(Ready{.worker = "w1", .kinds = {"test.noop"}}, &ready);
  Encode(JobResult{.job = "j1", .attempt = 1}, &result);
  Encode(JobMsg{.job = "j1", .attempt = 1, .kind = "test.noop", .queue = "default"}, &job);
  Encode(CancelMsg{.job = "j1", .attempt = 1}, &cancel);
  Encode(Ack{.acks = {{"j1", 1}}}, &ack);
  Encode(RecallMsg{.jobs = {{"j1", 1}}}, &recall);
  Encode(DoneMsg{.job = "j1", .state = JobState::kSucceeded}, &done);
  Encode(Submit{.req = 1, .jobs = {JobSpec{.kind = "test.noop"}}}, &submit);
  Encode(ErrorMsg{.req = 1, .code = "bad_request", .message = "no"}, &error);
  const std::string req = Pack({{"req", 7}});
  const std::string id = Pack({{"req", 7}, {"id", "j12"}});
  const std::string run = Pack({{"req", 7}, {"workflow", "coffee"}});
  const std::map<Command, std::string> bodies = {
      {Command::kReady, ready},      {Command::kHeartbeat, ""},     {Command::kResult, result},
      {Command::kBye, ""},           {Command::kJob, job},          {Command::kCancel, cancel},
      {Command::kAck, ack},          {Command::kSubmit, submit},    {Command::kRun, run},
      {Command::kStatus, id},        {Command::kList, req},         {Command::kRetry, id},
      {Command::kCancelJob, id},     {Command::kWorkers, req},      {Command::kStats, req},
      {Command::kExtractions, req},  {Command::kRuns, req},         {Command::kSchedules, req},
      {Command::kPause, run},        {Command::kResume, run},       {Command::kReload, req},
      {Command::kReply, Pack({{"req", 7}, {"ok", true}})},          {Command::kError, error},
      {Command::kRecall, recall},    {Command::kDone, done},
  };
  for (int code = 0; code < 256; ++code) {
    if (CommandName(static_cast<std::uint8_t>(code)) == nullptr) continue;
    auto it = bodies.find(static_cast<Command>(code));
    ASSERT_NE(it, bodies.end()) << "no test body for " << CommandName(static_cast<std::uint8_t>(code));
    Status s = DecodeRequest(static_cast<std::uint8_t>(code), it->second);
    EXPECT_TRUE(s.ok()) << CommandName(static_cast<std::uint8_t>(code)) << ": "
                        << s.message();
  }
}

TEST(DecodeRequest, UnknownCommandByte) {
  Status s = DecodeRequest(0x30, Pack({{"req", 1}}));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "unknown command 0x30");
}

TEST(DecodeRequest, MalformedBodyNamesTheCommand) {
  Status s = DecodeRequest(Code(Command::kList), std::string("\x81\xa3req", 5));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("LIST: ", 0), 0u) << s.message();
  s = DecodeRequest(Code(Command::kRun), std::string(1, '\x91'));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("RUN: ", 0), 0u) << s.message();
}

TEST(DecodeRequest, IdsAreJobIdsAndForStatusAndCancelRunIds) {
  const std::string run = Pack({{"req", 1}, {"id", "r12"}});
  EXPECT_TRUE(DecodeRequest(Code(Command::kStatus), run).ok());
  EXPECT_TRUE(DecodeRequest(Code(Command::kCancelJob), run).ok());
  EXPECT_EQ(DecodeRequest(Code(Command::kRetry), run).code(), Code::kNotFound);
  EXPECT_EQ(DecodeRequest(Code(Command::kStatus), Pack({{"req", 1}, {"id", "x"}})).code(), Code::kNotFound);
  // `req` is required of these requests.
  Status s = DecodeRequest(Code(Command::kStatus), Pack({{"id", "j1"}}));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'req'"), std::string::npos) << s.message();
}

TEST(DecodeRequest, FieldsAreChecked) {
  Status s = DecodeRequest(Code(Command::kList), Pack({{"req", 1}, {"state", "sleeping"}}));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'state'"), std::string::npos) << s.message();
  EXPECT_FALSE(DecodeRequest(Code(Command::kList), Pack({{"req", 1}, {"limit", 10001}})).ok());
  EXPECT_FALSE(DecodeRequest(Code(Command::kExtractions), Pack({{"req", 1}, {"source", "a b"}})).ok());
  EXPECT_FALSE(DecodeRequest(Code(Command::kRun), Pack({{"req", 1}})).ok());
  EXPECT_FALSE(DecodeRequest(Code(Command::kPause), Pack({{"req", 1}, {"workflow", 3}})).ok());
  EXPECT_FALSE(DecodeRequest(Code(Command::kReply), Pack({{"req", 1}})).ok());
}

TEST(DecodeRequest, RunParamsMapNamesToStrings) {
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_map(3);
  pk.pack(std::string("req"));
  pk.pack(1);
  pk.pack(std::string("workflow"));
  pk.pack(std::string("coffee"));
  pk.pack(std::string("params"));
  pk.pack(std::map<std::string, std::string>{{"date", "2024-03-01"}});
  EXPECT_TRUE(DecodeRequest(Code(Command::kRun), std::string(b.data(), b.size())).ok());

  Status s = DecodeRequest(Code(Command::kRun), Pack({{"req", 1}, {"workflow", "coffee"}, {"params", 3}}));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "RUN: field 'params' must be a map");
  b.clear();
  pk.pack_map(3);
  pk.pack(std::string("req"));
  pk.pack(1);
  pk.pack(std::string("workflow"));
  pk.pack(std::string("coffee"));
  pk.pack(std::string("params"));
  pk.pack(std::map<std::string, int>{{"n", 1}});
  s = DecodeRequest(Code(Command::kRun), std::string(b.data(), b.size()));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'params'"), std::string::npos) << s.message();
  // A params key is a name.
  b.clear();
  pk.pack_map(3);
  pk.pack(std::string("req"));
  pk.pack(1);
  pk.pack(std::string("workflow"));
  pk.pack(std::string("coffee"));
  pk.pack(std::string("params"));
  pk.pack(std::map<std::string, std::string>{{"a b", "x"}});
  s = DecodeRequest(Code(Command::kRun), std::string(b.data(), b.size()));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'params' key 'a b'"), std::string::npos) << s.message();
}

// RUN, RUNS, PAUSE, RESUME and RELOAD are read as strictly as the other
// requests (the broker decodes them with the codecs of requests.h).
TEST(DecodeRequest, WorkflowRequestsHaveTheOneStrictness) {
  // `req` is required (it was optional, and RELOAD read no field at all).
  const std::pair<Command, std::string> no_req[] = {
      {Command::kRun, Pack({{"workflow", "coffee"}})},   {Command::kRuns, Pack({})},
      {Command::kPause, Pack({{"workflow", "coffee"}})}, {Command::kResume, Pack({{"workflow", "coffee"}})},
      {Command::kReload, Pack({})},
  };
  for (const auto& [cmd, body] : no_req) {
    const std::string name = CommandName(Code(cmd));
    Status s = DecodeRequest(Code(cmd), body);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << name;
    EXPECT_EQ(s.message(), name + ": missing field 'req'") << name;
  }
  // A body that is not a map.
  for (Command cmd : {Command::kRuns, Command::kReload}) {
    Status s = DecodeRequest(Code(cmd), std::string("\x91\x01", 2));
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << CommandName(Code(cmd));
    EXPECT_EQ(s.message().rfind(std::string(CommandName(Code(cmd))) + ": ", 0), 0u) << s.message();
  }
  // RUNS: `limit` above 10,000 refused (it was clamped), or not a uint
  // (it was ignored); `state` a run state; `workflow` a name.
  Status s = DecodeRequest(Code(Command::kRuns), Pack({{"req", 1}, {"limit", 10001}}));
  EXPECT_EQ(s.message(), "RUNS: field 'limit' must be at most 10000");
  EXPECT_TRUE(DecodeRequest(Code(Command::kRuns), Pack({{"req", 1}, {"limit", 10000}})).ok());
  EXPECT_FALSE(DecodeRequest(Code(Command::kRuns), Pack({{"req", 1}, {"limit", -1}})).ok());
  EXPECT_FALSE(DecodeRequest(Code(Command::kRuns), Pack({{"req", 1}, {"limit", "5"}})).ok());
  s = DecodeRequest(Code(Command::kRuns), Pack({{"req", 1}, {"state", "dead"}}));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'state'"), std::string::npos) << s.message();
  EXPECT_TRUE(DecodeRequest(Code(Command::kRuns), Pack({{"req", 1}, {"state", "cancelled"}})).ok());
  EXPECT_FALSE(DecodeRequest(Code(Command::kRuns), Pack({{"req", 1}, {"workflow", "a/b"}})).ok());
  // RUN, PAUSE, RESUME: `workflow` is a required name.
  for (Command cmd : {Command::kRun, Command::kPause, Command::kResume}) {
    const std::string name = CommandName(Code(cmd));
    EXPECT_FALSE(DecodeRequest(Code(cmd), Pack({{"req", 1}})).ok()) << name;
    EXPECT_FALSE(DecodeRequest(Code(cmd), Pack({{"req", 1}, {"workflow", ""}})).ok()) << name;
    s = DecodeRequest(Code(cmd), Pack({{"req", 1}, {"workflow", "no such/name"}}));
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << name;
    EXPECT_NE(s.message().find("'workflow'"), std::string::npos) << s.message();
  }
  // Every str is UTF-8, unread fields included.
  s = DecodeRequest(Code(Command::kReload), Pack({{"req", 1}, {"x", std::string("caf\xc3")}}));
  EXPECT_EQ(s.message(), "RELOAD: field 'x' is not valid UTF-8");
}

// Frames built in memory, as the fuzzer does.
Incoming Frames(std::initializer_list<std::string> frames) {
  Incoming in;
  for (const std::string& f : frames) in.frames.emplace_back(f.data(), f.size());
  return in;
}

TEST(ParseFrames, ClassifiesWithoutASocket) {
  Incoming in = Frames({"peer", "SLUICE1", std::string(1, '\x12'), "body"});
  EXPECT_EQ(ParseFrames(true, &in), FrameError::kNone);
  EXPECT_EQ(in.routing_id, "peer");
  EXPECT_EQ(in.command, 0x12);
  EXPECT_EQ(in.body, "body");

  in = Frames({"SLUICE1", std::string(1, '\x02')});
  EXPECT_EQ(ParseFrames(false, &in), FrameError::kNone);
  EXPECT_TRUE(in.body.empty());

  in = Frames({"peer", "SLUICE2", std::string(1, '\x02')});
  EXPECT_EQ(ParseFrames(true, &in), FrameError::kVersion);
  in = Frames({"peer", "SLUICE1", std::string(1, '\x7f')});
  EXPECT_EQ(ParseFrames(true, &in), FrameError::kUnknownCommand);
  in = Frames({"peer", "SLUICE1", "\x02\x02"});
  EXPECT_EQ(ParseFrames(true, &in), FrameError::kGarbage);
  in = Frames({"peer", "HTTP/1.1", std::string(1, '\x02')});
  EXPECT_EQ(ParseFrames(true, &in), FrameError::kGarbage);
  in = Frames({"peer"});
  EXPECT_EQ(ParseFrames(true, &in), FrameError::kGarbage);
  in = Frames({});
  EXPECT_EQ(ParseFrames(true, &in), FrameError::kGarbage);
  EXPECT_EQ(ParseFrames(false, &in), FrameError::kGarbage);
}

}  // namespace
}  // namespace sluice::proto
