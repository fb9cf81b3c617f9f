// extract.http against real origins: Debian's nginx (real ETags, 304s,
// gzip) and a scripted socket origin for the faults (500, 429, stalls,
// short bodies, hostile ETags). The handler is called the way the worker
// calls it (handler_harness.h), with a temp landing folder.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "handler_harness.h"
#include "nginx_server.h"
#include "scripted_http_server.h"
#include "workers/handler_table.h"
#include "workers/secret_allow_list.h"
#include "workers/sha256_stream.h"

namespace sluice::worker {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::NginxServer;
using testing::Reply;
using testing::ScriptedHttpServer;
using testing::ScriptedReply;

// Without nginx the whole binary is skipped (ctest SKIP_RETURN_CODE 77).
class RequireNginx : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!testing::NginxInstalled()) {
      std::fprintf(stderr, "SKIP: %s is not installed (apt-get install nginx-light)\n", testing::kNginxPath);
      std::exit(77);
    }
  }
};
[[maybe_unused]] ::testing::Environment* const kRequireNginx =
    ::testing::AddGlobalTestEnvironment(new RequireNginx);

json Out(const proto::JobResult& r) {
  if (r.outputs.empty()) return json::object();
  return json::from_msgpack(r.outputs);
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// zlib's own reader, independent of the code under test.
std::string GunzipFile(const fs::path& p) {
  gzFile f = gzopen(p.c_str(), "rb");
  if (f == nullptr) return "<cannot open>";
  std::string out;
  char buf[65536];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  int err = 0;
  gzerror(f, &err);
  gzclose(f);
  return err == Z_OK || err == Z_STREAM_END ? out : "<bad gzip>";
}

std::string GzipBytes(std::string_view data, const fs::path& scratch) {
  gzFile f = gzopen(scratch.c_str(), "wb");
  gzwrite(f, data.data(), static_cast<unsigned>(data.size()));
  gzclose(f);
  return ReadFile(scratch);
}

std::string Partition(const std::string& source) {
  std::time_t t = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  std::snprintf(buf, sizeof buf, "/%04d/%02d/", utc.tm_year + 1900, utc.tm_mon + 1);
  return source + buf;
}

std::string HttpDate(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&tt, &utc);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return buf;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class ExtractHttp : public ::testing::Test {
 protected:
  ExtractHttp() {
    char tmpl[] = "/tmp/sluice-extract-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    landing_ = root_ / "landing";
    settings_.landing_dir = landing_.string();
    ::unsetenv("http_proxy");
    ::unsetenv("HTTP_PROXY");
    ::unsetenv("all_proxy");
    ::unsetenv("ALL_PROXY");
  }
  ~ExtractHttp() override { fs::remove_all(root_); }

  proto::JobResult Run(const json& params, const CancelToken& token) {
    return testing::RunHandlerWith(settings_, "extract.http", params.dump(), token);
  }
  proto::JobResult Run(const json& params) {
    CancelToken never;
    return Run(params, never);
  }

  // Every file (dot files too) anywhere under the temp root, relative to it.
  std::set<std::string> AllFiles() const {
    std::set<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root_))
      if (!e.is_directory()) out.insert(fs::relative(e.path(), root_).string());
    return out;
  }
  // The files under the landing folder, relative to it.
  std::set<std::string> LandingFiles() const {
    std::set<std::string> out;
    if (!fs::exists(landing_)) return out;
    for (const auto& e : fs::recursive_directory_iterator(landing_))
      if (!e.is_directory()) out.insert(fs::relative(e.path(), landing_).string());
    return out;
  }

  fs::path root_;
  fs::path landing_;
  HandlerSettings settings_;
};

class ExtractNginx : public ExtractHttp {
 protected:
  void SetUp() override { ASSERT_TRUE(nginx_.ok()) << nginx_.error(); }
  NginxServer nginx_;
};

// (No std::regex: GCC 12 warns inside it under the sanitizers.)
bool AllOf(std::string_view s, std::string_view chars) {
  return !s.empty() && s.find_first_not_of(chars) == std::string_view::npos;
}
constexpr std::string_view kHex = "0123456789abcdef";

// "e" url8 "-" stem ".csv.gz": an ETag name; nginx's ETags are
// "<mtime hex>-<size hex>".
bool IsEtagName(std::string_view name, std::string_view etag_chars) {
  if (!name.starts_with('e') || !name.ends_with(".csv.gz") || name.size() < 10 + 7) return false;
  return AllOf(name.substr(1, 8), kHex) && (name[9] == '-' || name[9] == '.') &&
         AllOf(name.substr(10, name.size() - 10 - 7), etag_chars);
}

TEST(ExtractHttpRegistration, IsABlockingKindAnnouncedByEveryWorker) {
  const HandlerSpec* h = FindHandler("extract.http");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->execution, Execution::kSlotThread);
  EXPECT_FALSE(h->needs_allow_exec);
  auto kinds = AnnouncedKinds(false);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "extract.http"), kinds.end());
}

// --- conditional GET, naming, layout ---

