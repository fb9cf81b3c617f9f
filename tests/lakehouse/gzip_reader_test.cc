#include "pipeline/lakehouse/gzip_reader.h"

#include <gtest/gtest.h>

#include "tests/lakehouse/lake_fixture.h"

namespace sluice::lakehouse {
namespace {

using testing::Gzip;
using testing::TempDir;
using testing::WriteFile;

Result<std::string> Inflate(const std::string& path) {
  auto gz = GzipFileReader::Open(path);
  if (!gz.ok()) return gz.status();
  return ReadAll(**gz);
}

std::string Sample(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; s.size() < n; ++i) s += std::to_string(i * 7919 % 100003) + ",row\n";
  s.resize(n);
  return s;
}

TEST(GzipFileReader, ReadsOneMember) {
  TempDir dir;
  std::string data = Sample(3 << 20);
  WriteFile(dir.path() + "/a.gz", Gzip(data));
  auto r = Inflate(dir.path() + "/a.gz");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, data);
}

TEST(GzipFileReader, ReadsConcatenatedMembers) {
  TempDir dir;
  WriteFile(dir.path() + "/a.gz", Gzip("first\n") + Gzip("") + Gzip("second\n"));
  auto r = Inflate(dir.path() + "/a.gz");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "first\nsecond\n");
}

TEST(GzipFileReader, TruncatedIsAnError) {
  TempDir dir;
  std::string gz = Gzip(Sample(1 << 20));
  for (std::size_t cut : {gz.size() - 1, gz.size() - 8, gz.size() / 2, std::size_t{10}}) {
    WriteFile(dir.path() + "/t.gz", gz.substr(0, cut));
    auto r = Inflate(dir.path() + "/t.gz");
    ASSERT_FALSE(r.ok()) << "cut at " << cut;
    EXPECT_NE(r.status().message().find("truncated gzip"), std::string::npos) << r.status().message();
  }
}

TEST(GzipFileReader, CorruptEmptyAndTrailingGarbageAreErrors) {
  TempDir dir;
  std::string gz = Gzip(Sample(100000));
  std::string bad = gz;
  bad[bad.size() / 2] ^= 0x55;
  WriteFile(dir.path() + "/c.gz", bad);
  auto r = Inflate(dir.path() + "/c.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);

  WriteFile(dir.path() + "/e.gz", "");
  r = Inflate(dir.path() + "/e.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("empty"), std::string::npos);

  WriteFile(dir.path() + "/p.gz", "id,name\n1,plain text\n");
  EXPECT_FALSE(Inflate(dir.path() + "/p.gz").ok());

  WriteFile(dir.path() + "/g.gz", gz + "garbage");
  EXPECT_FALSE(Inflate(dir.path() + "/g.gz").ok());

  EXPECT_EQ(GzipFileReader::Open(dir.path() + "/missing.gz").status().code(), Code::kIOError);
}

}  // namespace
}  // namespace sluice::lakehouse
