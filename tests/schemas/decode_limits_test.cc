// The decoding limits of every message (PROTOCOL.md §2.1, protocol.h):
// nesting at most kMaxDepth levels, at most kMaxElements values, no length
// beyond the bytes left, checked before anything is built and without
// recursion; msgpack -> JSON within the same limits; a JOB's attempt named
// even when its params cannot be decoded; UTF-8 checks and repairs.
#include <gtest/gtest.h>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "schemas/messages.h"
#include "schemas/msgpack_json.h"
#include "schemas/msgpack_reader.h"
#include "schemas/protocol.h"
#include "schemas/utf8.h"

namespace sluice::proto {
namespace {

// `levels` arrays inside one another, the innermost empty: 0x91 ... 0x90.
std::string NestedArrays(std::size_t levels) {
  std::string s(levels - 1, '\x91');
  s.push_back('\x90');
  return s;
}

// {"a": <levels nested arrays>}: a map nesting levels + 1 deep.
std::string MapOfNested(std::size_t levels) { return "\x81\xa1" "a" + NestedArrays(levels); }

std::string Be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

Status Unpack(const std::string& bytes) {
  msgpack::object_handle h;
  return UnpackValue(bytes, &h);
}

TEST(DecodeLimits, NestingUpTo64LevelsDecodesAndDeeperIsRefused) {
  EXPECT_TRUE(Unpack(NestedArrays(kMaxDepth)).ok());
  Status s = Unpack(NestedArrays(kMaxDepth + 1));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "nested deeper than 64 levels");
  // Maps count the same.
  EXPECT_TRUE(Unpack(MapOfNested(kMaxDepth - 1)).ok());
  EXPECT_FALSE(Unpack(MapOfNested(kMaxDepth)).ok());
}

// The attack: params nested 100,000 deep (a stack overflow in a recursive
// decoder), and 48 MiB of nested 1-element arrays (2 GB of RSS in the
// broker). Both are refused at level 65, having built nothing.
TEST(DecodeLimits, HundredThousandLevelsAndA48MiBNestIsRefusedWithoutRecursion) {
  Status s = Unpack(NestedArrays(100000));
  EXPECT_EQ(s.message(), "nested deeper than 64 levels");
  s = Unpack(NestedArrays(48u << 20));
  EXPECT_EQ(s.message(), "nested deeper than 64 levels");
  msgpack::zone zone;
  msgpack::object o;
  s = UnpackValue(NestedArrays(100000), &zone, &o);
  EXPECT_EQ(s.message(), "nested deeper than 64 levels");
}

TEST(DecodeLimits, LengthsBeyondTheMessageAllocateNothing) {
  // An array32 / map32 header claiming 2^32-1 entries, in a few bytes: a
  // decoder that trusted it would allocate 96-192 GiB.
  for (const std::string& bytes : {"\xdd" + Be32(0xffffffff) + "\xc0\xc0", "\xdf" + Be32(0xffffffff) + "\xa1" "a\xc0",
                                   "\xdb" + Be32(0xffffffff) + "abc", "\xc6" + Be32(0xffffffff) + "abc"}) {
    Status s = Unpack(bytes);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.message();
  }
}

TEST(DecodeLimits, AtMostMaxElementsValuesInOneMessage) {
  // An array of n nils is 1 + n values.
  auto nils = [](std::uint32_t n) { return "\xdd" + Be32(n) + std::string(n, '\xc0'); };
  EXPECT_TRUE(Unpack(nils(kMaxElements - 1)).ok());
  Status s = Unpack(nils(kMaxElements));
  EXPECT_EQ(s.message(), "more than 4194304 values in one message");
  // A map entry is two values; spread over many containers they add up.
  std::string many = "\xdd" + Be32(kMaxElements / 2);
  for (std::size_t i = 0; i < kMaxElements / 2; ++i) many += "\x91\xc0";
  EXPECT_EQ(Unpack(many).message(), "more than 4194304 values in one message");
}

TEST(DecodeLimits, MalformedAndTrailingBytes) {
  EXPECT_EQ(Unpack("").message(), "empty body");
  EXPECT_FALSE(Unpack("\xc1").ok());
  EXPECT_FALSE(Unpack("\x92\x01").ok());
  EXPECT_EQ(Unpack("\x01\x02").message(), "trailing bytes after msgpack body");
  msgpack::object_handle h;
  EXPECT_EQ(UnpackBody("\x92\x01\x02", &h).message(), "body is not a map");
}

TEST(DecodeLimits, EveryMessageDecoderAppliesThem) {
  // A SUBMIT job's params sit at level 4 (body, jobs, spec, params).
  auto submit = [](std::string params) {
    Submit m;
    m.req = 1;
    JobSpec j;
    j.kind = "test.noop";
    j.params = std::move(params);
    m.jobs.push_back(j);
    std::string body;
    Encode(m, &body);
    return body;
  };
  Submit d;
  EXPECT_TRUE(Decode(submit(MapOfNested(kMaxDepth - 4)), &d).ok());
  Status s = Decode(submit(MapOfNested(kMaxDepth - 3)), &d);
  EXPECT_EQ(s.message(), "SUBMIT: nested deeper than 64 levels");
  EXPECT_FALSE(Decode(submit(MapOfNested(100000)), &d).ok());
  // The error can still be matched to its request: `req` comes first.
  EXPECT_EQ(PeekReq(submit(MapOfNested(100000))), 1u);
  EXPECT_EQ(PeekReq(NestedArrays(100000)), 0u);
  EXPECT_EQ(PeekReq("\x81\xa3req"), 0u);  // truncated before the value

  JobResult r;
  r.job = "j1";
  r.attempt = 1;
  r.outputs = MapOfNested(100000);
  std::string body;
  Encode(r, &body);
  JobResult rd;
  EXPECT_EQ(Decode(body, &rd).message(), "RESULT: nested deeper than 64 levels");
}

// A JOB whose params cannot be decoded (stored by an older broker) still
// names its attempt, so the worker can refuse it instead of staying silent.
TEST(DecodeLimits, JobWithTooDeepParamsStillNamesItsAttempt) {
  std::string body;
  EncodeJob("j42", 3, "test.noop", "default", MapOfNested(100000), 0, &body);
  JobMsg m;
  Status s = Decode(body, &m);
  EXPECT_EQ(s.message(), "JOB: nested deeper than 64 levels");
  JobAttempt named;
  ASSERT_TRUE(PeekAttempt(body, &named).ok());
  EXPECT_EQ(named.job, "j42");
  EXPECT_EQ(named.attempt, 3u);
  // Only the top level counts: a nested `job` is not the attempt's.
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_map(1);
  pk.pack("inner");
  pk.pack_map(2);
  pk.pack("job");
  pk.pack("j1");
  pk.pack("attempt");
  pk.pack(1);
  EXPECT_FALSE(PeekAttempt(std::string(b.data(), b.size()), &named).ok());
  EXPECT_FALSE(PeekAttempt("", &named).ok());
  EXPECT_FALSE(PeekAttempt("\xc1\xc1", &named).ok());
}

TEST(MsgpackJson, ConvertsLikeNlohmannWithinTheLimits) {
  const nlohmann::json want = {{"s", "x"},   {"n", -5},        {"u", 7},
                               {"f", 1.5},   {"b", true},      {"z", nullptr},
                               {"a", {1, "two", {{"k", "v"}}}}, {"empty", nlohmann::json::object()}};
  std::vector<std::uint8_t> bytes = nlohmann::json::to_msgpack(want);
  auto got = MsgpackToJson(std::string(bytes.begin(), bytes.end()));
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, want);

