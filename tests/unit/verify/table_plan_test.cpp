#include <gtest/gtest.h>

#include "verify/table_plan.hpp"

using namespace pgshift;
using namespace pgshift::verify;

namespace {

catalog::Column col(std::string name, std::string type, bool not_null = false, std::string kind = "base") {
  catalog::Column c;
  c.name = std::move(name);
  c.type = std::move(type);
  c.type_kind = std::move(kind);
  c.not_null = not_null;
  return c;
}

catalog::Table table(std::vector<catalog::Column> cols, std::vector<std::string> pk) {
  catalog::Table t;
  t.ref = {"public", "t"};
  t.columns = std::move(cols);
  t.primary_key = pk;
  if (!pk.empty()) {
    catalog::UniqueIndex idx;
    idx.name = "t_pkey";
    idx.columns = pk;
    idx.primary = true;
    idx.all_not_null = true;
    t.unique_indexes.push_back(idx);
  }
  return t;
}

}  // namespace

TEST(TablePlan, IntegerKeyUsesIndexRanges) {
  auto t = table({col("id", "bigint", true), col("v", "text")}, {"id"});
  TablePlan p = plan_table(t, t, {}, {}, Mode::full);
  EXPECT_EQ(p.strategy, Strategy::key_ranges);
  EXPECT_EQ(p.key_columns, std::vector<std::string>{"id"});
  ASSERT_EQ(p.source.key.size(), 1u);
  EXPECT_EQ(p.source.key[0].order_expr, "\"id\"");
  EXPECT_EQ(p.source.key[0].bound_type, "bigint");
  EXPECT_EQ(p.source.relation, "\"public\".\"t\"");
  EXPECT_NE(p.source.row_hash.find(" # "), std::string::npos);
  EXPECT_EQ(p.source.terms.size(), 2u);
}

TEST(TablePlan, TextKeyUnderLinguisticCollationIsScannedByteWise) {
  auto t = table({col("w", "text", true), col("n", "integer")}, {"w"});
  TablePlan c_order = plan_table(t, t, {}, {}, Mode::full);
  EXPECT_EQ(c_order.strategy, Strategy::key_ranges);
  EXPECT_EQ(c_order.source.key[0].order_expr, "\"w\"");
  TablePlan linguistic = plan_table(t, t, {}, {"w"}, Mode::full);
  EXPECT_EQ(linguistic.strategy, Strategy::key_scan);
  EXPECT_EQ(linguistic.source.key[0].order_expr, "\"w\"");  // the source sorts like C already
  EXPECT_EQ(linguistic.target.key[0].order_expr, "\"w\" COLLATE \"C\"");
  EXPECT_EQ(linguistic.target.key[0].lookup_expr, "\"w\"");  // equality still uses the index
  ASSERT_EQ(linguistic.notes.size(), 1u);
  EXPECT_NE(linguistic.notes[0].find("w on the target"), std::string::npos) << linguistic.notes[0];
}

TEST(TablePlan, EnumKeyRangesByLabel) {
  auto t = table({col("m", "public.mood", true, "enum"), col("n", "integer")}, {"m"});
  TablePlan p = plan_table(t, t, {}, {}, Mode::full);
  EXPECT_EQ(p.strategy, Strategy::key_scan);
  EXPECT_EQ(p.source.key[0].order_expr, "(\"m\")::text COLLATE \"C\"");
  EXPECT_EQ(p.source.key[0].bound_type, "text");
  EXPECT_EQ(p.source.key[0].lookup_expr, "(\"m\")::text");
}

TEST(TablePlan, NoKeyIsHashedWholeAndCountsModeHasNoRowHash) {
  auto t = table({col("at", "timestamp with time zone"), col("path", "text")}, {});
  TablePlan p = plan_table(t, t, {}, {}, Mode::full);
  EXPECT_EQ(p.strategy, Strategy::whole);
  EXPECT_TRUE(p.key_columns.empty());
  TablePlan counts = plan_table(t, t, {}, {}, Mode::counts);
  EXPECT_TRUE(counts.source.row_hash.empty());
}

