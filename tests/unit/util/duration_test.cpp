#include "util/duration.hpp"

#include <gtest/gtest.h>

#include "util/error.hpp"

using namespace pgshift::util;

TEST(Duration, ParsesOperatorForms) {
  EXPECT_EQ(parse_duration("500ms", "--x").count(), 500);
  EXPECT_EQ(parse_duration("30s", "--x").count(), 30'000);
  EXPECT_EQ(parse_duration("30", "--x").count(), 30'000);
  EXPECT_EQ(parse_duration("5m", "--x").count(), 300'000);
  EXPECT_EQ(parse_duration("1h30m", "--x").count(), 5'400'000);
  EXPECT_EQ(parse_duration("1.5s", "--x").count(), 1'500);
}

TEST(Duration, RejectsGarbageNamingTheFlag) {
  for (const char* bad : {"", "abc", "10x", "1h30", "s", "-5s"}) {
    try {
      parse_duration(bad, "--for");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const pgshift::UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--for"), std::string::npos);
    }
  }
}

TEST(Duration, FormatsShortly) {
  EXPECT_EQ(format_duration(Millis(350)), "350ms");
  EXPECT_EQ(format_duration(Millis(1200)), "1.2s");
  EXPECT_EQ(format_duration(Millis(245'000)), "4m05s");
  EXPECT_EQ(format_duration(Millis(7'380'000)), "2h03m");
}

TEST(Bytes, ParsesAndFormatsLikePostgres) {
  EXPECT_EQ(parse_bytes("1048576", "--max-lag"), 1048576);
  EXPECT_EQ(parse_bytes("64kB", "--max-lag"), 65536);
  EXPECT_EQ(parse_bytes("16MB", "--max-lag"), 16 << 20);
  EXPECT_EQ(parse_bytes("1GB", "--max-lag"), 1LL << 30);
  EXPECT_THROW(parse_bytes("lots", "--max-lag"), pgshift::UsageError);
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.5 kB");
  EXPECT_EQ(format_bytes(16LL << 20), "16.0 MB");
}
