#include "sqlgate/split.hpp"

#include <gtest/gtest.h>

#include "util/error.hpp"

using pgshift::sqlgate::split_statements;

TEST(Split, HonoursStringsCommentsAndDollarQuotes) {
  auto s = split_statements(
      "SELECT ';';  -- a comment; still a comment\n"
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n"
      "  SELECT 2");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], "SELECT ';'");
  EXPECT_NE(s[1].find("SELECT 1; $$"), std::string::npos);
  EXPECT_EQ(s[2], "SELECT 2");
}

TEST(Split, SyntaxErrorNamesThePosition) {
  try {
    split_statements("SELECT 1; SELEC 2");
    FAIL();
  } catch (const pgshift::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("at character"), std::string::npos) << e.what();
  }
}
