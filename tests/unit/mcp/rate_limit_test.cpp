#include "mcp/rate_limit.hpp"

#include <gtest/gtest.h>

#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::mcp;
using namespace std::chrono_literals;

TEST(McpRateLimit, ParsesRates) {
  EXPECT_DOUBLE_EQ(parse_rate("60/min", "--rate"), 60);
  EXPECT_DOUBLE_EQ(parse_rate("2/s", "--rate"), 120);
  EXPECT_DOUBLE_EQ(parse_rate("600/h", "--rate"), 10);
  for (const char* bad : {"60", "/min", "x/min", "0/min", "-1/min", "5/day", "5 /min"}) {
    EXPECT_THROW(parse_rate(bad, "--rate"), UsageError) << bad;
  }
}

TEST(McpRateLimit, BurstThenRefillPerIdentity) {
  RateLimiter limiter(60);  // one token a second, burst 60
  auto t = RateLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 60; ++i) EXPECT_FALSE(limiter.take("alice", t)) << i;
  auto wait = limiter.take("alice", t);
  ASSERT_TRUE(wait);
  EXPECT_GT(wait->count(), 900);
  EXPECT_LE(wait->count(), 1000);
  EXPECT_FALSE(limiter.take("bob", t)) << "another identity has its own bucket";
  EXPECT_TRUE(limiter.take("alice", t + 500ms));
  EXPECT_FALSE(limiter.take("alice", t + 1100ms));
  EXPECT_TRUE(limiter.take("alice", t + 1200ms));
}
