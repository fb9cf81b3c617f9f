// The S3 client against a real S3 protocol server: s3rver behind a front
// that checks every signature with botocore's signer (tests/s3/), and
// Debian's awscli as an independent client. Exits 77 (skipped, with the
// reason) where node, s3rver or botocore is missing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>

#include "schemas/s3_client.h"
#include "tests/integration/s3_front.h"
#include "tests/integration/temp_dir.h"

namespace sluice::testing {
namespace {

using s3::Client;
using s3::PutOptions;
using s3::PutOutcome;

constexpr const char* kBucket = "sluice-test";

class S3ClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("sluice-s3");
    front_ = new S3Front(dir_->path());
    if (front_->skipped()) {
      std::cerr << "SKIPPED: " << front_->error() << "\n";
      std::exit(77);
    }
  }
  static void TearDownTestSuite() {
    delete front_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_TRUE(front_->ok()) << front_->error();
    ASSERT_TRUE(front_->Control("if-none-match?mode=enforce"));
    ASSERT_TRUE(front_->Control("reset"));
  }

  static s3::Config Config() {
    s3::Config c;
    c.access_key_id = S3Front::kAccessKey;
    c.secret_access_key = S3Front::kSecretKey;
    c.region = S3Front::kRegion;
    c.endpoint = front_->endpoint();
    c.backoff_initial = std::chrono::milliseconds(10);
    c.backoff_max = std::chrono::milliseconds(100);
    return c;
  }

  static std::string Fetch(Client& client, const std::string& key, Status* st = nullptr) {
    std::string body;
    Status got = client.Get(kBucket, key, [&body](std::string_view chunk) {
      body.append(chunk);
      return Status::Ok();
    });
    if (st != nullptr) *st = got;
    return got.ok() ? body : "<" + got.ToString() + ">";
  }

  // A file of `size` pseudo-random bytes; returns its path.
  static std::string RandomFile(const std::string& name, std::size_t size, std::string* bytes) {
    std::mt19937 rng(static_cast<unsigned>(size));
    bytes->resize(size);
    for (char& c : *bytes) c = static_cast<char>(rng());
    const std::string path = dir_->File(name);
    std::ofstream(path, std::ios::binary) << *bytes;
    return path;
  }

  static int CountRequests(const std::string& method, const std::string& needle) {
    int n = 0;
    for (const auto& r : front_->Log()) {
      const std::string target = r.value("path", "") + "?" + r.value("query", "");
      if (r.value("method", "") == method && target.find(needle) != std::string::npos) ++n;
    }
    return n;
  }

  static TempDir* dir_;
  static S3Front* front_;
};
TempDir* S3ClientTest::dir_ = nullptr;
S3Front* S3ClientTest::front_ = nullptr;

TEST_F(S3ClientTest, PutGetHeadListDeleteWithKeysThatNeedEncoding) {
  Client client(Config());
  const std::vector<std::string> keys = {"plain/a.csv.gz", "with space/b+c~d=e&f.txt",
                                         "unicod\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt", "x/y/z/(1)!*'.bin"};
  for (const std::string& key : keys) {
    auto put = client.PutBytes(kBucket, "enc/" + key, "bytes of " + key, PutOptions{});
    ASSERT_TRUE(put.ok()) << key << ": " << put.status().ToString();
    EXPECT_EQ(put.value(), PutOutcome::kCreated);
  }
  for (const std::string& key : keys) {
    EXPECT_EQ(Fetch(client, "enc/" + key), "bytes of " + key);
    auto head = client.Head(kBucket, "enc/" + key);
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    EXPECT_EQ(head->size, ("bytes of " + key).size());
    EXPECT_FALSE(head->etag.empty());
  }
  auto listed = client.List(kBucket, "enc/", 100);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  std::vector<std::string> names;
  for (const auto& o : listed.value()) names.push_back(o.key);
  std::vector<std::string> want;
  for (const std::string& k : keys) want.push_back("enc/" + k);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(names, want);

  ASSERT_TRUE(client.Delete(kBucket, "enc/plain/a.csv.gz").ok());
  auto gone = client.Head(kBucket, "enc/plain/a.csv.gz");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Code::kNotFound);
  Status st;
  Fetch(client, "enc/never-written", &st);
  EXPECT_EQ(st.code(), Code::kNotFound) << st.ToString();
}

