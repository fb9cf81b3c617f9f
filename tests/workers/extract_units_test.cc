// The pure pieces of extract.http: secret references, landing names, gzip
// streams, and the landing zone on disk. (Periods and URL templates are
// pipeline/period.h, tested in tests/pipeline.)
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "workers/folder_sync.h"
#include "workers/gzip_stream.h"
#include "workers/handler.h"
#include "workers/landing_names.h"
#include "workers/landing_zone.h"
#include "workers/secret_allow_list.h"
#include "workers/secret_template.h"
#include "workers/sha256_stream.h"

namespace sluice::worker {
namespace {

using namespace std::chrono;

// --- secret references ---

// Every name: these tests are about the grammar, not the allow-list.
const SecretAllowList& All() {
  static const SecretAllowList all = SecretAllowList::Parse({"*"}).value();
  return all;
}

EnvLookup Fake(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

TEST(SecretTemplate, ResolvesEveryReference) {
  SecretRedactor redactor;
  auto r = ResolveSecrets("Bearer ${env:TOKEN} and ${env:_X1}${env:TOKEN}", All(), Fake({{"TOKEN", "t0k"}, {"_X1", "x"}}),
                          &redactor);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "Bearer t0k and xt0k");
  EXPECT_EQ(redactor.Redact("error: t0k at x"), "error: ${env:TOKEN} at ${env:_X1}");
}

TEST(SecretTemplate, OtherDollarsAreLiteral) {
  auto r = ResolveSecrets("$HOME ${HOME} $ {env:X} ${envX} $$", All(), Fake({}), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "$HOME ${HOME} $ {env:X} ${envX} $$");
}

TEST(SecretTemplate, UnsetNameFailsNamingItOnly) {
  auto r = ResolveSecrets("a=${env:SET_ONE}&b=${env:MISSING_ONE}", All(), Fake({{"SET_ONE", "value-123"}}), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("MISSING_ONE"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("value-123"), std::string::npos) << r.status().message();
}

TEST(SecretTemplate, MalformedReferencesAreErrors) {
  for (const char* bad : {"${env:}", "${env:1A}", "${env:A", "${env:A-B}", "x ${env:", "${env:A }",
                          "${env:\x01}"}) {
    EXPECT_FALSE(CheckSecretReferences(bad).ok()) << bad;
    EXPECT_FALSE(ResolveSecrets(bad, All(), Fake({{"A", "v"}}), nullptr).ok()) << bad;
  }
  EXPECT_FALSE(CheckSecretReferences("${env:" + std::string(129, 'A') + "}").ok());
  EXPECT_TRUE(CheckSecretReferences("${env:" + std::string(128, 'A') + "}").ok());
  EXPECT_TRUE(CheckSecretReferences("no references").ok());
}

TEST(SecretTemplate, EmptyValueIsAllowedAndNotRedacted) {
  SecretRedactor redactor;
  auto r = ResolveSecrets("[${env:E}]", All(), Fake({{"E", ""}}), &redactor);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "[]");
  EXPECT_TRUE(redactor.empty());
}

// --- the secret allow-list (issue 9, defect 7) ---

TEST(SecretAllowList, TheDefaultAllowsOnlySluiceSecretNames) {
  SecretAllowList d;
  EXPECT_TRUE(d.Allows("SLUICE_SECRET_API_KEY"));
  EXPECT_TRUE(d.Allows("SLUICE_SECRET_"));
  for (const char* name : {"HOME", "PATH", "SLUICE_BROKER", "SLUICE_SECRETX", "sluice_secret_x", "AWS_SECRET_ACCESS_KEY"})
    EXPECT_FALSE(d.Allows(name)) << name;
  EXPECT_EQ(d.Describe(), "SLUICE_SECRET_*");
  EXPECT_EQ(HandlerSettings().secret_env.Describe(), "SLUICE_SECRET_*");
}

TEST(SecretAllowList, NamesAndPrefixes) {
  auto list = SecretAllowList::Parse({"API_TOKEN", "VENDOR_*"});
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_TRUE(list->Allows("API_TOKEN"));
  EXPECT_FALSE(list->Allows("API_TOKEN2"));
  EXPECT_FALSE(list->Allows("API_TOKE"));
  EXPECT_TRUE(list->Allows("VENDOR_"));
  EXPECT_TRUE(list->Allows("VENDOR_KEY"));
  EXPECT_FALSE(list->Allows("SLUICE_SECRET_X")) << "a list replaces the default";
  EXPECT_EQ(list->Describe(), "API_TOKEN, VENDOR_*");
  auto none = SecretAllowList::Parse({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->Allows("SLUICE_SECRET_X"));
  EXPECT_EQ(none->Describe(), "none");
  EXPECT_TRUE(SecretAllowList::Parse({"*"})->Allows("HOME"));
  for (const char* bad : {"", "1A", "A-B", "A*B", "**", "A B", "A,B"}) {
    auto r = SecretAllowList::Parse({bad});
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("--secret-env"), std::string::npos);
    }
  }
}

TEST(SecretTemplate, ANameNotAllowedFailsNamingTheRuleWithoutLookingItUp) {
  std::vector<std::string> looked_up;
  EnvLookup spy = [&looked_up](const char* name) -> const char* {
    looked_up.emplace_back(name);
    return "value-of-home";
  };
  SecretRedactor redactor;
  auto r = ResolveSecrets("x=${env:SLUICE_SECRET_OK}&leak=${env:HOME}", SecretAllowList(), spy, &redactor);
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("${env:HOME} is not allowed"), std::string::npos) << m;
  EXPECT_NE(m.find("--secret-env: SLUICE_SECRET_*"), std::string::npos) << m;
  EXPECT_EQ(m.find("value-of-home"), std::string::npos) << m;
  EXPECT_EQ(looked_up, std::vector<std::string>{"SLUICE_SECRET_OK"});
}

