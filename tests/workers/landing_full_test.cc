// Fault test (issue 9): the landing disk fills up during an extract. The
// landing zone is a small tmpfs (mount(2); the test exits 77, skipped, where
// it may not mount), the origin a real nginx serving a file bigger than it.
// The attempt must fail retryable and leave nothing behind -- no landing
// file, no temp file -- and once there is room, the next attempt lands.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "handler_harness.h"
#include "nginx_server.h"

namespace sluice::worker {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kSmallTmpfs = "size=256k";
constexpr std::size_t kBodyBytes = 2 << 20;  // 8 times the tmpfs

// A fresh folder with a tmpfs of `options` mounted on it; "" when it cannot
// be done (then *why says why).
std::string MountTmpfs(const char* options, std::string* why) {
  char tmpl[] = "/tmp/sluice-landing-full-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    *why = std::string("mkdtemp: ") + std::strerror(errno);
    return "";
  }
  if (::mount("tmpfs", tmpl, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0) {
    *why = std::string("mount -t tmpfs: ") + std::strerror(errno);
    ::rmdir(tmpl);
    return "";
  }
  return tmpl;
}

void Unmount(const std::string& dir) {
  if (::umount2(dir.c_str(), 0) != 0) ::umount2(dir.c_str(), MNT_DETACH);
  ::rmdir(dir.c_str());
}

// Skips the whole binary (exit 77) without nginx or without the right to
// mount a tmpfs.
class RequireNginxAndMount : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!testing::NginxInstalled()) {
      std::fprintf(stderr, "SKIP: %s is not installed (apt-get install nginx-light)\n", testing::kNginxPath);
      std::exit(77);
    }
    std::string why;
    std::string probe = MountTmpfs(kSmallTmpfs, &why);
    if (probe.empty()) {
      std::fprintf(stderr, "SKIP: cannot mount a tmpfs for the landing zone (%s); run as root or with CAP_SYS_ADMIN\n",
                   why.c_str());
      std::exit(77);
    }
    Unmount(probe);
  }
};
[[maybe_unused]] ::testing::Environment* const kRequire =
    ::testing::AddGlobalTestEnvironment(new RequireNginxAndMount);

class LandingDiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(nginx_.ok()) << nginx_.error();
    std::string why;
    landing_ = MountTmpfs(kSmallTmpfs, &why);
    ASSERT_FALSE(landing_.empty()) << why;
    settings_.landing_dir = landing_;
    ::unsetenv("http_proxy");
    ::unsetenv("HTTP_PROXY");
  }
  void TearDown() override {
    if (!landing_.empty()) Unmount(landing_);
  }

  proto::JobResult Run(const json& params) {
    CancelToken never;
    return testing::RunHandlerWith(settings_, "extract.http", params.dump(), never);
  }
  // Every file (dot files, temp files too) in the landing zone.
  std::set<std::string> Files() const {
    std::set<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(landing_))
      if (!e.is_directory()) out.insert(fs::relative(e.path(), landing_).string());
    return out;
  }

  testing::NginxServer nginx_;
  std::string landing_;
  HandlerSettings settings_;
};

TEST_F(LandingDiskFull, AFullLandingDiskFailsRetryableAndLeavesNothing) {
  // Random bytes do not compress: the gzip landing file is as big as the body.
  std::string body(kBodyBytes, '\0');
  std::mt19937_64 random(9);
  for (char& c : body) c = static_cast<char>(random() & 0xff);
  body[0] = 'r';  // not a gzip magic number by chance
  nginx_.WriteFile("data/big.bin", body);
  const json params = {{"url", nginx_.Url("/data/big.bin")}, {"source", "full"}, {"ext", "bin"}};

  proto::JobResult r = Run(params);
  EXPECT_EQ(r.outcome, Outcome::kFailed) << r.error;
  EXPECT_TRUE(r.retryable) << "a full disk may clear: " << r.error;
  EXPECT_NE(r.error.find("space"), std::string::npos) << r.error;
  EXPECT_EQ(Files(), std::set<std::string>{}) << "a partial or temp file was left behind";
  struct statvfs vfs {};
  ASSERT_EQ(::statvfs(landing_.c_str(), &vfs), 0);
  EXPECT_EQ(vfs.f_bfree, vfs.f_blocks) << "the landing zone still holds data";

  // Room again (as after an operator frees space): the retry lands the file.
  ASSERT_EQ(::mount(nullptr, landing_.c_str(), nullptr, MS_REMOUNT | MS_NOSUID | MS_NODEV, "size=16m"), 0)
      << std::strerror(errno);
  proto::JobResult retry = Run(params);
  ASSERT_EQ(retry.outcome, Outcome::kSucceeded) << retry.error;
  auto files = Files();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(files.begin()->starts_with("full/")) << *files.begin();
  EXPECT_GT(fs::file_size(fs::path(landing_) / *files.begin()), kBodyBytes);
}

}  // namespace
}  // namespace sluice::worker