TEST_F(S3ClientTest, ListingFollowsContinuationTokens) {
  Client client(Config());
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(client.PutBytes(kBucket, "pages/k" + std::to_string(100 + i), "x", {}).ok());
  auto first = client.ListOnePage(kBucket, "pages/", "", 10);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->objects.size(), 10u);
  EXPECT_FALSE(first->next_token.empty());
  auto all = client.List(kBucket, "pages/", 100);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 25u);
  EXPECT_EQ(all->front().key, "pages/k100");
  EXPECT_EQ(all->back().key, "pages/k124");
  auto capped = client.List(kBucket, "pages/", 20);
  EXPECT_FALSE(capped.ok());
}

TEST_F(S3ClientTest, MultipartUploadStreamsPartsAndReadsBackWhole) {
  s3::Config c = Config();
  c.multipart_threshold = 6u << 20;
  c.part_size = 5u << 20;
  Client client(c);
  std::string bytes;
  const std::string path = RandomFile("big.bin", (12u << 20) + 12345, &bytes);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(front_->Control("log/clear"));
  auto put = client.PutFile(kBucket, "multi/big.bin", fd, bytes.size(), PutOptions{.if_absent = true});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put.value(), PutOutcome::kCreated);
  EXPECT_EQ(CountRequests("POST", "uploads="), 1);
  EXPECT_EQ(CountRequests("PUT", "partNumber="), 3);  // 5 + 5 + 2.01 MiB
  EXPECT_TRUE(Fetch(client, "multi/big.bin") == bytes) << "the object differs from the file";

  // The same key again, no-replace: the store refuses the completion (412),
  // the upload is aborted, the object keeps its bytes.
  std::string other;
  const std::string path2 = RandomFile("big2.bin", (7u << 20), &other);
  const int fd2 = ::open(path2.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd2, 0);
  auto again = client.PutFile(kBucket, "multi/big.bin", fd2, other.size(), PutOptions{.if_absent = true});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again.value(), PutOutcome::kExists);
  EXPECT_EQ(CountRequests("DELETE", "uploadId="), 1);
  EXPECT_TRUE(Fetch(client, "multi/big.bin") == bytes);
  ::close(fd);
  ::close(fd2);
}

TEST_F(S3ClientTest, IfAbsentPutIsRefusedByAStoreThatHonoursIt) {
  Client client(Config());
  ASSERT_EQ(client.PutBytes(kBucket, "cond/a", "first", PutOptions{.if_absent = true}).value(), PutOutcome::kCreated);
  auto second = client.PutBytes(kBucket, "cond/a", "second", PutOptions{.if_absent = true});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second.value(), PutOutcome::kExists);
  EXPECT_EQ(Fetch(client, "cond/a"), "first");
  // A store that ignores the header (s3rver alone) replaces: why the
  // landing zone asks HEAD first.
  ASSERT_TRUE(front_->Control("if-none-match?mode=ignore"));
  EXPECT_EQ(client.PutBytes(kBucket, "cond/a", "third", PutOptions{.if_absent = true}).value(), PutOutcome::kCreated);
  EXPECT_EQ(Fetch(client, "cond/a"), "third");
}

TEST_F(S3ClientTest, RetriesServerErrorsThenGivesUpRetryably) {
  Client client(Config());
  ASSERT_TRUE(front_->Control("log/clear"));
  ASSERT_TRUE(front_->Control("fail?status=503&count=2&method=PUT"));
  auto put = client.PutBytes(kBucket, "retry/a", "payload", {});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(CountRequests("PUT", "retry/a"), 3);
  EXPECT_EQ(Fetch(client, "retry/a"), "payload");

  ASSERT_TRUE(front_->Control("fail?status=429&count=1&method=GET"));
  EXPECT_EQ(Fetch(client, "retry/a"), "payload");

  s3::Config few = Config();
  few.max_attempts = 3;
  Client impatient(few);
  ASSERT_TRUE(front_->Control("fail?status=500&count=3&method=PUT"));
  auto failed = impatient.PutBytes(kBucket, "retry/b", "payload", {});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kUnavailable);
  EXPECT_NE(failed.status().message().find("HTTP 500"), std::string::npos) << failed.status().message();
  EXPECT_NE(failed.status().message().find("s3://sluice-test/retry/b"), std::string::npos);

  // A dropped connection is retried too.
  ASSERT_TRUE(front_->Control("fail?status=0&count=1&method=PUT"));
  auto dropped = client.PutBytes(kBucket, "retry/c", "payload", {});
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
}