// --- landing names ---

TEST(LandingNames, EtagStemStripsQuotesAndWeakness) {
  const std::string url = "http://h/a.csv";
  const std::string url8 = Sha256Stream::Hex(url).substr(0, 8);
  EXPECT_EQ(EtagStem(url, "\"65f1a2b3-1c\""), "e" + url8 + "-65f1a2b3-1c");
  EXPECT_EQ(EtagStem(url, "W/\"65f1a2b3-1c\""), "e" + url8 + "-65f1a2b3-1c");
  EXPECT_EQ(EtagStem(url, "bare"), "e" + url8 + "-bare");
  EXPECT_EQ(EtagStem(url, "\"\""), "");
  EXPECT_EQ(EtagStem(url, ""), "");
}

TEST(LandingNames, EtagStemIsPerUrl) {
  EXPECT_NE(EtagStem("http://h/a.csv", "\"x\""), EtagStem("http://h/b.csv", "\"x\""));
}

TEST(LandingNames, HostileEtagsBecomeSafeNames) {
  const std::string url = "http://h/a.csv";
  const std::string hostile[] = {"\"../../etc\"", "\"a/b\"", std::string("\"x\0y\"", 5), "\"\x01\x7f\xff\"",
                                 "\"..\"", "\"%2F\"", std::string(5000, 'a'), "\"" + std::string(300, '/') + "\""};
  std::set<std::string> stems;
  for (const std::string& etag : hostile) {
    std::string stem = EtagStem(url, etag);
    ASSERT_FALSE(stem.empty());
    EXPECT_TRUE(IsSafeFileName(stem + ".csv.gz")) << stem;
    EXPECT_EQ(stem.find('/'), std::string::npos);
    EXPECT_EQ(stem.find('\0'), std::string::npos);
    EXPECT_LE(stem.size(), 1 + 8 + 1 + kMaxEtagChars);
    stems.insert(stem);
  }
  EXPECT_EQ(stems.size(), std::size(hostile)) << "distinct ETags, distinct names";
  EXPECT_EQ(EtagStem(url, "\"../../etc\""), "e" + Sha256Stream::Hex(url).substr(0, 8) + "-..%2F..%2Fetc");
}

TEST(LandingNames, PercentIsEncodedSoEncodingIsOneToOne) {
  EXPECT_NE(EtagStem("u", "\"a/b\""), EtagStem("u", "\"a%2Fb\""));
  EXPECT_NE(EtagStem("u", std::string(kMaxEtagChars + 1, 'a')), EtagStem("u", std::string(kMaxEtagChars + 2, 'a')));
}

