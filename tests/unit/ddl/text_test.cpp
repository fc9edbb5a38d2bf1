// The ddl room's pure helpers: exclude patterns as the regular expressions the capture side
// matches tables with, and statements folded onto one line for status.
#include <gtest/gtest.h>

#include <regex>

#include "ddl/ddl.hpp"
#include "util/error.hpp"

using namespace pgshift;

namespace {

bool matches(const std::string& glob, const std::string& name) {
  return std::regex_match(name, std::regex(ddl::glob_to_regex(glob), std::regex::extended));
}

TEST(DdlGlobToRegex, MatchesWhatFnmatchMatches) {
  EXPECT_TRUE(matches("scratch_*", "scratch_a"));
  EXPECT_TRUE(matches("scratch_*", "scratch_"));
  EXPECT_FALSE(matches("scratch_*", "a_scratch_b"));
  EXPECT_TRUE(matches("t?", "t1"));
  EXPECT_FALSE(matches("t?", "t12"));
  EXPECT_TRUE(matches("log_[0-9]", "log_7"));
  EXPECT_FALSE(matches("log_[!0-9]", "log_7"));
  EXPECT_TRUE(matches("a.b", "a.b"));
  EXPECT_FALSE(matches("a.b", "axb")) << "a dot is literal";
  EXPECT_TRUE(matches("x+y(1)", "x+y(1)"));
  EXPECT_EQ(ddl::glob_to_regex("oban_jobs"), "^oban_jobs$");
}

TEST(DdlOneLine, FoldsWhiteSpaceAndCutsOnACharacterBoundary) {
  EXPECT_EQ(ddl::one_line("ALTER TABLE t\n   ADD COLUMN\tc int", 100), "ALTER TABLE t ADD COLUMN c int");
  EXPECT_EQ(ddl::one_line("  x  ", 100), "x");
  EXPECT_EQ(ddl::one_line("abcdef", 3), "abc…");
  EXPECT_EQ(ddl::one_line("ééé", 3), "é…") << "never half a UTF-8 character";
}

TEST(DdlPolicy, ParsesOnlyTheTwoPolicies) {
  EXPECT_EQ(ddl::policy_from_string("follow"), ddl::Policy::follow);
  EXPECT_EQ(ddl::policy_from_string("hold"), ddl::Policy::hold);
  EXPECT_THROW(ddl::policy_from_string("Follow"), UsageError);
}

}  // namespace
