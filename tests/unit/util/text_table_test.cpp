#include "util/text_table.hpp"

#include <gtest/gtest.h>

using namespace pgshift::util;

TEST(TextTable, AlignsByCodePointsAndFlattensNewlines) {
  TextTable t({"table", "rows"});
  t.set_align(1, TextTable::Align::right);
  t.add_row({"public.zürich", "12"});
  t.add_row({"a\nb", "3"});
  EXPECT_EQ(t.render(),
            "table          rows\n"
            "-------------  ----\n"
            "public.zürich    12\n"
            "a\\nb              3\n");
}