TEST(TablePlan, UniqueNotNullIndexServesAsKey) {
  auto t = table({col("code", "text", true), col("pct", "integer")}, {});
  catalog::UniqueIndex idx;
  idx.name = "t_code";
  idx.columns = {"code"};
  idx.all_not_null = true;
  t.unique_indexes.push_back(idx);
  TablePlan p = plan_table(t, t, {}, {}, Mode::full);
  EXPECT_EQ(p.key_columns, std::vector<std::string>{"code"});
  EXPECT_EQ(p.strategy, Strategy::key_ranges);
}

TEST(TablePlan, ColumnDifferencesBetweenSides) {
  auto s = table({col("id", "integer", true), col("total", "numeric(12,2)"), col("note", "text")}, {"id"});
  auto t = table({col("id", "integer", true), col("total", "numeric(10,2)"), col("tenant", "integer")}, {"id"});
  TablePlan p = plan_table(s, t, {}, {}, Mode::full);
  EXPECT_EQ(p.missing_on_target, std::vector<std::string>{"note"});
  ASSERT_EQ(p.columns.size(), 2u);
  EXPECT_EQ(p.columns[1].name, "total");
  // numeric(12,2) vs numeric(10,2): the source's value as numeric(10,2) takes it.
  EXPECT_EQ(p.columns[1].method, HashMethod::numeric);
  EXPECT_NE(p.source.terms[1].find("format('%s', \"total\") END))::numeric(10,2)"), std::string::npos)
      << p.source.terms[1];
  EXPECT_EQ(p.target.terms[1].find("format("), std::string::npos) << p.target.terms[1];
  ASSERT_FALSE(p.notes.empty());
  EXPECT_NE(p.notes[0].find("tenant"), std::string::npos);
}

TEST(TablePlan, TargetWithoutKeyIndexIsScanned) {
  auto s = table({col("id", "integer", true)}, {"id"});
  auto t = table({col("id", "integer", true)}, {});
  TablePlan p = plan_table(s, t, {}, {}, Mode::full);
  EXPECT_EQ(p.strategy, Strategy::key_scan);
  EXPECT_NE(p.notes.back().find("on the target"), std::string::npos) << p.notes.back();
}

// In counts mode, a side that may hold a key twice gets a checksum over its keys.
TEST(TablePlan, CountsModeHashesKeysWhereASideMayRepeatThem) {
  auto s = table({col("id", "integer", true), col("m", "public.mood", false, "enum")}, {"id"});
  auto t = table({col("id", "integer", true), col("m", "public.mood", false, "enum")}, {});
  EnumLabels labels = {{"public.mood", {"ok"}}};
  TablePlan p = plan_table(s, t, {}, {}, Mode::counts, labels, labels);
  EXPECT_EQ(p.strategy, Strategy::key_scan);
  EXPECT_NE(p.target.row_hash.find("hashtextextended(((\"id\")::text)::text"), std::string::npos) << p.target.row_hash;
  // The enum's label parameters are not bound to a query that does not use them.
  EXPECT_FALSE(p.source.term_params.empty());
  EXPECT_TRUE(p.source.row_params().empty());
  TablePlan unique = plan_table(s, s, {}, {}, Mode::counts);
  EXPECT_TRUE(unique.source.row_hash.empty());
}

TEST(TablePlan, IntegerAgainstBigintKeyIsRangedNumerically) {
  auto s = table({col("id", "integer", true), col("v", "text")}, {"id"});
  auto t = table({col("id", "bigint", true), col("v", "text")}, {"id"});
  TablePlan p = plan_table(s, t, {}, {}, Mode::full);
  EXPECT_EQ(p.strategy, Strategy::key_ranges);
  EXPECT_TRUE(p.notes.empty()) << p.notes[0];
  for (const SideSql* side : {&p.source, &p.target}) {
    EXPECT_EQ(side->key[0].order_expr, "\"id\"");
    EXPECT_EQ(side->key[0].bound_type, "bigint");
    EXPECT_EQ(side->key[0].lookup_type, "bigint");
  }
}

TEST(TablePlan, ExcludedColumnsAreNotCompared) {
  auto t = table({col("id", "integer", true), col("v", "text"), col("w", "text")}, {"id"});
  TablePlan p = plan_table(t, t, {}, {}, Mode::full, {}, {}, {"v"});
  ASSERT_EQ(p.columns.size(), 2u);
  EXPECT_EQ(p.columns[1].name, "w");
  EXPECT_EQ(p.excluded_columns, std::vector<std::string>{"v"});
  EXPECT_TRUE(p.notes.empty());
}