TEST(LandingNames, SourceValidation) {
  const std::string good[] = {"sales", "a", "a.b-c_d", "2024", std::string(64, 'x')};
  for (const std::string& s : good) EXPECT_TRUE(ValidateSource(s).ok()) << s;
  const std::string bad[] = {"", ".", "..", ".hidden", "a/b", "../x", std::string("x\0y", 3), "a b",
                             std::string(65, 'x'), std::string(300, 'x'), "caf\xc3\xa9", "a\\b"};
  for (const std::string& s : bad) {
    Status st = ValidateSource(s);
    EXPECT_FALSE(st.ok()) << s;
    EXPECT_NE(st.message().find("source"), std::string::npos);
    EXPECT_EQ(st.message().find('\0'), std::string::npos);
    EXPECT_LT(st.message().size(), 300u);
  }
}

TEST(LandingNames, ExtValidation) {
  EXPECT_TRUE(ValidateExt("csv").ok());
  EXPECT_TRUE(ValidateExt("ndjson").ok());
  EXPECT_FALSE(ValidateExt("").ok());
  EXPECT_FALSE(ValidateExt(".csv").ok());
  EXPECT_FALSE(ValidateExt("..").ok());
  EXPECT_FALSE(ValidateExt("c/v").ok());
  EXPECT_FALSE(ValidateExt(std::string(17, 'a')).ok());
}

TEST(LandingNames, ExtensionFromUrl) {
  EXPECT_EQ(ExtensionFromUrl("http://h/a/b.csv.gz"), "csv");
  EXPECT_EQ(ExtensionFromUrl("http://h/a/b.csv"), "csv");
  EXPECT_EQ(ExtensionFromUrl("https://h/x.json?x=1.txt#y.z"), "json");
  EXPECT_EQ(ExtensionFromUrl("http://h/a.tar.gz"), "tar");
  EXPECT_EQ(ExtensionFromUrl("http://h/data.gz"), "bin");
  EXPECT_EQ(ExtensionFromUrl("http://h/dir/"), "bin");
  EXPECT_EQ(ExtensionFromUrl("http://h"), "bin");
  EXPECT_EQ(ExtensionFromUrl("http://h/.profile"), "bin");
  EXPECT_EQ(ExtensionFromUrl("http://h/x.toolongextension12345"), "bin");
  EXPECT_EQ(ExtensionFromUrl("http://h/d.v1/file"), "bin");
  EXPECT_EQ(ExtensionFromUrl("http://h/d/file.ndjson?key=${env:KEY}"), "ndjson");
  EXPECT_EQ(ExtensionFromUrl("not a url"), "bin");
}

TEST(LandingNames, ContentStem) {
  EXPECT_EQ(ContentStem(Sha256Stream::Hex("abc")), "ba7816bf8f01cfea");
}

// --- SHA-256 and gzip ---

TEST(Sha256Stream, ChunkedEqualsWhole) {
  EXPECT_EQ(Sha256Stream::Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256Stream s;
  s.Update("a");
  s.Update("");
  s.Update("bc");
  EXPECT_EQ(s.FinishHex(), Sha256Stream::Hex("abc"));
}

std::string Gunzip(std::string_view gz) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 32), Z_OK);
  std::string out;
  char buf[4096];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc == Z_OK);
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&z);
  return out;
}

std::string Deflate(std::string_view in) {
  std::string out;
  GzipDeflater d;
  auto sink = [&out](std::string_view b) {
    out.append(b);
    return Status::Ok();
  };
  EXPECT_TRUE(d.Write(in, sink).ok());
  EXPECT_TRUE(d.Finish(sink).ok());
  return out;
}

TEST(GzipStream, DeflateRoundTripsAndIsDeterministic) {
  std::string data;
  for (int i = 0; i < 200000; ++i) data += std::to_string(i * 7919 % 1000) + ",";
  std::string gz = Deflate(data);
  EXPECT_TRUE(HasGzipMagic(gz));
  EXPECT_LT(gz.size(), data.size());
  EXPECT_EQ(Gunzip(gz), data);
  EXPECT_EQ(Deflate(data), gz);
  EXPECT_EQ(Gunzip(Deflate("")), "");
}

