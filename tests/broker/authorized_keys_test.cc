// The --authorized folder, the roles' commands, and which endpoints a broker
// without keys may bind.
#include "broker/authorized_keys.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "broker/bind_policy.h"
#include "broker/peer_roles.h"
#include "schemas/curve_cert.h"

namespace sluice::broker {
namespace {

namespace fs = std::filesystem;
using C = proto::Command;

class AuthorizedKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/authorized-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ + "/keys");
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Makes NAME's pair; copies its .pub into each role folder given.
  std::string Add(const std::string& name, std::initializer_list<const char*> roles) {
    std::string key, pub;
    EXPECT_TRUE(curve::WriteNewCert(dir_ + "/keys", name, &key, &pub).ok());
    for (const char* role : roles) {
      fs::create_directories(dir_ + "/auth/" + role);
      fs::copy_file(pub, dir_ + "/auth/" + role + "/" + name + ".pub");
    }
    return *curve::ReadPublicKey(pub);
  }
  std::string dir_;
};

TEST_F(AuthorizedKeysTest, ReadsRolesFromFoldersAndNamesFromFiles) {
  const std::string w = Add("w1", {"workers"});
  const std::string c = Add("ci", {"clients"});
  const std::string both = Add("ops", {"clients", "admins"});
  const std::string stranger = Add("stranger", {});
  std::ofstream(dir_ + "/auth/workers/README") << "not a key";
  auto keys = AuthorizedKeys::Load(dir_ + "/auth");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_NE((*keys)->Find(w), nullptr);
  EXPECT_EQ((*keys)->Find(w)->name, "w1");
  EXPECT_EQ((*keys)->Find(w)->roles, kRoleWorker);
  EXPECT_EQ((*keys)->Find(c)->roles, kRoleClient);
  EXPECT_EQ((*keys)->Find(both)->roles, kRoleClient | kRoleAdmin);
  EXPECT_EQ((*keys)->Find(stranger), nullptr);
  EXPECT_EQ((*keys)->size(), 3u);
  EXPECT_EQ((*keys)->Summary(), "1 workers, 2 clients, 1 admins");
}

TEST_F(AuthorizedKeysTest, ABadCertificateRefusesTheWholeFolder) {
  Add("w1", {"workers"});
  std::ofstream(dir_ + "/auth/workers/typo.pub") << "curve\n    public-key = \"short\"\n";
  auto keys = AuthorizedKeys::Load(dir_ + "/auth");
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.status().message().find("typo.pub"), std::string::npos) << keys.status().ToString();
  EXPECT_FALSE(AuthorizedKeys::Load(dir_ + "/nowhere").ok());
}

TEST(PeerRolesTest, EachRoleSendsItsCommandsOnly) {
  for (C c : {C::kReady, C::kHeartbeat, C::kResult, C::kBye}) {
    EXPECT_TRUE(RolesAllow(kRoleWorker, static_cast<std::uint8_t>(c)));
    EXPECT_FALSE(RolesAllow(kRoleClient, static_cast<std::uint8_t>(c)));
    EXPECT_FALSE(RolesAllow(kRoleAdmin, static_cast<std::uint8_t>(c)));
  }
  for (C c : {C::kSubmit, C::kRun, C::kStatus, C::kList, C::kRetry, C::kCancelJob, C::kWorkers, C::kStats,
              C::kExtractions, C::kRuns, C::kSchedules}) {
    EXPECT_FALSE(RolesAllow(kRoleWorker, static_cast<std::uint8_t>(c)));
    EXPECT_TRUE(RolesAllow(kRoleClient, static_cast<std::uint8_t>(c)));
    EXPECT_TRUE(RolesAllow(kRoleAdmin, static_cast<std::uint8_t>(c)));
  }
  for (C c : {C::kPause, C::kResume, C::kReload}) {
    EXPECT_FALSE(RolesAllow(kRoleWorker, static_cast<std::uint8_t>(c)));
    EXPECT_FALSE(RolesAllow(kRoleClient, static_cast<std::uint8_t>(c)));
    EXPECT_TRUE(RolesAllow(kRoleAdmin, static_cast<std::uint8_t>(c)));
  }
  // Broker-to-peer commands come from no one.
  for (C c : {C::kJob, C::kCancel, C::kAck, C::kReply, C::kError})
    EXPECT_FALSE(RolesAllow(kRoleWorker | kRoleClient | kRoleAdmin, static_cast<std::uint8_t>(c)));
  EXPECT_EQ(RolesText(kRoleClient | kRoleAdmin), "clients+admins");
  EXPECT_EQ(RolesText(0), "none");
}

TEST(BindPolicyTest, OnlyLoopbackIsLocal) {
  for (const char* e : {"tcp://127.0.0.1:5555", "tcp://127.0.0.1:*", "tcp://127.8.9.10:1", "tcp://localhost:5555",
                        "tcp://[::1]:5555", "tcp://::1:5555", "ipc:///run/sluice.sock", "inproc://x"})
    EXPECT_TRUE(IsLoopbackEndpoint(e)) << e;
  for (const char* e : {"tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://192.168.1.5:5555", "tcp://eth0:5555",
                        "tcp://[::]:5555", "tcp://10.0.0.1;127.0.0.1:5555", "ws://127.0.0.1:5555",
                        "tcp://128.0.0.1:1", "tcp://127.0.0.1", "pgm://eth0;239.1.1.1:5555", ""})
    EXPECT_FALSE(IsLoopbackEndpoint(e)) << e;
}

}  // namespace
}  // namespace sluice::broker
