// The one name rule (schemas/name_rule.h): kinds, queues, workflow, stage and
// parameter names.
#include "schemas/name_rule.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/workflows/registry.h"
#include "schemas/msgpack_reader.h"

namespace sluice::proto {
namespace {

TEST(NameRule, AcceptsOneToSixtyFourNameCharacters) {
  EXPECT_TRUE(IsValidName("a"));
  EXPECT_TRUE(IsValidName("extract.http"));
  EXPECT_TRUE(IsValidName("A-z_0.9"));
  EXPECT_TRUE(IsValidName(std::string(64, 'x')));
  EXPECT_TRUE(IsValidName("."));  // the rule says nothing of dots; landing names add that
}

TEST(NameRule, RefusesEmptyLongAndOtherCharacters) {
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName(std::string(65, 'x')));
  for (std::string bad : {"a b", "a/b", "a:b", "a\tb", "é", "a+b", "a*"})
    EXPECT_FALSE(IsValidName(bad)) << bad;
  EXPECT_FALSE(IsValidName(std::string("a\0b", 3)));
}

TEST(NameRule, IsNameCharMatchesTheTextOfTheRule) {
  std::string chars;
  for (int c = 0; c < 256; ++c)
    if (IsNameChar(static_cast<char>(c))) chars += static_cast<char>(c);
  EXPECT_EQ(chars, "-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(kNameCharsText, "[A-Za-z0-9._-]");
  EXPECT_EQ(kNameRuleText, "1-" + std::to_string(kMaxNameBytes) + " characters of [A-Za-z0-9._-]");
}

TEST(NameRule, TheWireAndTheRegistryApplyTheSameRule) {
  const std::vector<std::string> names = {"", "a", "a.b_c-D9", "a b", "a/b", std::string(64, 'y'),
                                          std::string(65, 'y')};
  for (const std::string& s : names)
    EXPECT_EQ(workflows::IsValidRegistryName(s), IsValidName(s)) << s;
}

}  // namespace
}  // namespace sluice::proto
