// The PostgreSQL test server itself: it starts from a fresh folder on a free
// loopback port, answers, is not run as root, and stops by its PID.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "tests/postgres/pg_server.h"

namespace sluice::testing {
namespace {

TEST(PgServerTest, StartsAnswersAndStopsByPid) {
  auto server = PgServer::StartOrSkip();
  ASSERT_GT(server->port(), 0);
  EXPECT_EQ(server->Query("postgres", "SELECT 1"), "1");
  // Loopback only, its socket in its own folder.
  EXPECT_EQ(server->Query("postgres", "SHOW listen_addresses"), "127.0.0.1");
  EXPECT_EQ(server->Query("postgres", "SHOW unix_socket_directories"), server->dir() + "/pg");
  EXPECT_EQ(server->Query("postgres", "SHOW port"), std::to_string(server->port()));
  // Byte order, as SQLite's BINARY collation.
  EXPECT_EQ(server->Query("postgres", "SELECT string_agg(x, ',' ORDER BY x) FROM (VALUES ('b'), ('B'), ('a')) v(x)"),
            "B,a,b");
  EXPECT_EQ(server->CreateDatabase("t1"), "");
  EXPECT_EQ(server->Query("t1", "SELECT current_database()"), "t1");
  EXPECT_NE(server->CreateDatabase("t1"), "");  // an error, not a crash

  const pid_t pid = server->pid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, 0), 0);
  const std::string dir = server->dir();
  server.reset();
  // The postmaster was reaped: its PID names no process of ours any more.
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(PgServerTest, ExportEnvPointsLibpqAtTheServer) {
  auto server = PgServer::StartOrSkip();
  ::setenv("PGSERVICE", "no_such_service", 1);
  server->ExportEnv("postgres");
  EXPECT_EQ(std::getenv("PGSERVICE"), nullptr);
  EXPECT_STREQ(std::getenv("PGPORT"), std::to_string(server->port()).c_str());
  const auto env = server->Env("db1");
  EXPECT_EQ(env.back(), "PGDATABASE=db1");
}

}  // namespace
}  // namespace sluice::testing