TEST(GzipStream, VerifierAcceptsWholeStreamsInAnyChunking) {
  std::string gz = Deflate(std::string(100000, 'q')) + Deflate("second member");
  for (std::size_t chunk : {1ul, 7ul, 4096ul, gz.size()}) {
    GzipVerifier v;
    for (std::size_t i = 0; i < gz.size(); i += chunk)
      ASSERT_TRUE(v.Feed(std::string_view(gz).substr(i, chunk)).ok());
    EXPECT_TRUE(v.Finish().ok()) << chunk;
  }
}

TEST(GzipStream, VerifierRejectsTruncatedAndGarbage) {
  std::string gz = Deflate(std::string(100000, 'q'));
  {
    GzipVerifier v;
    EXPECT_TRUE(v.Feed(std::string_view(gz).substr(0, gz.size() - 3)).ok());
    EXPECT_EQ(v.Finish().code(), Code::kCorruption);
  }
  {
    GzipVerifier v;
    std::string bad = gz;
    bad[bad.size() - 6] ^= 0x55;  // CRC
    v.Feed(bad).ok();
    EXPECT_EQ(v.Finish().code(), Code::kCorruption);
  }
  {
    GzipVerifier v;
    EXPECT_EQ(v.Feed("\x1f\x8bnot really gzip at all").code(), Code::kCorruption);
  }
  {
    GzipVerifier v;
    EXPECT_EQ(v.Finish().code(), Code::kCorruption);
  }
}

// --- the landing zone on disk ---

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/sluice-landing-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
};

system_clock::time_point March2024() {
  return sys_days(year_month_day{year(2024), month(3), day(15)}) + hours(12);
}

std::set<std::string> Files(const std::filesystem::path& dir) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (!e.is_directory()) out.insert(std::filesystem::relative(e.path(), dir).string());
  return out;
}

TEST(LandingZone, OpensThePartitionOfTheFetchMonth) {
  TempDir tmp;
  auto p = LandingPartition::Open((tmp.path / "landing").string(), "sales", March2024());
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ((*p)->relative_dir(), "sales/2024/03");
  EXPECT_TRUE(std::filesystem::is_directory(tmp.path / "landing/sales/2024/03"));
}

TEST(LandingZone, RefusesHostileSources) {
  TempDir tmp;
  for (const char* s : {"..", "a/b", ".x", ""})
    EXPECT_FALSE(LandingPartition::Open(tmp.path.string(), s, March2024()).ok()) << s;
  EXPECT_TRUE(Files(tmp.path).empty());
}

TEST(LandingZone, DoesNotFollowASymlinkOutOfTheLandingZone) {
  TempDir tmp;
  std::filesystem::create_directories(tmp.path / "landing");
  std::filesystem::create_directories(tmp.path / "elsewhere");
  std::filesystem::create_directory_symlink(tmp.path / "elsewhere", tmp.path / "landing/sales");
  auto p = LandingPartition::Open((tmp.path / "landing").string(), "sales", March2024());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("not a folder"), std::string::npos) << p.status().message();
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path / "elsewhere"));
}

// A partition folder is kept open for the next job (OpenFolders), but only
// while its path still names it.
TEST(LandingZone, AKeptPartitionIsNotUsedOnceItsPathNamesAnotherFolder) {
  TempDir tmp;
  const auto landing = tmp.path / "landing";
  auto first = LandingPartition::Open(landing.string(), "s", March2024());
  ASSERT_TRUE(first.ok()) << first.status().message();
  first->reset();
  std::filesystem::rename(landing / "s", landing / "s-moved");

  auto second = LandingPartition::Open(landing.string(), "s", March2024());
  ASSERT_TRUE(second.ok()) << second.status().message();
  auto t = (*second)->CreateTemp();
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE((*t)->Write("x").ok());
  ASSERT_TRUE((*second)->Publish(t->get(), "x.csv.gz").ok());
  EXPECT_TRUE(std::filesystem::exists(landing / "s/2024/03/x.csv.gz"));
  EXPECT_TRUE(std::filesystem::is_empty(landing / "s-moved/2024/03"));
}

