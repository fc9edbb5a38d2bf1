#include <gtest/gtest.h>

#include "verify/chunk_plan.hpp"
#include "verify/types.hpp"

using namespace pgshift::verify;

TEST(ChunkPlan, ChunkCount) {
  EXPECT_EQ(chunk_count(0, 100), 1);
  EXPECT_EQ(chunk_count(-1, 100), 1);
  EXPECT_EQ(chunk_count(100, 100), 1);
  EXPECT_EQ(chunk_count(101, 100), 2);
  EXPECT_EQ(chunk_count(1'000'000, 100'000), 10);
  EXPECT_EQ(chunk_count(1'000'000'000'000, 10), kMaxChunks);
}

TEST(ChunkPlan, SamplePercentCoversEveryChunk) {
  // 1M rows on 25k pages in 10 chunks: 10 pages per chunk decide (0.4%).
  EXPECT_NEAR(sample_percent(1'000'000, 25'000, 10), 0.4, 1e-9);
  // Few rows per page: 50 rows per chunk decide.
  EXPECT_NEAR(sample_percent(1'000'000, 1'000'000, 10), 0.05, 1e-9);
  // Small tables are read whole.
  EXPECT_EQ(sample_percent(6'000, 30, 6), 100.0);
  EXPECT_EQ(sample_percent(0, 0, 1), 100.0);
  EXPECT_GT(sample_percent(1'000'000'000'000, 1'000'000'000'000, 2), 0.0);
}

TEST(ChunkPlan, SplitRangeKeepsTheParentsEnds) {
  Range parent{Key{"0"}, Key{"100"}};
  auto parts = split_range(parent, {{"10"}, {"50"}});
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], (Range{Key{"0"}, Key{"10"}}));
  EXPECT_EQ(parts[1], (Range{Key{"10"}, Key{"50"}}));
  EXPECT_EQ(parts[2], (Range{Key{"50"}, Key{"100"}}));
  auto whole = split_range({}, {{"7"}});
  EXPECT_FALSE(whole[0].lo);
  EXPECT_FALSE(whole[1].hi);
  EXPECT_EQ(split_range(parent, {}).size(), 1u);
}

TEST(ChunkPlan, DescribeRange) {
  EXPECT_EQ(describe({}, {"id"}), "whole table");
  EXPECT_EQ(describe(Range{Key{"5"}, Key{"9"}}, {"id"}), "id >= '5' AND id < '9'");
  EXPECT_EQ(describe(Range{std::nullopt, Key{"1", "x"}}, {"a", "b"}), "(a, b) < ('1', 'x')");
}

TEST(ChunkPlan, KeysOrderIntegersByValue) {
  KeyLess less;
  EXPECT_TRUE(less({"9"}, {"10"}));
  EXPECT_TRUE(less({"-10"}, {"-9"}));
  EXPECT_TRUE(less({"-1"}, {"0"}));
  EXPECT_FALSE(less({"10"}, {"10"}));
  EXPECT_TRUE(less({"a"}, {"b"}));
  EXPECT_TRUE(less({"1", "b"}, {"1", "c"}));
  EXPECT_TRUE(less({"2", "a"}, {"10", "a"}));
  EXPECT_TRUE(less({"1.5"}, {"10"}));  // not integers: byte order
}