TEST_F(ExtractNginx, FirstRunLandsTheFileAndTheCursorThenGets304) {
  const std::string body = "id,amount\n1,10\n2,20\n";
  nginx_.WriteFile("data/sales.csv", body);
  json params = {{"url", nginx_.Url("/data/sales.csv")}, {"source", "sales"}};
  auto r = Run(params);
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  json o = Out(r);
  EXPECT_EQ(o["status_code"], 200);
  EXPECT_EQ(o["files_written"], 1);
  EXPECT_EQ(o["files_skipped"], 0);
  EXPECT_EQ(o["url"], nginx_.Url("/data/sales.csv"));
  const std::string path = o["path"];
  ASSERT_TRUE(path.starts_with(Partition("sales"))) << path;
  EXPECT_TRUE(IsEtagName(fs::path(path).filename().string(), "0123456789abcdef-")) << path;
  EXPECT_EQ(GunzipFile(landing_ / path), body);
  EXPECT_EQ(o["bytes_written"], fs::file_size(landing_ / path));
  EXPECT_EQ(o["sha256"], Sha256Stream::Hex(body));
  const std::string etag = o["etag"];
  ASSERT_FALSE(etag.empty());
  ASSERT_FALSE(o["last_modified"].get<std::string>().empty());
  EXPECT_EQ(o["cursor_value"], "etag=" + etag);

  params["cursor"] = {{"etag", etag}, {"last_modified", o["last_modified"]}};
  auto r2 = Run(params);
  ASSERT_EQ(r2.outcome, Outcome::kSucceeded) << r2.error;
  json o2 = Out(r2);
  EXPECT_EQ(o2["status_code"], 304);
  EXPECT_EQ(o2["files_written"], 0);
  EXPECT_EQ(o2["files_skipped"], 1);
  EXPECT_EQ(o2["bytes_written"], 0);
  EXPECT_EQ(o2["path"], "");
  EXPECT_EQ(o2["etag"], etag);
  EXPECT_EQ(o2["last_modified"], o["last_modified"]);
  EXPECT_EQ(LandingFiles(), std::set<std::string>{path});

  auto log = nginx_.AccessLog(2);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_TRUE(log[0].starts_with("200 ")) << log[0];
  EXPECT_TRUE(log[1].starts_with("304 0 \"GET /data/sales.csv ")) << log[1];
  EXPECT_TRUE(Contains(log[1], "inm=\"" + etag + "\"")) << log[1];
}

TEST_F(ExtractNginx, AChangedOriginLandsANewFileBesideTheOld) {
  const std::string v1 = "id\n1\n", v2 = "id\n1\n2\n3\n";
  nginx_.WriteFile("data/t.csv", v1);
  json params = {{"url", nginx_.Url("/data/t.csv")}, {"source", "t"}};
  json o1 = Out(Run(params));
  ASSERT_EQ(o1["files_written"], 1) << o1.dump();

  nginx_.WriteFile("data/t.csv", v2);
  nginx_.SetMtime("data/t.csv", fs::file_time_type::clock::now() + 1h);
  params["cursor"] = {{"etag", o1["etag"]}, {"last_modified", o1["last_modified"]}};
  auto r2 = Run(params);
  ASSERT_EQ(r2.outcome, Outcome::kSucceeded) << r2.error;
  json o2 = Out(r2);
  EXPECT_EQ(o2["status_code"], 200);
  EXPECT_EQ(o2["files_written"], 1);
  EXPECT_NE(o2["etag"], o1["etag"]);
  EXPECT_NE(o2["path"], o1["path"]);
  EXPECT_EQ(LandingFiles(), (std::set<std::string>{o1["path"], o2["path"]}));
  EXPECT_EQ(GunzipFile(landing_ / o1["path"].get<std::string>()), v1);
  EXPECT_EQ(GunzipFile(landing_ / o2["path"].get<std::string>()), v2);
}

TEST_F(ExtractNginx, AnExistingEtagFileIsUnchangedEvenWithoutACursor) {
  nginx_.WriteFile("data/u.csv", std::string(300000, 'u'));
  json params = {{"url", nginx_.Url("/data/u.csv")}, {"source", "u"}};
  json o1 = Out(Run(params));
  ASSERT_EQ(o1["files_written"], 1) << o1.dump();
  const auto mtime = fs::last_write_time(landing_ / o1["path"].get<std::string>());
  auto r2 = Run(params);
  ASSERT_EQ(r2.outcome, Outcome::kSucceeded) << r2.error;
  json o2 = Out(r2);
  EXPECT_EQ(o2["files_written"], 0);
  EXPECT_EQ(o2["files_skipped"], 1);
  EXPECT_EQ(o2["bytes_written"], 0);
  EXPECT_EQ(o2["path"], o1["path"]);
  EXPECT_EQ(LandingFiles(), std::set<std::string>{o1["path"]});
  EXPECT_EQ(fs::last_write_time(landing_ / o1["path"].get<std::string>()), mtime);
}

TEST_F(ExtractNginx, WithoutEtagsTheContentHashNamesAndIdenticalContentLandsOnce) {
  const std::string body = "a,b\n1,2\n";
  nginx_.WriteFile("noetag/a.csv", body);
  json params = {{"url", nginx_.Url("/noetag/a.csv")}, {"source", "h"}};
  auto r1 = Run(params);
  ASSERT_EQ(r1.outcome, Outcome::kSucceeded) << r1.error;
  json o1 = Out(r1);
  EXPECT_EQ(o1["etag"], "");
  EXPECT_EQ(o1["files_written"], 1);
  EXPECT_EQ(o1["path"], Partition("h") + Sha256Stream::Hex(body).substr(0, 16) + ".csv.gz");
  EXPECT_EQ(GunzipFile(landing_ / o1["path"].get<std::string>()), body);
  EXPECT_TRUE(Contains(o1["cursor_value"], "sha256=" + Sha256Stream::Hex(body).substr(0, 16)));

  auto r2 = Run(params);
  ASSERT_EQ(r2.outcome, Outcome::kSucceeded) << r2.error;
  json o2 = Out(r2);
  EXPECT_EQ(o2["status_code"], 200);
  EXPECT_EQ(o2["files_written"], 0);
  EXPECT_EQ(o2["files_skipped"], 1);
  EXPECT_EQ(o2["bytes_written"], 0);
  EXPECT_EQ(o2["path"], o1["path"]);
  EXPECT_EQ(LandingFiles(), std::set<std::string>{o1["path"]}) << "no second file, no temp file";
}

