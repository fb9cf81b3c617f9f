// extract.http into an s3:// landing zone, with real processes: nginx as the
// origin, the broker, workers with --landing s3://..., and s3rver behind the
// signature-checking front (tests/s3/). A worker SIGKILLed in the middle of
// a multipart upload leaves no object, and the retry lands it once; bad
// credentials fail the job for good with an error that names the key and
// the endpoint, never the secret. Exits 77 (skipped) where node, s3rver or
// botocore is missing.
#include <signal.h>
#include <stdlib.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "schemas/s3_client.h"
#include "tests/integration/integration_test.h"
#include "tests/integration/s3_front.h"
#include "tests/workers/nginx_server.h"

namespace sluice::testing {
namespace {

using worker::testing::NginxServer;

constexpr const char* kBucket = "sluice-landing";
constexpr const char* kLanding = "s3://sluice-landing/zone";

std::string GunzipBytes(const std::string& gz) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return "<inflateInit2>";
  std::string out;
  char buf[1 << 16];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END ? out : "<corrupt gzip>";
}

class S3LandingTest : public IntegrationTest {
 protected:
  void SetUp() override {
    if (!worker::testing::NginxInstalled()) GTEST_SKIP() << "nginx is not installed";
    S3Front::Options options;
    options.buckets = {kBucket};
    front_ = std::make_unique<S3Front>(dir_.path(), options);
    if (front_->skipped()) {
      std::cerr << "SKIPPED: " << front_->error() << "\n";
      std::exit(77);
    }
    ASSERT_TRUE(front_->ok()) << front_->error();
    // The workers this test starts inherit the store's variables.
    for (const std::string& kv : front_->Env()) {
      const std::size_t eq = kv.find('=');
      ::setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
    }
  }

  s3::Config StoreConfig() const {
    s3::Config c;
    c.access_key_id = S3Front::kAccessKey;
    c.secret_access_key = S3Front::kSecretKey;
    c.endpoint = front_->endpoint();
    return c;
  }

  std::vector<s3::ObjectInfo> Objects() {
    s3::Client client(StoreConfig());
    auto listed = client.List(kBucket, "zone/", 1000);
    EXPECT_TRUE(listed.ok()) << listed.status().ToString();
    return listed.ok() ? listed.value() : std::vector<s3::ObjectInfo>{};
  }

  int CountLogged(const std::string& method, const std::string& query_part, int status) {
    int n = 0;
    for (const auto& r : front_->Log())
      if (r.value("method", "") == method && r.value("query", "").find(query_part) != std::string::npos &&
          (status == 0 || r.value("status", 0) == status))
        ++n;
    return n;
  }

  std::unique_ptr<S3Front> front_;
};

TEST_F(S3LandingTest, SigkillDuringAMultipartUploadLeavesNoObjectAndTheRetryLandsItOnce) {
  NginxServer origin;
  ASSERT_TRUE(origin.ok()) << origin.error();
  // Random bytes do not compress: the gzip stream is ~20 MiB, 3 parts of 8 MiB.
  std::string body(20u << 20, '\0');
  std::mt19937 rng(7);
  for (char& c : body) c = static_cast<char>(rng());
  origin.WriteFile("big/data.bin", body);

  ASSERT_NO_FATAL_FAILURE(StartBroker());
  Process& first = cluster_.StartWorker(1, {"--landing", kLanding, "--spool-dir", dir_.File("spool1")});
  ASSERT_TRUE(WaitForWorkers(1));
  // Hold the second part: the upload is under way, not complete.
  ASSERT_TRUE(front_->Control("delay?ms=120000&count=1&method=PUT&query_contains=partNumber%3D2"));
  const std::string id = SubmitOne(Spec("extract.http", {{"source", "big"}, {"url", origin.Url("/big/data.bin")}}, 3));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(WaitUntil([&] { return CountLogged("PUT", "partNumber=1", 200) == 1; }, Scaled(Ms(60000)), Ms(50)))
      << front_->Log().dump();
  ASSERT_EQ(CountLogged("POST", "uploads=", 200), 1);
  first.KillGroup();  // SIGKILL, mid-upload
  EXPECT_TRUE(Objects().empty()) << "a killed upload left a visible object";

  ASSERT_TRUE(front_->Control("reset"));
  cluster_.StartWorker(1, {"--landing", kLanding, "--spool-dir", dir_.File("spool2")});
  json job = WaitForState(id, {"succeeded", "dead"}, Scaled(Ms(120000)));
  ASSERT_EQ(job.value("state", ""), "succeeded") << job.dump();
  EXPECT_EQ(job.value("attempt", 0), 2) << job.dump();

  const auto objects = Objects();
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects[0].key.rfind("zone/big/", 0), 0u) << objects[0].key;
  EXPECT_EQ(objects[0].key.substr(objects[0].key.size() - 7), ".bin.gz") << objects[0].key;
  EXPECT_EQ(CountLogged("POST", "uploadId=", 200), 1) << "not exactly one completed upload";
  s3::Client client(StoreConfig());
  std::string gz;
  ASSERT_TRUE(client.Get(kBucket, objects[0].key, [&gz](std::string_view c) {
    gz.append(c);
    return Status::Ok();
  }).ok());
  EXPECT_TRUE(GunzipBytes(gz) == body) << "the object does not gunzip to the origin's bytes";
  // The spool folders keep nothing: the bodies were unnamed temp files.
  for (const char* spool : {"spool1", "spool2"}) {
    std::error_code ec;
    std::size_t left = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_.File(spool), ec)) left += e.is_regular_file();
    EXPECT_EQ(left, 0u) << spool;
  }
}

