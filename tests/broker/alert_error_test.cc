// The error text alerts carry: cut between characters, the cut marked.
#include "broker/alert_error.h"

#include <gtest/gtest.h>

#include <string>

#include "schemas/utf8.h"

namespace sluice::broker {
namespace {

TEST(AlertErrorExcerpt, AShortErrorIsKeptWhole) {
  EXPECT_EQ(AlertErrorExcerpt(""), "");
  EXPECT_EQ(AlertErrorExcerpt("exit status 1\nTraceback: boom"), "exit status 1\nTraceback: boom");
  const std::string exact(kAlertErrorBytes, 'e');
  EXPECT_EQ(AlertErrorExcerpt(exact), exact);
}

TEST(AlertErrorExcerpt, ALongErrorKeepsItsHeadAndSaysItWasCut) {
  const std::string error = "HEAD " + std::string(5000, 'x') + " TAIL";
  const std::string cut = AlertErrorExcerpt(error);
  EXPECT_EQ(cut.rfind("HEAD ", 0), 0u) << cut;
  EXPECT_EQ(cut.find("TAIL"), std::string::npos);
  EXPECT_LE(cut.size(), kAlertErrorBytes + 3);
  EXPECT_GE(cut.size(), kAlertErrorBytes - 3);
  EXPECT_EQ(cut.substr(cut.size() - 3), "...");
}

TEST(AlertErrorExcerpt, TheCutFallsBetweenCharacters) {
  std::string error;
  while (error.size() < 2 * kAlertErrorBytes) error += "\xC3\xA9";  // é, 2 bytes
  error = "a" + error;                                              // odd: a cut at 300 splits one
  const std::string cut = AlertErrorExcerpt(error);
  EXPECT_TRUE(proto::IsValidUtf8(cut));
  EXPECT_LT(cut.size(), error.size());
  EXPECT_TRUE(proto::IsValidUtf8(AlertErrorExcerpt("bad \xFF byte")));
}

}  // namespace
}  // namespace sluice::broker
