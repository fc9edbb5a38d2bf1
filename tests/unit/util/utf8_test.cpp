#include "util/utf8.hpp"

#include <gtest/gtest.h>

using namespace pgshift::util;

TEST(Utf8, ValidatesLikePostgres) {
  EXPECT_EQ(first_invalid_utf8("plain ascii"), std::string_view::npos);
  EXPECT_EQ(first_invalid_utf8("é 日本 🐘"), std::string_view::npos);
  EXPECT_EQ(first_invalid_utf8("a\xff"), 1u);
  EXPECT_EQ(first_invalid_utf8("a\xc0\xaf"), 1u);          // overlong '/'
  EXPECT_EQ(first_invalid_utf8("\xed\xa0\x80"), 0u);       // UTF-16 surrogate
  EXPECT_EQ(first_invalid_utf8("\xf4\x90\x80\x80"), 0u);   // above U+10FFFF
  EXPECT_EQ(first_invalid_utf8("ab\xe6\x97"), 2u);         // truncated sequence
}

TEST(Utf8, SanitizeReplacesEachBadByte) {
  EXPECT_EQ(sanitize_utf8("ok"), "ok");
  EXPECT_EQ(sanitize_utf8("a\xff" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(sanitize_utf8("\xe6\x97"), "\xEF\xBF\xBD\xEF\xBF\xBD");
}
