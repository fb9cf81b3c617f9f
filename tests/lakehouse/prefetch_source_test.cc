#include "pipeline/lakehouse/prefetch_source.h"

#include <gtest/gtest.h>

#include <cstring>

namespace sluice::lakehouse {
namespace {

// `chunks` reads of "abc", then an error (or the end).
class ScriptedSource final : public ByteSource {
 public:
  ScriptedSource(int chunks, bool fail) : left_(chunks), fail_(fail) {}
  Result<std::size_t> Read(char* dst, std::size_t cap) override {
    if (left_ == 0) {
      if (fail_) return Status::Corruption("truncated gzip: boom");
      return std::size_t{0};
    }
    --left_;
    std::size_t n = std::min<std::size_t>(cap, 3);
    std::memcpy(dst, "abc", n);
    return n;
  }

 private:
  int left_;
  bool fail_;
};

TEST(PrefetchSource, PassesBytesThroughInOrder) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data += std::to_string(i) + ",";
  auto src = PrefetchSource::Wrap(std::make_unique<StringSource>(data, 777), 4096, 3);
  auto all = ReadAll(*src);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, data);
}

TEST(PrefetchSource, ErrorComesAfterTheBytesBeforeIt) {
  auto src = PrefetchSource::Wrap(std::make_unique<ScriptedSource>(5, true), 4096, 2);
  std::string got;
  char buf[4];
  Status err;
  for (;;) {
    auto n = src->Read(buf, sizeof buf);
    if (!n.ok()) {
      err = n.status();
      break;
    }
    ASSERT_GT(*n, 0u) << "an error must not read as the end";
    got.append(buf, *n);
  }
  EXPECT_EQ(got, "abcabcabcabcabc");
  EXPECT_EQ(err.code(), Code::kCorruption);
  EXPECT_EQ(err.message(), "truncated gzip: boom");
}

TEST(PrefetchSource, StopsWhenTheReaderLeavesEarly) {
  auto src = PrefetchSource::Wrap(std::make_unique<ScriptedSource>(1000000, false), 4096, 2);
  char buf[2];
  ASSERT_TRUE(src->Read(buf, sizeof buf).ok());
  src.reset();  // joins the producer, which is blocked on a full queue
}

}  // namespace
}  // namespace sluice::lakehouse