TEST(LandingZone, AKeptPartitionReplacedByASymlinkIsRefusedAgain) {
  TempDir tmp;
  const auto landing = tmp.path / "landing";
  auto first = LandingPartition::Open(landing.string(), "sales", March2024());
  ASSERT_TRUE(first.ok()) << first.status().message();
  first->reset();
  std::filesystem::create_directories(tmp.path / "elsewhere/2024/03");
  std::filesystem::rename(landing / "sales", tmp.path / "old-sales");
  std::filesystem::create_directory_symlink(tmp.path / "elsewhere", landing / "sales");

  auto again = LandingPartition::Open(landing.string(), "sales", March2024());
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("not a folder"), std::string::npos) << again.status().message();
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path / "elsewhere/2024/03"));
}

TEST(LandingZone, AKeptPartitionRemovedIsCreatedAgain) {
  TempDir tmp;
  const auto landing = tmp.path / "landing";
  ASSERT_TRUE(LandingPartition::Open(landing.string(), "s", March2024()).ok());
  std::filesystem::remove_all(landing / "s");
  auto again = LandingPartition::Open(landing.string(), "s", March2024());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(std::filesystem::is_directory(landing / "s/2024/03"));
  auto t = (*again)->CreateTemp();
  ASSERT_TRUE(t.ok()) << t.status().message();
}

// Both kinds of temp file: unnamed (O_TMPFILE, where the filesystem has
// it) and named (the fallback).
class LandingTemp : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(Unnamed, LandingTemp, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Unnamed" : "Named"; });

TEST_P(LandingTemp, PublishIsAtomicAndNeverReplaces) {
  TempDir tmp;
  auto p = LandingPartition::Open(tmp.path.string(), "s", March2024());
  ASSERT_TRUE(p.ok());
  auto t = (*p)->CreateTemp(GetParam());
  ASSERT_TRUE(t.ok());
  if (GetParam()) {
    EXPECT_TRUE((*t)->name().empty()) << "this filesystem has no O_TMPFILE? " << (*t)->name();
  } else {
    EXPECT_TRUE((*t)->name().starts_with(".sluice-tmp-"));
  }
  ASSERT_TRUE((*t)->Write("first").ok());
  auto published = (*p)->Publish(t->get(), "x.csv.gz");
  ASSERT_TRUE(published.ok()) << published.status().message();
  EXPECT_TRUE(published.value());
  t->reset();

  auto t2 = (*p)->CreateTemp(GetParam());
  ASSERT_TRUE(t2.ok());
  ASSERT_TRUE((*t2)->Write("second").ok());
  auto again = (*p)->Publish(t2->get(), "x.csv.gz");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again.value());
  t2->reset();
  EXPECT_EQ(Files(tmp.path), std::set<std::string>{"s/2024/03/x.csv.gz"});
  std::ifstream in(tmp.path / "s/2024/03/x.csv.gz");
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "first");
}

TEST_P(LandingTemp, UnpublishedTempFilesAreDeleted) {
  TempDir tmp;
  auto p = LandingPartition::Open(tmp.path.string(), "s", March2024());
  ASSERT_TRUE(p.ok());
  {
    auto t = (*p)->CreateTemp(GetParam());
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE((*t)->Write("partial").ok());
    // An unnamed one is never seen in the folder; a named one is, until
    // it is published or deleted.
    EXPECT_EQ(Files(tmp.path).size(), GetParam() ? 0u : 1u);
  }
  EXPECT_TRUE(Files(tmp.path).empty());
}

TEST(LandingZone, PublishRefusesUnsafeNames) {
  TempDir tmp;
  auto p = LandingPartition::Open(tmp.path.string(), "s", March2024());
  ASSERT_TRUE(p.ok());
  for (const char* bad : {"../x.gz", "a/b.gz", ".hidden.gz", ""}) {
    auto t = (*p)->CreateTemp();
    ASSERT_TRUE(t.ok());
    EXPECT_FALSE((*p)->Publish(t->get(), bad).ok()) << bad;
  }
  EXPECT_TRUE(Files(tmp.path).empty());
}