TEST_F(ExtractNginx, DedupHashIgnoresTheEtagAndDedupEtagNeedsOne) {
  const std::string body = "x\n";
  nginx_.WriteFile("data/x.csv", body);
  nginx_.WriteFile("noetag/x.csv", body);
  json o = Out(Run({{"url", nginx_.Url("/data/x.csv")}, {"source", "d"}, {"dedup", "hash"}}));
  EXPECT_EQ(o["path"], Partition("d") + Sha256Stream::Hex(body).substr(0, 16) + ".csv.gz");
  EXPECT_FALSE(o["etag"].get<std::string>().empty()) << "still reported for the cursor";

  auto r = Run({{"url", nginx_.Url("/noetag/x.csv")}, {"source", "d"}, {"dedup", "etag"}});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_TRUE(Contains(r.error, "no ETag")) << r.error;
  EXPECT_EQ(LandingFiles().size(), 1u);
}

TEST_F(ExtractNginx, TwoUrlsOfOneSourceWithTheSameEtagDoNotCollide) {
  nginx_.WriteFile("data/a.csv", "AAAA\n");
  nginx_.WriteFile("data/b.csv", "BBBB\n");
  const auto when = fs::file_time_type::clock::now() - 24h;
  nginx_.SetMtime("data/a.csv", when);
  nginx_.SetMtime("data/b.csv", when);
  json oa = Out(Run({{"url", nginx_.Url("/data/a.csv")}, {"source", "two"}}));
  json ob = Out(Run({{"url", nginx_.Url("/data/b.csv")}, {"source", "two"}}));
  ASSERT_EQ(oa["files_written"], 1) << oa.dump();
  ASSERT_EQ(ob["files_written"], 1) << ob.dump();
  EXPECT_EQ(oa["etag"], ob["etag"]) << "same size and mtime: nginx gives the same ETag";
  EXPECT_NE(oa["path"], ob["path"]);
  EXPECT_EQ(GunzipFile(landing_ / oa["path"].get<std::string>()), "AAAA\n");
  EXPECT_EQ(GunzipFile(landing_ / ob["path"].get<std::string>()), "BBBB\n");
}

TEST_F(ExtractNginx, AnOriginThatIsGzipAlreadyIsStoredByteForByte) {
  std::string body;
  for (int i = 0; i < 50000; ++i) body += std::to_string(i) + ",row\n";
  const std::string gz = GzipBytes(body, root_ / "scratch.gz");
  nginx_.WriteFile("data/x.csv.gz", gz);
  auto r = Run({{"url", nginx_.Url("/data/x.csv.gz")}, {"source", "gz"}});
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  json o = Out(r);
  const std::string path = o["path"];
  EXPECT_TRUE(path.ends_with(".csv.gz")) << path;
  EXPECT_EQ(ReadFile(landing_ / path), gz) << "not compressed twice";
  EXPECT_EQ(GunzipFile(landing_ / path), body);
  EXPECT_EQ(o["sha256"], Sha256Stream::Hex(gz));
}

