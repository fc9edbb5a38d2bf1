#include "pg/quote.hpp"

#include <gtest/gtest.h>

#include "util/error.hpp"

using namespace pgshift::pg;

TEST(Quote, IdentifiersAreAlwaysQuotedWithQuotesDoubled) {
  EXPECT_EQ(quote_ident("orders"), "\"orders\"");
  EXPECT_EQ(quote_ident("Weird \"Name\""), "\"Weird \"\"Name\"\"\"");
  EXPECT_EQ(qualified_name("public", "t; DROP TABLE x"), "\"public\".\"t; DROP TABLE x\"");
}

TEST(Quote, LiteralsSurviveAnyStandardConformingStrings) {
  EXPECT_EQ(quote_literal("it's"), "'it''s'");
  EXPECT_EQ(quote_literal("a\\b'c"), "E'a\\\\b''c'");
  EXPECT_THROW(quote_literal(std::string("a\0b", 3)), pgshift::RuntimeError);
}

TEST(Quote, DisplayNamesQuoteOnlyWhenNeeded) {
  EXPECT_EQ(display_name("public", "orders"), "public.orders");
  EXPECT_EQ(display_name("App", "my table"), "\"App\".\"my table\"");
}