TEST(LandingZone, SweepsOnlyStaleTempFiles) {
  TempDir tmp;
  auto p = LandingPartition::Open(tmp.path.string(), "s", March2024());
  ASSERT_TRUE(p.ok());
  const auto dir = tmp.path / "s/2024/03";
  std::ofstream(dir / ".sluice-tmp-old") << "x";
  std::ofstream(dir / ".sluice-tmp-new") << "x";
  std::ofstream(dir / "keep.csv.gz") << "x";
  std::ofstream(dir / ".other-dotfile") << "x";
  std::filesystem::last_write_time(dir / ".sluice-tmp-old",
                                   std::filesystem::file_time_type::clock::now() - hours(2));
  std::filesystem::last_write_time(dir / "keep.csv.gz", std::filesystem::file_time_type::clock::now() - hours(2));
  EXPECT_EQ((*p)->SweepStaleTemps(system_clock::now(), hours(1)), 1);
  EXPECT_EQ(Files(tmp.path), (std::set<std::string>{"s/2024/03/.sluice-tmp-new", "s/2024/03/keep.csv.gz",
                                                    "s/2024/03/.other-dotfile"}));
}

}  // namespace
}  // namespace sluice::worker

namespace sluice::worker {
namespace {

// FolderSync with a stand-in for fsync: it counts calls and can hold the
// first one under way (a latch) or fail.
struct FakeFsync {
  static inline std::atomic<int> calls{0};
  static inline std::atomic<bool> hold{false};
  static inline std::atomic<bool> holding{false};
  static inline std::atomic<int> fail_errno{0};
  static int Fn(int) {
    calls++;
    if (hold.exchange(false)) {
      holding = true;
      while (holding.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (int e = fail_errno.load()) {
      errno = e;
      return -1;
    }
    return 0;
  }
  static void Reset() {
    calls = 0;
    hold = false;
    holding = false;
    fail_errno = 0;
  }
};

class FolderSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeFsync::Reset();
    FolderSync::SetFsyncForTesting(&FakeFsync::Fn);
    fd_ = ::open(tmp_.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd_, 0);
    struct stat st{};
    ASSERT_EQ(::fstat(fd_, &st), 0);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
  void TearDown() override {
    FolderSync::SetFsyncForTesting(nullptr);
    ::close(fd_);
  }
  TempDir tmp_;
  int fd_ = -1;
  dev_t dev_{};
  ino_t ino_{};
};

TEST_F(FolderSyncTest, AloneItFsyncsEveryTime) {
  EXPECT_TRUE(FolderSync::Sync(fd_, dev_, ino_).ok());
  EXPECT_TRUE(FolderSync::Sync(fd_, dev_, ino_).ok());
  EXPECT_EQ(FakeFsync::calls.load(), 2);
}

// While one fsync is under way, others who ask wait and are covered
// together by one more fsync (started after their links), not one each.
TEST_F(FolderSyncTest, CallersDuringAnFsyncShareTheNextOne) {
  FakeFsync::hold = true;
  std::thread first([&] { EXPECT_TRUE(FolderSync::Sync(fd_, dev_, ino_).ok()); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!FakeFsync::holding.load() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(FakeFsync::holding.load());
  const std::uint64_t base = FolderSync::RequestsForTesting(dev_, ino_);  // the first's included
  std::vector<std::thread> later;
  std::atomic<int> ok{0};
  for (int i = 0; i < 5; ++i)
    later.emplace_back([&] {
      if (FolderSync::Sync(fd_, dev_, ino_).ok()) ++ok;
    });
  // A fence: all five have asked (taken their request numbers) while the
  // first fsync is still held.
  while (FolderSync::RequestsForTesting(dev_, ino_) < base + 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::uint64_t asked = FolderSync::RequestsForTesting(dev_, ino_);
  FakeFsync::holding = false;
  first.join();
  for (auto& t : later) t.join();
  ASSERT_EQ(asked, base + 5) << "the five never asked";
  EXPECT_EQ(ok.load(), 5);
  EXPECT_EQ(FakeFsync::calls.load(), 2) << "the five share one fsync after the first";
}

// A failed fsync fails every caller it covers.
TEST_F(FolderSyncTest, AFailedFsyncFailsTheCallersItCovers) {
  FakeFsync::fail_errno = EIO;
  Status st = FolderSync::Sync(fd_, dev_, ino_);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("Input/output error"), std::string::npos) << st.message();
  FakeFsync::fail_errno = 0;
  EXPECT_TRUE(FolderSync::Sync(fd_, dev_, ino_).ok());
}

}  // namespace
}  // namespace sluice::worker