TEST_F(ExtractNginx, AGzipContentEncodingIsStoredAsSent) {
  std::string body;
  for (int i = 0; i < 50000; ++i) body += std::to_string(i * 31) + ",text\n";
  nginx_.WriteFile("gz/big.csv", body);
  auto r = Run({{"url", nginx_.Url("/gz/big.csv")}, {"source", "enc"}, {"headers", {{"Accept-Encoding", "gzip"}}}});
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  json o = Out(r);
  EXPECT_EQ(GunzipFile(landing_ / o["path"].get<std::string>()), body);
  EXPECT_NE(o["sha256"], Sha256Stream::Hex(body)) << "the hash is of the bytes as sent (gzip)";
  auto log = nginx_.AccessLog(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_LT(std::stoul(log[0].substr(4)), body.size() / 2) << "nginx compressed it: " << log[0];
}

TEST_F(ExtractNginx, ExtFromTheParamOrElseBin) {
  nginx_.WriteFile("data/feed", "{}\n");
  json o1 = Out(Run({{"url", nginx_.Url("/data/feed")}, {"source", "e"}}));
  EXPECT_TRUE(o1["path"].get<std::string>().ends_with(".bin.gz")) << o1.dump();
  json o2 = Out(Run({{"url", nginx_.Url("/data/feed")}, {"source", "e2"}, {"ext", "ndjson"}}));
  EXPECT_TRUE(o2["path"].get<std::string>().ends_with(".ndjson.gz")) << o2.dump();
}

TEST_F(ExtractNginx, StaleTempFilesAreSweptAtTheStartOfARun) {
  const fs::path dir = landing_ / Partition("sw");
  fs::create_directories(dir);
  std::ofstream(dir / ".sluice-tmp-deadbeefdeadbeef") << "left by a killed worker";
  fs::last_write_time(dir / ".sluice-tmp-deadbeefdeadbeef", fs::file_time_type::clock::now() - 2h);
  std::ofstream(dir / ".sluice-tmp-0123456789abcdef") << "someone else's, in progress";
  nginx_.WriteFile("data/sw.csv", "1\n");
  json o = Out(Run({{"url", nginx_.Url("/data/sw.csv")}, {"source", "sw"}}));
  EXPECT_EQ(LandingFiles(), (std::set<std::string>{o["path"], Partition("sw") + ".sluice-tmp-0123456789abcdef"}));
}

// --- failures ---

TEST_F(ExtractNginx, NotFoundIsFinalAndNamesTheStatusAndTheUrl) {
  const std::string url = nginx_.Url("/data/missing.csv");
  auto r = Run({{"url", url}, {"source", "nf"}});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_TRUE(Contains(r.error, "404")) << r.error;
  EXPECT_TRUE(Contains(r.error, url)) << r.error;
  json o = Out(r);
  EXPECT_EQ(o["status_code"], 404);
  EXPECT_EQ(o["files_written"], 0);
  EXPECT_EQ(o["path"], "");
  EXPECT_TRUE(LandingFiles().empty());
}

TEST_F(ExtractNginx, FallbackFetchesThePreviousMonthAndRecordsThePeriod) {
  nginx_.WriteFile("m/2024-01.csv", "jan\n");
  json params = {{"url", nginx_.Url("/m/{year}-{month}.csv")}, {"source", "fb"}, {"date", "2024-03"},
                 {"fallback_periods", 2}};
  auto r = Run(params);
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  json o = Out(r);
  EXPECT_EQ(o["period"], "2024-01");
  EXPECT_EQ(o["url"], nginx_.Url("/m/2024-01.csv"));
  EXPECT_TRUE(o["cursor_value"].get<std::string>().starts_with("period=2024-01 etag=")) << o["cursor_value"];
  EXPECT_EQ(GunzipFile(landing_ / o["path"].get<std::string>()), "jan\n");
  auto log = nginx_.AccessLog(3);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_TRUE(log[0].starts_with("404 ") && Contains(log[0], "/m/2024-03.csv")) << log[0];
  EXPECT_TRUE(log[1].starts_with("404 ") && Contains(log[1], "/m/2024-02.csv")) << log[1];
  EXPECT_TRUE(log[2].starts_with("200 ") && Contains(log[2], "/m/2024-01.csv")) << log[2];

  params["fallback_periods"] = 1;
  auto r2 = Run(params);
  EXPECT_EQ(r2.outcome, Outcome::kFailed);
  EXPECT_FALSE(r2.retryable);
  EXPECT_TRUE(Contains(r2.error, "404") && Contains(r2.error, "/m/2024-02.csv")) << r2.error;
  EXPECT_EQ(Out(r2)["period"], "2024-02");
}

TEST_F(ExtractNginx, FallbackByMonthCrossesTheYearEnd) {
  nginx_.WriteFile("m/2023-12.csv", "dec\n");
  auto r = Run({{"url", nginx_.Url("/m/{year}-{month}.csv")}, {"source", "ye"}, {"date", "2024-01-31"},
                {"fallback_periods", 3}});
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(Out(r)["period"], "2023-12");
}

TEST_F(ExtractNginx, FallbackByDayCrossesTheMonthEnd) {
  nginx_.WriteFile("d/2024-02-29.csv", "leap\n");
  auto r = Run({{"url", nginx_.Url("/d/{date}.csv")}, {"source", "day"}, {"date", "2024-03-01"},
                {"period", "day"}, {"fallback_periods", 1}});
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(Out(r)["period"], "2024-02-29");
}

TEST_F(ExtractHttp, AServerErrorIsRetryableAndTheNextAttemptLands) {
  ScriptedHttpServer origin([](int n, const std::string&) {
    return n < 2 ? Reply(500, "", "oops") : Reply(200, "ETag: \"v1\"\r\n", "a,b\n1,2\n");
  });
  json params = {{"url", origin.Url("/x.csv")}, {"source", "s5"}};
  for (int i = 0; i < 2; ++i) {
    auto r = Run(params);
    EXPECT_EQ(r.outcome, Outcome::kFailed);
    EXPECT_TRUE(r.retryable);
    EXPECT_TRUE(Contains(r.error, "HTTP 500") && Contains(r.error, origin.Url("/x.csv"))) << r.error;
    EXPECT_EQ(Out(r)["status_code"], 500);
    EXPECT_TRUE(LandingFiles().empty());
  }
  auto r = Run(params);
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(GunzipFile(landing_ / Out(r)["path"].get<std::string>()), "a,b\n1,2\n");
}

TEST_F(ExtractHttp, TooManyRequestsHonoursRetryAfterSecondsAndDates) {
  const std::string date = HttpDate(std::chrono::system_clock::now() + 60s);
  ScriptedHttpServer origin([&](int n, const std::string&) {
    if (n == 0) return Reply(429, "Retry-After: 7\r\n", "slow down");
    return Reply(503, "Retry-After: " + date + "\r\n", "maintenance");
  });
  auto r = Run({{"url", origin.Url("/x.csv")}, {"source", "rl"}});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_TRUE(r.retryable);
  EXPECT_GE(r.retry_after_ms, 7000u);
  EXPECT_LE(r.retry_after_ms, 8000u);
  EXPECT_TRUE(Contains(r.error, "429")) << r.error;

  auto r2 = Run({{"url", origin.Url("/x.csv")}, {"source", "rl"}});
  EXPECT_EQ(r2.outcome, Outcome::kFailed);
  EXPECT_TRUE(r2.retryable);
  EXPECT_GE(r2.retry_after_ms, 55000u);
  EXPECT_LE(r2.retry_after_ms, 61000u);
}

TEST_F(ExtractHttp, AStalledOriginIsARetryableTimeoutAndLeavesNothing) {
  ScriptedHttpServer origin([](int, const std::string&) {
    ScriptedReply r;
    r.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + std::string(1000, 's');
    r.stall = true;
    return r;
  });
  const auto start = Clock::now();
  auto r = Run({{"url", origin.Url("/x.csv")}, {"source", "st"}, {"timeout_s", 2}});
  const auto took = Clock::now() - start;
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_TRUE(r.retryable);
  EXPECT_TRUE(Contains(r.error, "curl error 28")) << r.error;
  EXPECT_GE(took, 1500ms);
  EXPECT_LT(took, 8s);
  EXPECT_TRUE(LandingFiles().empty()) << "no landing file, no temp file";
}

TEST_F(ExtractHttp, TheStallTimeoutIsAtMostThirtySeconds) {
  ScriptedHttpServer origin([](int, const std::string&) {
    ScriptedReply r;
    r.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    r.stall = true;
    return r;
  });
  // A whole-transfer timeout of 3 s: the transfer ends at 3 s either way.
  const auto start = Clock::now();
  auto r = Run({{"url", origin.Url("/x.csv")}, {"source", "st"}, {"timeout_s", 3.0}});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_TRUE(r.retryable);
  EXPECT_LT(Clock::now() - start, 8s);
}

TEST_F(ExtractHttp, ABodyCutShortLeavesNoFile) {
  ScriptedHttpServer origin([](int, const std::string&) {
    ScriptedReply r;
    r.bytes = "HTTP/1.1 200 OK\r\nETag: \"cut\"\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n" +
              std::string(5000, 'c');
    return r;
  });
  auto r = Run({{"url", origin.Url("/x.csv")}, {"source", "cut"}});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_TRUE(r.retryable);
  EXPECT_TRUE(Contains(r.error, "curl error 18")) << r.error;
  EXPECT_TRUE(LandingFiles().empty()) << "no landing file, no temp file";
}

TEST_F(ExtractHttp, BadGzipWhenTheServerSaidGzipIsRetryableAndLeavesNoFile) {
  const std::string good = GzipBytes(std::string(100000, 'g'), root_ / "scratch.gz");
  fs::remove(root_ / "scratch.gz");
  const std::string cut = good.substr(0, good.size() - 10);  // whole per Content-Length, but not whole gzip
  ScriptedHttpServer origin([&](int, const std::string&) {
    return Reply(200, "Content-Encoding: gzip\r\n", cut);
  });
  auto r = Run({{"url", origin.Url("/x.csv")}, {"source", "bad"}});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_TRUE(r.retryable);
  EXPECT_TRUE(Contains(r.error, "gzip")) << r.error;
  EXPECT_TRUE(LandingFiles().empty());
}

TEST_F(ExtractHttp, AnUnknownContentEncodingIsRefused) {
  ScriptedHttpServer origin([](int, const std::string&) { return Reply(200, "Content-Encoding: br\r\n", "xxxx"); });
  auto r = Run({{"url", origin.Url("/x.csv")}, {"source", "br"}});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_TRUE(Contains(r.error, "Content-Encoding")) << r.error;
  EXPECT_TRUE(LandingFiles().empty());
}

TEST_F(ExtractNginx, MaxBytesExceededKeepsNothingAndIsFinal) {
  nginx_.WriteFile("data/big.csv", std::string(100000, 'b'));
  auto r = Run({{"url", nginx_.Url("/data/big.csv")}, {"source", "mb"}, {"max_bytes", 1000}});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_TRUE(Contains(r.error, "max_bytes = 1000")) << r.error;
  EXPECT_TRUE(LandingFiles().empty());
  // As `sluice submit --param max_bytes=1000` sends it: the same limit.
  auto text = Run({{"url", nginx_.Url("/data/big.csv")}, {"source", "mb"}, {"max_bytes", "1000"}, {"timeout_s", "5.5"}});
  EXPECT_FALSE(text.retryable);
  EXPECT_TRUE(Contains(text.error, "max_bytes = 1000")) << text.error;

  auto ok = Run({{"url", nginx_.Url("/data/big.csv")}, {"source", "mb"}, {"max_bytes", 100000}});
  EXPECT_EQ(ok.outcome, Outcome::kSucceeded) << ok.error;
}

// Issue 9, defect 9: a default body limit (2 GiB), which a job may lower
// and not raise.
TEST_F(ExtractNginx, TheWorkersMaxBytesIsTheDefaultAndTheCeiling) {
  EXPECT_EQ(HandlerSettings().extract_max_bytes, std::uint64_t{2} << 30);
  EXPECT_EQ(kDefaultExtractMaxBytes, std::uint64_t{2} << 30);
  nginx_.WriteFile("data/big.csv", std::string(100000, 'b'));
  settings_.extract_max_bytes = 50000;
  for (const json& params : {json{{"url", nginx_.Url("/data/big.csv")}, {"source", "mb"}},
                             json{{"url", nginx_.Url("/data/big.csv")}, {"source", "mb"}, {"max_bytes", 0}}}) {
    auto r = Run(params);
    EXPECT_EQ(r.outcome, Outcome::kFailed) << params.dump();
    EXPECT_FALSE(r.retryable);
    EXPECT_TRUE(Contains(r.error, "max_bytes = 50000")) << r.error;
  }
  auto above = Run({{"url", nginx_.Url("/data/big.csv")}, {"source", "mb"}, {"max_bytes", 100001}});
  EXPECT_EQ(above.outcome, Outcome::kFailed);
  EXPECT_FALSE(above.retryable);
  EXPECT_TRUE(Contains(above.error, "max_bytes")) << above.error;
  EXPECT_TRUE(Contains(above.error, "--extract-max-bytes")) << above.error;
  EXPECT_TRUE(LandingFiles().empty());

  settings_.extract_max_bytes = 0;  // no limit
  auto ok = Run({{"url", nginx_.Url("/data/big.csv")}, {"source", "mb"}});
  EXPECT_EQ(ok.outcome, Outcome::kSucceeded) << ok.error;
}

TEST_F(ExtractHttp, MaxBytesAlsoStopsABodyOfUnknownLength) {
  ScriptedHttpServer origin([](int, const std::string&) {
    ScriptedReply r;
    r.bytes = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    for (int i = 0; i < 10; ++i) r.bytes += "1f4\r\n" + std::string(500, 'k') + "\r\n";
    r.bytes += "0\r\n\r\n";
    return r;
  });
  auto r = Run({{"url", origin.Url("/x.csv")}, {"source", "mbc"}, {"max_bytes", 1000}});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_TRUE(Contains(r.error, "max_bytes")) << r.error;
  EXPECT_TRUE(LandingFiles().empty());
}

// --- hostile input ---

TEST_F(ExtractHttp, HostileSourcesCannotWriteAnywhere) {
  const std::string hostile[] = {"..", ".", "a/b", std::string("x\0y", 3), ".hidden", std::string(300, 's'),
                                 "../../etc", "/abs", "", "a\\b"};
  for (const std::string& source : hostile) {
    auto r = Run({{"url", "http://127.0.0.1:1/x.csv"}, {"source", source}});
    EXPECT_EQ(r.outcome, Outcome::kFailed) << source;
    EXPECT_FALSE(r.retryable) << source;
    EXPECT_TRUE(Contains(r.error, "source")) << r.error;
    EXPECT_EQ(r.error.find('\0'), std::string::npos);
  }
  EXPECT_TRUE(AllFiles().empty());
  EXPECT_FALSE(fs::exists(landing_)) << "refused before touching the disk";
}

TEST_F(ExtractHttp, HostileEtagsCannotLeaveThePartition) {
  const std::vector<std::string> etags = {"\"../../etc\"", "\"" + std::string(5000, 'a') + "\"", "\"a/b/../../c\"",
                                          "\"\x01\x7f\"", "\"..\"", "W/\"/\"", "\"\xff\xfe\"", "../../../passwd"};
  ScriptedHttpServer origin([&](int n, const std::string&) {
    return Reply(200, "ETag: " + etags[static_cast<std::size_t>(n) % etags.size()] + "\r\n",
                 "body " + std::to_string(n));
  });
  for (std::size_t i = 0; i < etags.size(); ++i) {
    auto r = Run({{"url", origin.Url("/x.csv")}, {"source", "hostile"}, {"dedup", "etag"}});
    ASSERT_EQ(r.outcome, Outcome::kSucceeded) << i << ": " << r.error;
    EXPECT_EQ(Out(r)["files_written"], 1) << i;
  }
  auto files = AllFiles();
  EXPECT_EQ(files.size(), etags.size()) << "one file each, all distinct";
  for (const std::string& f : files) {
    ASSERT_TRUE(f.starts_with("landing/")) << f;
    EXPECT_TRUE(f.starts_with("landing/" + Partition("hostile"))) << f;
    EXPECT_TRUE(IsEtagName(fs::path(f).filename().string(),
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%-"))
        << f;
    EXPECT_LE(fs::path(f).filename().string().size(), 130u) << f;
  }
}

TEST_F(ExtractHttp, BadParamsAreFinalWithTheFieldNamed) {
  const std::pair<json, std::string> cases[] = {
      {{{"source", "s"}}, "url"},
      {{{"url", "http://h/x"}}, "source"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"ext", "../x"}}, "ext"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"dedup", "sometimes"}}, "dedup"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"date", "2024-13"}}, "date"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"period", "week"}}, "period"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"timeout_s", -1}}, "timeout_s"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"timeout_s", "10s"}}, "timeout_s"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"timeout_s", "1e3"}}, "timeout_s"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"timeout_s", ".5"}}, "timeout_s"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"timeout_s", "0"}}, "timeout_s"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"max_bytes", "15ab"}}, "max_bytes"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"fallback_periods", "-1"}}, "fallback_periods"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"max_bytes", -5}}, "max_bytes"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"headers", {{"X-A", "a\r\nX-Injected: 1"}}}}, "headers"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"headers", {{"Bad Name", "v"}}}}, "headers"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"headers", {{"X-A", "${env:BAD-NAME}"}}}}, "headers"},
      {{{"url", "http://h/x\r\nHost: evil"}, {"source", "s"}}, "url"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"cursor", {{"etag", "\"a\"\r\nX: y"}}}}, "cursor"},
      {{{"url", "http://h/x"}, {"source", "s"}, {"cursor", "etag"}}, "cursor"},
  };
  for (const auto& [params, field] : cases) {
    auto r = Run(params);
    EXPECT_EQ(r.outcome, Outcome::kFailed) << params.dump();
    EXPECT_FALSE(r.retryable) << params.dump();
    EXPECT_TRUE(Contains(r.error, field)) << field << ": " << r.error;
  }
  EXPECT_TRUE(AllFiles().empty());
}

