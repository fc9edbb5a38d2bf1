#include "pg/lsn.hpp"

#include <gtest/gtest.h>

#include "util/error.hpp"

using pgshift::pg::Lsn;

TEST(Lsn, ParsesAndPrintsPostgresForm) {
  auto lsn = Lsn::parse("16/B374D848");
  ASSERT_TRUE(lsn);
  EXPECT_EQ(lsn->value(), (0x16ULL << 32) | 0xB374D848ULL);
  EXPECT_EQ(lsn->to_string(), "16/B374D848");
  EXPECT_EQ(Lsn::parse("0/0")->to_string(), "0/0");
  EXPECT_EQ(Lsn::parse("a/1b")->to_string(), "A/1B");
}

TEST(Lsn, RejectsMalformedText) {
  for (const char* bad : {"", "16", "/1", "1/", "G/1", "1/123456789", "1//2", "-1/2"}) {
    EXPECT_FALSE(Lsn::parse(bad).has_value()) << bad;
  }
  EXPECT_THROW(Lsn::parse_or_throw("x", "confirmed_flush_lsn"), pgshift::RuntimeError);
}

TEST(Lsn, OrdersAndSubtractsAcrossTheHighWord) {
  Lsn a = *Lsn::parse("0/FFFFFFFF");
  Lsn b = *Lsn::parse("1/0");
  EXPECT_LT(a, b);
  EXPECT_EQ(b.bytes_after(a), 1);
  EXPECT_EQ(a.bytes_after(b), -1);
  EXPECT_EQ(b, *Lsn::parse("1/00000000"));
}
