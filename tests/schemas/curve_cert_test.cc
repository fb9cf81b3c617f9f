// CURVE certificate files: parse (bounded, strict about keys), format,
// write without overwriting, permissions of secret keys.
#include "schemas/curve_cert.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace sluice::curve {
namespace {

namespace fs = std::filesystem;

class CurveCertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/curve-cert-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text, fs::perms mode = fs::perms::owner_read | fs::perms::owner_write) {
    std::ofstream(dir_ + "/" + name) << text;
    fs::permissions(dir_ + "/" + name, mode);
  }
  std::string dir_;
};

TEST_F(CurveCertTest, WritesAPairThatReadsBackAndRefusesToOverwrite) {
  std::string key, pub;
  ASSERT_TRUE(WriteNewCert(dir_, "w1", &key, &pub).ok());
  EXPECT_EQ(key, dir_ + "/w1.key");
  EXPECT_EQ(fs::status(key).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  auto pair = ReadSecretCert(key);
  ASSERT_TRUE(pair.ok()) << pair.status().ToString();
  auto p = ReadPublicKey(pub);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, pair->public_z85);
  EXPECT_TRUE(IsZ85Key(pair->secret_z85));
  // The .pub has no secret.
  auto pub_only = ReadSecretCert(pub);
  EXPECT_FALSE(pub_only.ok());
  // Again: Conflict, nothing changed.
  std::string k2, p2;
  Status s = WriteNewCert(dir_, "w1", &k2, &p2);
  EXPECT_EQ(s.code(), Code::kConflict) << s.ToString();
  EXPECT_EQ(ReadSecretCert(key)->secret_z85, pair->secret_z85);
  // Only the .pub left over (someone deleted the .key): still refused, no .key made.
  fs::remove(key);
  EXPECT_EQ(WriteNewCert(dir_, "w1", &k2, &p2).code(), Code::kConflict);
  EXPECT_FALSE(fs::exists(key));
}

TEST_F(CurveCertTest, NamesThatAreNotPlainFileNamesAreRefused) {
  std::string k, p;
  for (const char* bad : {"", "../x", "a/b", ".hidden", "sp ace"})
    EXPECT_EQ(WriteNewCert(dir_, bad, &k, &p).code(), Code::kInvalidArgument) << bad;
}

TEST_F(CurveCertTest, ReadsCzmqTextWithQuotesCommentsAndMetadata) {
  char pub[41], sec[41];
  ASSERT_EQ(zmq_curve_keypair(pub, sec), 0);
  const std::string text = std::string("#   ZeroMQ CURVE **Secret** Certificate\n\nmetadata\n    name = \"x\"\ncurve\n") +
                           "    public-key = \"" + pub + "\"\n    secret-key = '" + sec + "'\n";
  auto keys = ParseCert(text, "t");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys->public_z85, pub);
  EXPECT_EQ(keys->secret_z85, sec);
  // What we format parses back.
  auto again = ParseCert(FormatCert(*keys, true), "t");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->secret_z85, sec);
  auto pub_only = ParseCert(FormatCert(*keys, false), "t");
  ASSERT_TRUE(pub_only.ok());
  EXPECT_TRUE(pub_only->secret_z85.empty());
}

TEST_F(CurveCertTest, RefusesBadKeys) {
  char pub[41], sec[41], pub2[41], sec2[41];
  ASSERT_EQ(zmq_curve_keypair(pub, sec), 0);
  ASSERT_EQ(zmq_curve_keypair(pub2, sec2), 0);
  auto cert = [](const std::string& p, const std::string& s) {
    return "curve\n    public-key = \"" + p + "\"\n" + (s.empty() ? "" : "    secret-key = \"" + s + "\"\n");
  };
  EXPECT_FALSE(ParseCert("metadata\n", "t").ok());                         // no curve section
  EXPECT_FALSE(ParseCert(cert(std::string(pub).substr(0, 39), ""), "t").ok());  // short
  EXPECT_FALSE(ParseCert(cert(std::string(39, 'a') + "\"", ""), "t").ok());     // not Z85
  EXPECT_FALSE(ParseCert(cert(pub, sec2), "t").ok());                      // not its secret
  EXPECT_FALSE(ParseCert(cert(pub, "") + "    public-key = \"" + pub + "\"\n", "t").ok());  // twice
  EXPECT_FALSE(ParseCert(std::string(kMaxCertBytes + 1, '#'), "t").ok());  // too big
  EXPECT_TRUE(ParseCert(cert(pub, sec), "t").ok());
}

TEST_F(CurveCertTest, ASecretKeyOthersCanReadIsRefused) {
  std::string key, pub;
  ASSERT_TRUE(WriteNewCert(dir_, "k", &key, &pub).ok());
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  auto r = ReadSecretCert(key);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("chmod 600"), std::string::npos) << r.status().ToString();
}

TEST_F(CurveCertTest, ClientKeysNeedBothFiles) {
  std::string key, pub, bkey, bpub;
  ASSERT_TRUE(WriteNewCert(dir_, "c", &key, &pub).ok());
  ASSERT_TRUE(WriteNewCert(dir_, "b", &bkey, &bpub).ok());
  auto none = LoadClientKeys("", "");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->server_z85.empty());
  EXPECT_EQ(LoadClientKeys(key, "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(LoadClientKeys("", bpub).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(LoadClientKeys(dir_ + "/missing.key", bpub).ok());
  auto both = LoadClientKeys(key, bpub);
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ(both->server_z85, *ReadPublicKey(bpub));
}

}  // namespace
}  // namespace sluice::curve
