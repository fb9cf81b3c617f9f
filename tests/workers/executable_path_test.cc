#include "workers/executable_path.h"

#include <gtest/gtest.h>

namespace sluice::worker {
namespace {

TEST(FindExecutable, SearchesPathInOrder) {
  auto r = FindExecutable("sh", "/nonexistent:/bin:/usr/bin");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "/bin/sh");
}

TEST(FindExecutable, ANameWithASlashIsTakenAsIs) {
  auto r = FindExecutable("./no/such/thing", "/bin");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "./no/such/thing");
}

TEST(FindExecutable, SkipsDirectoriesAndNonExecutables) {
  // /etc/passwd exists but is not executable; /usr is a directory.
  EXPECT_FALSE(FindExecutable("passwd", "/etc").ok());
  EXPECT_FALSE(FindExecutable("bin", "/usr").ok());
}

TEST(FindExecutable, NotFoundNamesTheCommand) {
  auto r = FindExecutable("sluice-no-such-command", "/bin:/usr/bin");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("'sluice-no-such-command'"), std::string::npos);
}

}  // namespace
}  // namespace sluice::worker