TEST_F(ExtractHttp, OnlyHttpAndHttpsAreFetched) {
  for (const char* url : {"file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/x"}) {
    auto r = Run({{"url", url}, {"source", "proto"}});
    EXPECT_EQ(r.outcome, Outcome::kFailed) << url;
    EXPECT_FALSE(r.retryable) << url << ": " << r.error;
  }
  EXPECT_TRUE(LandingFiles().empty());
}

TEST_F(ExtractHttp, ConnectionRefusedIsRetryable) {
  auto r = Run({{"url", "http://127.0.0.1:1/x.csv"}, {"source", "cr"}});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_TRUE(r.retryable);
  EXPECT_EQ(Out(r)["status_code"], 0);
  EXPECT_TRUE(Contains(r.error, "http://127.0.0.1:1/x.csv")) << r.error;
}

// --- secrets ---

TEST_F(ExtractNginx, SecretsAreSentResolvedAndNeverShown) {
  const std::string value = "k3y-VALUE-93";
  ::setenv("SLUICE_SECRET_TEST_API_KEY", value.c_str(), 1);
  nginx_.WriteFile("data/s.csv", "s\n");
  settings_.secret_in_url = true;
  const std::string url = nginx_.Url("/data/s.csv?token=${env:SLUICE_SECRET_TEST_API_KEY}");
  auto r = Run({{"url", url}, {"source", "sec"}, {"headers", {{"X-Api-Key", "${env:SLUICE_SECRET_TEST_API_KEY}"}}}});
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  json o = Out(r);
  EXPECT_EQ(o["url"], url);
  EXPECT_TRUE(o["path"].get<std::string>().ends_with(".csv.gz"));
  EXPECT_FALSE(Contains(std::string(r.outputs), value));
  EXPECT_FALSE(Contains(r.error, value));
  auto log = nginx_.AccessLog(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_TRUE(Contains(log[0], "key=\"" + value + "\"")) << log[0];
  EXPECT_TRUE(Contains(log[0], "token=" + value)) << log[0];

  // A failure quotes the template, not the value.
  auto missing = Run({{"url", nginx_.Url("/nope.csv?token=${env:SLUICE_SECRET_TEST_API_KEY}")}, {"source", "sec"}});
  EXPECT_EQ(missing.outcome, Outcome::kFailed);
  EXPECT_TRUE(Contains(missing.error, "${env:SLUICE_SECRET_TEST_API_KEY}")) << missing.error;
  EXPECT_FALSE(Contains(missing.error, value));
  EXPECT_FALSE(Contains(std::string(missing.outputs), value));
  ::unsetenv("SLUICE_SECRET_TEST_API_KEY");
}

// Regression: libcurl forwarded custom headers — secrets included — to
// whatever host a redirect named.
TEST_F(ExtractHttp, RedirectsAreNotFollowedWithSecretHeaders) {
  ::setenv("SLUICE_SECRET_TEST_REDIRECT_KEY", "s3cret-77", 1);
  ScriptedHttpServer elsewhere([](int, const std::string&) { return Reply(200, "", "x\n"); });
  const std::string target = elsewhere.Url("/x.csv");
  ScriptedHttpServer origin([&](int, const std::string&) {
    return Reply(302, "Location: " + target + "\r\n", "");
  });
  auto r = Run({{"url", origin.Url("/a.csv")}, {"source", "redir"},
                {"headers", {{"X-Api-Key", "${env:SLUICE_SECRET_TEST_REDIRECT_KEY}"}}}});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_TRUE(Contains(r.error, "302")) << r.error;
  EXPECT_TRUE(Contains(r.error, "redirects are not followed")) << r.error;
  EXPECT_TRUE(elsewhere.Requests().empty()) << "the secret went to the redirect target";

  // Without secrets, the redirect is followed.
  auto plain = Run({{"url", origin.Url("/a.csv")}, {"source", "redir"}});
  EXPECT_EQ(plain.outcome, Outcome::kSucceeded) << plain.error;
  EXPECT_EQ(elsewhere.Requests().size(), 1u);
  ::unsetenv("SLUICE_SECRET_TEST_REDIRECT_KEY");
}

TEST_F(ExtractHttp, LibcurlErrorsAreRedacted) {
  ::setenv("SLUICE_SECRET_TEST_HOST", "127.0.0.1", 1);
  settings_.secret_in_url = true;
  auto r = Run({{"url", "http://${env:SLUICE_SECRET_TEST_HOST}:1/x.csv"}, {"source", "red"}});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_TRUE(r.retryable);
  EXPECT_FALSE(Contains(r.error, "127.0.0.1")) << r.error;
  EXPECT_TRUE(Contains(r.error, "${env:SLUICE_SECRET_TEST_HOST}")) << r.error;
  ::unsetenv("SLUICE_SECRET_TEST_HOST");
}

TEST_F(ExtractNginx, AnUnsetSecretFailsNamingItAndSendsNothing) {
  ::setenv("SLUICE_SECRET_TEST_SET", "visible-if-leaked", 1);
  ::unsetenv("SLUICE_SECRET_TEST_UNSET");
  nginx_.WriteFile("data/s.csv", "s\n");
  settings_.secret_in_url = true;
  auto r = Run({{"url", nginx_.Url("/data/s.csv?a=${env:SLUICE_SECRET_TEST_SET}")},
                {"source", "sec"},
                {"headers", {{"X-Api-Key", "${env:SLUICE_SECRET_TEST_UNSET}"}}}});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_TRUE(Contains(r.error, "SLUICE_SECRET_TEST_UNSET")) << r.error;
  EXPECT_FALSE(Contains(r.error, "visible-if-leaked"));
  EXPECT_FALSE(Contains(std::string(r.outputs), "visible-if-leaked"));

  auto r2 = Run({{"url", nginx_.Url("/data/s.csv?a=${env:SLUICE_SECRET_TEST_UNSET}")}, {"source", "sec"}});
  EXPECT_EQ(r2.outcome, Outcome::kFailed);
  EXPECT_FALSE(r2.retryable);
  EXPECT_TRUE(Contains(r2.error, "SLUICE_SECRET_TEST_UNSET")) << r2.error;
  EXPECT_TRUE(nginx_.AccessLog().empty()) << "no request was made";
  EXPECT_TRUE(LandingFiles().empty());
  ::unsetenv("SLUICE_SECRET_TEST_SET");
}

// Regression (issue 9, defect 7): `url=http://x/?leak=${env:HOME}` sent any
// variable of the worker's environment to any host.
TEST_F(ExtractNginx, SecretsComeOnlyFromTheAllowList) {
  ::setenv("SLUICE_TEST_NOT_A_SECRET", "private-value-41", 1);
  ::setenv("SLUICE_SECRET_TEST_OK", "fine-value-42", 1);
  nginx_.WriteFile("data/s.csv", "s\n");
  settings_.secret_in_url = true;  // the name is what is refused here
  for (const json& params : {
           json{{"url", nginx_.Url("/data/s.csv")}, {"source", "sec"},
                {"headers", {{"X-Api-Key", "${env:SLUICE_TEST_NOT_A_SECRET}"}}}},
           json{{"url", nginx_.Url("/data/s.csv?leak=${env:HOME}")}, {"source", "sec"}},
           json{{"url", nginx_.Url("/data/s.csv?leak=${env:SLUICE_TEST_NOT_A_SECRET}")}, {"source", "sec"}},
       }) {
    auto r = Run(params);
    EXPECT_EQ(r.outcome, Outcome::kFailed) << params.dump();
    EXPECT_FALSE(r.retryable) << params.dump();
    EXPECT_TRUE(Contains(r.error, "is not allowed on this worker")) << r.error;
    EXPECT_TRUE(Contains(r.error, "--secret-env: SLUICE_SECRET_*")) << r.error;
    EXPECT_FALSE(Contains(r.error, "private-value-41")) << r.error;
  }
  EXPECT_TRUE(nginx_.AccessLog().empty()) << "nothing was sent";
  EXPECT_TRUE(LandingFiles().empty());

  // Allowed by the default prefix...
  auto ok = Run({{"url", nginx_.Url("/data/s.csv")}, {"source", "sec"},
                 {"headers", {{"X-Api-Key", "${env:SLUICE_SECRET_TEST_OK}"}}}});
  ASSERT_EQ(ok.outcome, Outcome::kSucceeded) << ok.error;
  // ... or by a list the operator gives (which replaces the default).
  settings_.secret_env = SecretAllowList::Parse({"SLUICE_TEST_NOT_*"}).value();
  auto listed = Run({{"url", nginx_.Url("/data/s.csv")}, {"source", "sec2"},
                     {"headers", {{"X-Api-Key", "${env:SLUICE_TEST_NOT_A_SECRET}"}}}});
  ASSERT_EQ(listed.outcome, Outcome::kSucceeded) << listed.error;
  auto unlisted = Run({{"url", nginx_.Url("/data/s.csv")}, {"source", "sec3"},
                       {"headers", {{"X-Api-Key", "${env:SLUICE_SECRET_TEST_OK}"}}}});
  EXPECT_EQ(unlisted.outcome, Outcome::kFailed);
  EXPECT_TRUE(Contains(unlisted.error, "--secret-env: SLUICE_TEST_NOT_*")) << unlisted.error;
  auto log = nginx_.AccessLog(2);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_TRUE(Contains(log[0], "key=\"fine-value-42\"")) << log[0];
  EXPECT_TRUE(Contains(log[1], "key=\"private-value-41\"")) << log[1];
  ::unsetenv("SLUICE_TEST_NOT_A_SECRET");
  ::unsetenv("SLUICE_SECRET_TEST_OK");
}

TEST_F(ExtractNginx, SecretsInTheUrlOnlyWithSecretInUrl) {
  ::setenv("SLUICE_SECRET_TEST_TOKEN", "url-token-43", 1);
  nginx_.WriteFile("data/s.csv", "s\n");
  ASSERT_FALSE(settings_.secret_in_url) << "the default";
  auto r = Run({{"url", nginx_.Url("/data/s.csv?token=${env:SLUICE_SECRET_TEST_TOKEN}")}, {"source", "sec"}});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_TRUE(Contains(r.error, "--secret-in-url")) << r.error;
  EXPECT_TRUE(nginx_.AccessLog().empty()) << "nothing was sent";

  // In a header it is fine by default; in the URL once the operator says so.
  auto header = Run({{"url", nginx_.Url("/data/s.csv")}, {"source", "sec"},
                     {"headers", {{"X-Api-Key", "${env:SLUICE_SECRET_TEST_TOKEN}"}}}});
  EXPECT_EQ(header.outcome, Outcome::kSucceeded) << header.error;
  settings_.secret_in_url = true;
  auto url = Run({{"url", nginx_.Url("/data/s.csv?token=${env:SLUICE_SECRET_TEST_TOKEN}")}, {"source", "sec4"}});
  EXPECT_EQ(url.outcome, Outcome::kSucceeded) << url.error;
  auto log = nginx_.AccessLog(2);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_TRUE(Contains(log[1], "token=url-token-43")) << log[1];
  ::unsetenv("SLUICE_SECRET_TEST_TOKEN");
}

// --- stopping ---

ScriptedReply Stall(int, const std::string&) {
  ScriptedReply r;
  r.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + std::string(2000, 'z');
  r.stall = true;
  return r;
}

TEST_F(ExtractHttp, CancelAbortsTheTransferAtOnceAndCleansUp) {
  ScriptedHttpServer origin(Stall);
  CancelToken token;
  std::thread canceller([&token] {
    std::this_thread::sleep_for(300ms);
    token.Cancel(StopReason::kCancelled);
  });
  const auto start = Clock::now();
  auto r = Run({{"url", origin.Url("/x.csv")}, {"source", "cx"}, {"timeout_s", 60}}, token);
  const auto took = Clock::now() - start;
  canceller.join();
  EXPECT_EQ(r.outcome, Outcome::kCancelled) << r.error;
  EXPECT_LT(took, 1s);
  EXPECT_TRUE(LandingFiles().empty()) << "the temp file is gone";
}

TEST_F(ExtractHttp, TheJobTimeoutStopsTheTransfer) {
  ScriptedHttpServer origin(Stall);
  CancelToken token(Clock::now() + 300ms);
  const auto start = Clock::now();
  auto r = Run({{"url", origin.Url("/x.csv")}, {"source", "to"}, {"timeout_s", 60}}, token);
  EXPECT_EQ(r.outcome, Outcome::kTimedOut) << r.error;
  EXPECT_LT(Clock::now() - start, 1500ms);
  EXPECT_TRUE(LandingFiles().empty());
}

// --- memory ---

long VmHwmKb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
  return -1;
}