  auto deep = MsgpackToJson(MapOfNested(100000));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().message(), "nested deeper than 64 levels");
  EXPECT_TRUE(MsgpackToJson(MapOfNested(kMaxDepth - 1)).ok());

  auto int_key = MsgpackToJson("\x81\x01\x02");
  ASSERT_FALSE(int_key.ok());
  EXPECT_EQ(int_key.status().message(), "a map key is not a string");

  auto bin = MsgpackToJson(std::string("\xc4\x02\xff\x00", 4));
  ASSERT_TRUE(bin.ok());
  ASSERT_TRUE(bin->is_binary());
  EXPECT_EQ(bin->get_binary(), (std::vector<std::uint8_t>{0xff, 0x00}));
}

TEST(Utf8, Validity) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));          // overlong NUL
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // cut short
  EXPECT_FALSE(IsValidUtf8("\x80"));              // a lone continuation byte
}

TEST(Utf8, RepairReplacesMaximalSubparts) {
  const std::string r(kReplacementChar);
  EXPECT_EQ(RepairUtf8("ok \xc3\xa9"), "ok \xc3\xa9");
  EXPECT_EQ(RepairUtf8("a\xe2\x82"), "a" + r);  // one character cut short: one U+FFFD
  EXPECT_EQ(RepairUtf8("\xff\xfe"), r + r);
  EXPECT_EQ(RepairUtf8("\xed\xa0\x80x"), r + r + r + "x");
  EXPECT_EQ(RepairUtf8("\xe2\x82\xe2\x82\xac"), r + "\xe2\x82\xac");
  EXPECT_TRUE(IsValidUtf8(RepairUtf8(std::string("\x00\x01\xff\xc3\x28\xa0\xa1\xf0\x28\x8c\xbc", 11))));
}

TEST(Utf8, ClampCutsBetweenCharacters) {
  std::string s = "\xc3\xa9\xc3\xa9\xc3\xa9";  // 3 x e-acute, 6 bytes
  std::string head = s, tail = s;
  ClampUtf8(&head, 5, false);
  ClampUtf8(&tail, 5, true);
  EXPECT_EQ(head, "\xc3\xa9\xc3\xa9");
  EXPECT_EQ(tail, "\xc3\xa9\xc3\xa9");
  // Raw bytes: a clean cut adds no U+FFFD; binary junk is repaired and
  // the result still fits.
  EXPECT_EQ(RepairAndClampUtf8("x" + s, 5, true), "\xc3\xa9\xc3\xa9");
  EXPECT_EQ(RepairAndClampUtf8(s + "x", 5, false), "\xc3\xa9\xc3\xa9");
  std::string junk = RepairAndClampUtf8(std::string(10000, '\xff'), 4096, true);
  EXPECT_LE(junk.size(), 4096u);
  EXPECT_TRUE(IsValidUtf8(junk));
  EXPECT_EQ(junk.size(), 4095u);  // 1365 x U+FFFD
}

}  // namespace
}  // namespace sluice::proto