TEST_F(S3LandingTest, WrongCredentialsFailTheJobForGoodAndTheSecretIsNeverShown) {
  NginxServer origin;
  ASSERT_TRUE(origin.ok()) << origin.error();
  origin.WriteFile("small.csv", "a,b\n1,2\n");
  const std::string secret = "wrong-secret-Zq81xKp";
  ::setenv("AWS_SECRET_ACCESS_KEY", secret.c_str(), 1);
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  Process& worker = cluster_.StartWorker(1, {"--landing", kLanding, "--spool-dir", dir_.File("spool")});
  ASSERT_TRUE(WaitForWorkers(1));
  const std::string id = SubmitOne(Spec("extract.http", {{"source", "small"}, {"url", origin.Url("/small.csv")}}, 5));
  json job = WaitForState(id, {"succeeded", "dead"});
  ASSERT_EQ(job.value("state", ""), "dead") << job.dump();
  EXPECT_EQ(job.value("attempt", 0), 1) << "a refused signature is not worth a retry: " << job.dump();
  const std::string error = job.dump();
  EXPECT_NE(error.find("403 SignatureDoesNotMatch"), std::string::npos) << error;
  EXPECT_NE(error.find(S3Front::kAccessKey), std::string::npos) << error;
  EXPECT_NE(error.find(front_->endpoint()), std::string::npos) << error;
  EXPECT_EQ(error.find(secret), std::string::npos) << error;
  // Nowhere else either: the worker's log, the broker's, the state DB.
  cluster_.StopBroker(SIGTERM);
  worker.Signal(SIGTERM);
  worker.Wait(Scaled(Ms(30000)));
  for (const std::string& path :
       {worker.stderr_path(), cluster_.broker()->stderr_path(), cluster_.state_path(), cluster_.state_path() + "-wal"}) {
    EXPECT_EQ(ReadFileTail(path, 64u << 20).find(secret), std::string::npos) << path;
  }
}

TEST_F(S3LandingTest, TheBackupKindMirrorsALocalLandingFolderByName) {
  NginxServer origin;
  ASSERT_TRUE(origin.ok()) << origin.error();
  for (const char* f : {"a.csv", "b.csv", "c.csv"}) origin.WriteFile(f, std::string("x,y\n1,") + f + "\n");
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  const std::string landing = dir_.File("landing");
  cluster_.StartWorker(2, {"--landing", landing, "--backup", "s3://sluice-landing/bk"});
  ASSERT_TRUE(WaitForWorkers(1));
  auto extract = [&](const char* f) {
    const std::string id = SubmitOne(Spec("extract.http", {{"source", "mirror"}, {"url", origin.Url(std::string("/") + f)}}));
    json job = WaitForState(id, {"succeeded", "dead"});
    EXPECT_EQ(job.value("state", ""), "succeeded") << job.dump();
  };
  auto mirror = [&]() {
    const std::string id = SubmitOne(Spec("backup", {{"landing", true}, {"lakehouse", false}}));
    json job = WaitForState(id, {"succeeded", "dead"});
    EXPECT_EQ(job.value("state", ""), "succeeded") << job.dump();
    return job.value("outputs", json::object()).value("landing", json::object());
  };
  extract("a.csv");
  extract("b.csv");
  json first = mirror();
  EXPECT_EQ(first.value("files_uploaded", -1), 2) << first.dump();
  EXPECT_EQ(first.value("files_present", -1), 0) << first.dump();
  extract("c.csv");
  json second = mirror();
  EXPECT_EQ(second.value("files_uploaded", -1), 1) << second.dump();
  EXPECT_EQ(second.value("files_present", -1), 2) << second.dump();

  s3::Client client(StoreConfig());
  auto listed = client.List(kBucket, "bk/landing/", 100);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  std::vector<std::string> remote, local;
  for (const auto& o : listed.value()) remote.push_back(o.key.substr(std::string("bk/landing/").size()));
  for (const auto& e : std::filesystem::recursive_directory_iterator(landing))
    if (e.is_regular_file()) local.push_back(std::filesystem::relative(e.path(), landing).string());
  std::sort(local.begin(), local.end());
  EXPECT_EQ(remote, local);
  EXPECT_EQ(remote.size(), 3u);
}

TEST_F(S3LandingTest, AWorkerWithoutCredentialsRefusesToStart) {
  ::unsetenv("AWS_ACCESS_KEY_ID");
  CommandResult r = RunCommand("worker", {BinPath("sluice-worker"), "--landing", kLanding, "--broker", "tcp://127.0.0.1:1"},
                               dir_.path(), Scaled(Ms(30000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.Describe();
  EXPECT_NE(r.err.find("AWS_ACCESS_KEY_ID"), std::string::npos) << r.err;
  r = RunCommand("worker", {BinPath("sluice-worker"), "--landing", "s3://Bad_Bucket/x", "--broker", "tcp://127.0.0.1:1"},
                 dir_.path(), Scaled(Ms(30000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.Describe();
  EXPECT_NE(r.err.find("bucket"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sluice::testing