TEST_F(ExtractNginx, FiveHundredMegabytesInBoundedMemory) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "peak RSS means nothing under AddressSanitizer";
#endif
  constexpr std::uintmax_t kSize = 500ull * 1024 * 1024;
  fs::create_directories(nginx_.docroot() / "big");
  {
    std::ofstream touch(nginx_.docroot() / "big/zero.bin");
  }
  fs::resize_file(nginx_.docroot() / "big/zero.bin", kSize);  // sparse, like truncate -s 500M

  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipe_fds[0]);
    std::ofstream("/proc/self/clear_refs") << "5";  // reset the peak to now
    auto r = Run({{"url", nginx_.Url("/big/zero.bin")}, {"source", "big"}, {"timeout_s", 120}});
    std::string report = std::to_string(VmHwmKb()) + " " + (r.outcome == Outcome::kSucceeded ? "ok" : r.error);
    ssize_t ignored = ::write(pipe_fds[1], report.data(), report.size());
    (void)ignored;
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string report;
  char buf[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) report.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const long hwm_kb = std::stol(report);
  const std::string verdict = report.substr(report.find(' ') + 1);
  ASSERT_EQ(verdict, "ok");
  std::printf("peak RSS of the child that downloaded 500 MB: %ld kB\n", hwm_kb);
  EXPECT_LT(hwm_kb, 64 * 1024);

  auto files = LandingFiles();
  ASSERT_EQ(files.size(), 1u);
  gzFile f = gzopen((landing_ / *files.begin()).c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::uintmax_t total = 0;
  bool zeros = true;
  std::vector<char> chunk(1 << 20);
  for (int n; (n = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()))) > 0;) {
    total += static_cast<std::uintmax_t>(n);
    for (int i = 0; i < n && zeros; ++i) zeros = chunk[static_cast<std::size_t>(i)] == 0;
  }
  gzclose(f);
  EXPECT_EQ(total, kSize);
  EXPECT_TRUE(zeros);
}

}  // namespace
}  // namespace sluice::worker