TEST_F(S3ClientTest, BadCredentialsAreFinalNameTheKeyAndNeverTheSecret) {
  s3::Config wrong = Config();
  wrong.secret_access_key = "not-the-secret-at-all";
  Client client(wrong);
  auto put = client.PutBytes(kBucket, "creds/a", "x", {});
  ASSERT_FALSE(put.ok());
  const std::string msg = put.status().message();
  EXPECT_EQ(put.status().code(), Code::kInvalidArgument) << msg;
  EXPECT_NE(msg.find("403"), std::string::npos) << msg;
  EXPECT_NE(msg.find("SignatureDoesNotMatch"), std::string::npos) << msg;
  EXPECT_NE(msg.find(S3Front::kAccessKey), std::string::npos) << msg;
  EXPECT_NE(msg.find(front_->endpoint()), std::string::npos) << msg;
  EXPECT_EQ(msg.find("not-the-secret-at-all"), std::string::npos) << msg;

  s3::Config unknown = Config();
  unknown.access_key_id = "AKIDNOBODY";
  Client stranger(unknown);
  auto denied = stranger.Head(kBucket, "creds/a");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), Code::kInvalidArgument);
  // A HEAD reply has no body: the client asks again with a one-byte GET for the code.
  EXPECT_NE(denied.status().message().find("403 InvalidAccessKeyId"), std::string::npos) << denied.status().message();
  auto listed = stranger.List(kBucket, "", 10);
  ASSERT_FALSE(listed.ok());
  EXPECT_NE(listed.status().message().find("InvalidAccessKeyId"), std::string::npos) << listed.status().message();
}

TEST_F(S3ClientTest, StopAbandonsTheRequest) {
  Client client(Config());
  ASSERT_TRUE(front_->Control("fail?status=503&count=100&method=PUT"));
  int asked = 0;
  client.SetStop([&asked] { return ++asked > 3; });
  auto put = client.PutBytes(kBucket, "stop/a", "x", {});
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), Code::kUnavailable);
  EXPECT_NE(put.status().message().find("stopped"), std::string::npos) << put.status().message();
}

TEST_F(S3ClientTest, UnreachableStoreIsRetryable) {
  s3::Config c = Config();
  c.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  c.max_attempts = 2;
  Client client(c);
  auto put = client.PutBytes(kBucket, "x", "y", {});
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), Code::kUnavailable) << put.status().ToString();
  EXPECT_NE(put.status().message().find("2 attempts"), std::string::npos) << put.status().message();
}

TEST(S3SessionToken, TemporaryCredentialsSignTheirToken) {
  TempDir dir("sluice-s3-token");
  S3Front::Options options;
  options.session_token = "FQoGZXIvYXdzEXAMPLETOKEN";
  S3Front front(dir.path(), options);
  if (front.skipped()) GTEST_SKIP() << front.error();
  ASSERT_TRUE(front.ok()) << front.error();
  s3::Config c;
  c.access_key_id = S3Front::kAccessKey;
  c.secret_access_key = S3Front::kSecretKey;
  c.endpoint = front.endpoint();
  c.max_attempts = 1;
  {
    Client without(c);
    auto put = without.PutBytes(kBucket, "t/a", "x", {});
    ASSERT_FALSE(put.ok());
    EXPECT_NE(put.status().message().find("InvalidToken"), std::string::npos) << put.status().message();
  }
  c.session_token = options.session_token;
  Client with(c);
  auto put = with.PutBytes(kBucket, "t/a", "x", {});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
}

TEST_F(S3ClientTest, AwsCliReadsWhatSluiceWroteAndSluiceReadsWhatItWrote) {
  if (!AwsCliInstalled()) GTEST_SKIP() << "/usr/bin/aws (Debian's awscli) is not installed";
  Client client(Config());
  std::string bytes;
  RandomFile("ours.bin", 300'000, &bytes);
  auto ours = client.PutBytes(kBucket, "interop/ours.bin", bytes, {});
  ASSERT_TRUE(ours.ok()) << ours.status().ToString();
  const std::string back = dir_->File("ours.back");
  auto cp = RunAwsCli(*front_, {"s3", "cp", "s3://sluice-test/interop/ours.bin", back}, dir_->path());
  ASSERT_TRUE(cp.status.exited && cp.status.code == 0) << cp.Describe();
  std::ifstream in(back, std::ios::binary);
  const std::string read((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(read == bytes) << "awscli read " << read.size() << " bytes, not the " << bytes.size() << " written";

  std::string theirs;
  const std::string path = RandomFile("theirs.bin", 200'000, &theirs);
  cp = RunAwsCli(*front_, {"s3", "cp", path, "s3://sluice-test/interop/theirs.bin"}, dir_->path());
  ASSERT_TRUE(cp.status.exited && cp.status.code == 0) << cp.Describe();
  EXPECT_TRUE(Fetch(client, "interop/theirs.bin") == theirs);
}

}  // namespace
}  // namespace sluice::testing
