// The drill's page check: pg_amcheck's output as PostgreSQL 15's pg_amcheck prints it (a damaged
// tuple; a page whose checksum fails, with -v noise), the heapallindexed choice within a budget,
// and exact name patterns.
#include <gtest/gtest.h>

#include "backup/drill_integrity.hpp"

using namespace pgshift::backup;

namespace {

void expect_finding(const AmcheckFinding& f, const std::string& kind, const std::string& relation, const std::string& where,
                    const std::string& message) {
  EXPECT_EQ(f.kind, kind);
  EXPECT_EQ(f.relation, relation);
  EXPECT_EQ(f.where, where);
  EXPECT_EQ(f.message, message);
}

}  // namespace

TEST(DrillIntegrity, ParsesATupleFinding) {
  auto f = parse_amcheck_output(
      "heap table \"postgres.public.invoices\", block 2, offset 86, attribute 2:\n"
      "    attribute with length 4294967295 ends at offset 702537766 beyond total tuple length 46\n",
      "postgres");
  ASSERT_EQ(f.size(), 1u);
  expect_finding(f[0], "heap table", "public.invoices", ", block 2, offset 86, attribute 2",
                 "attribute with length 4294967295 ends at offset 702537766 beyond total tuple length 46");
}

TEST(DrillIntegrity, ParsesChecksumErrorsAndSkipsTheQueryText) {
  auto f = parse_amcheck_output(
      "heap table \"my.db.public.invoices\":\n"
      "    ERROR:  XX001: invalid page in block 2 of relation base/5/16384\n"
      "    LOCATION:  ReadBuffer_common, bufmgr.c:1052\n"
      "query was: SELECT v.blkno, v.offnum, v.attnum, v.msg FROM pg_catalog.pg_class c, \"pg_catalog\".verify_heapam(\n"
      "relation := c.oid, on_error_stop := false, check_toast := true, skip := 'none'\n"
      ") v WHERE c.oid = 16384 AND c.relpersistence != 't'\n"
      "btree index \"my.db.public.invoices_pkey\":\n"
      "    ERROR:  invalid page in block 2 of relation base/5/16384\n",
      "my.db");
  ASSERT_EQ(f.size(), 2u);
  expect_finding(f[0], "heap table", "public.invoices", "", "ERROR: XX001: invalid page in block 2 of relation base/5/16384");
  expect_finding(f[1], "btree index", "public.invoices_pkey", "", "ERROR: invalid page in block 2 of relation base/5/16384");
  EXPECT_TRUE(parse_amcheck_output("", "postgres").empty());
}

TEST(DrillIntegrity, HeapallindexedSmallestFirstWithinTheBudget) {
  std::vector<HeapPlan> plans = {
      {"public", "big", 1000, {"big_pkey", "big_x"}, 400},  // 2 * 1000 + 400 = 2400
      {"public", "small", 100, {"small_pkey"}, 50},          // 150
      {"public", "noindex", 10, {}, 0},                      // nothing to do
      {"public", "mid", 500, {"mid_pkey"}, 100},             // 600
  };
  EXPECT_EQ(choose_heapallindexed(plans, 100, 10), (std::vector<size_t>{1, 3}));  // 1000 bytes allowed
  EXPECT_EQ(choose_heapallindexed(plans, 100, 100), (std::vector<size_t>{1, 3, 0}));
  EXPECT_TRUE(choose_heapallindexed(plans, 100, 0).empty());
  EXPECT_EQ(choose_heapallindexed(plans, 100, 1), (std::vector<size_t>{}));  // 150 > 100: stops at the first
}

TEST(DrillIntegrity, ExactPatternQuotesEachPart) {
  EXPECT_EQ(exact_pattern("public", "Invoices"), "\"public\".\"Invoices\"");
  EXPECT_EQ(exact_pattern("a.b", "x\"y*"), "\"a.b\".\"x\"\"y*\"");
}
