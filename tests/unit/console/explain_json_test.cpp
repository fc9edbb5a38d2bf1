// explain_as_json: which statements the SQL tab runs as EXPLAIN (FORMAT JSON), and how.
#include "console/explain_json.hpp"

#include <gtest/gtest.h>

using namespace pgshift::console;

TEST(ExplainAsJson, AddsFormatJsonKeepingTheUsersOptions) {
  auto plain = explain_as_json("EXPLAIN SELECT 1");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->sql, "EXPLAIN (FORMAT JSON) SELECT 1");
  EXPECT_TRUE(plain->rewritten);
  EXPECT_EQ(plain->user_position(23), 9);   // "SELECT" moved from character 9 to 23
  EXPECT_EQ(plain->user_position(3), 0);    // inside what the console added
  EXPECT_EQ(explain_as_json("explain (costs off, settings) select 1")->sql,
            "EXPLAIN (costs off, settings, FORMAT JSON) select 1");
  EXPECT_EQ(explain_as_json("EXPLAIN VERBOSE SELECT 1")->sql, "EXPLAIN (VERBOSE, FORMAT JSON) SELECT 1");
  EXPECT_EQ(explain_as_json("/* c */ EXPLAIN -- x\nSELECT 1;")->sql, "EXPLAIN (FORMAT JSON) SELECT 1;");
}

TEST(ExplainAsJson, LeavesOtherStatementsAndFormatsAlone) {
  auto json = explain_as_json("EXPLAIN (format json) SELECT 1");
  ASSERT_TRUE(json);
  EXPECT_FALSE(json->rewritten);
  EXPECT_EQ(json->sql, "EXPLAIN (format json) SELECT 1");
  EXPECT_FALSE(explain_as_json("EXPLAIN (FORMAT TEXT) SELECT 1"));
  EXPECT_FALSE(explain_as_json("EXPLAIN (FORMAT YAML) SELECT 1"));
  EXPECT_FALSE(explain_as_json("SELECT 'EXPLAIN SELECT 1'"));
  EXPECT_FALSE(explain_as_json("EXPLAIN ANALYZE SELECT 1"));  // refused by the gate: not rewritten
  EXPECT_FALSE(explain_as_json("EXPLAIN DELETE FROM t"));
}
