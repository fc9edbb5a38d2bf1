#include <gtest/gtest.h>

#include "catalog/catalog.hpp"

using namespace pgshift::catalog;

namespace {

Table table(std::string schema, std::string name, std::vector<Column> cols = {}) {
  Table t;
  t.ref = {std::move(schema), std::move(name)};
  t.columns = std::move(cols);
  return t;
}

Column col(std::string name, std::string type) {
  Column c;
  c.name = std::move(name);
  c.type = std::move(type);
  return c;
}

}  // namespace

TEST(TablePattern, MatchesNameOrQualifiedNameWithWildcards) {
  EXPECT_TRUE(TablePattern("oban_jobs").matches({"public", "oban_jobs"}));
  EXPECT_TRUE(TablePattern("oban_jobs").matches({"jobs", "oban_jobs"}));
  EXPECT_FALSE(TablePattern("public.oban_jobs").matches({"jobs", "oban_jobs"}));
  EXPECT_TRUE(TablePattern("audit.*").matches({"audit", "events"}));
  EXPECT_TRUE(TablePattern("*_queue").matches({"public", "mail_queue"}));
  EXPECT_FALSE(TablePattern("*_queue").matches({"public", "queue_stats"}));
}

TEST(Selection, ReplicatesTablesOnBothSidesAndSaysWhyOthersAreLeftOut) {
  Snapshot src, tgt;
  src.tables = {table("public", "orders"), table("public", "jobs"), table("public", "cache"),
                table("public", "legacy"), table("public", "events"), table("public", "events_2024")};
  src.tables[2].persistence = Persistence::unlogged;
  src.tables[4].kind = TableKind::partitioned;
  src.tables[5].kind = TableKind::partition;
  src.tables[5].partition_root = TableRef{"public", "events"};
  tgt.tables = {table("public", "orders"), table("public", "jobs"), table("public", "cache"),
                table("public", "events"), table("public", "new_only")};
  TableSelection sel = select_tables(src, tgt, {TablePattern("jobs")});
  EXPECT_EQ(sel.replicated, (std::vector<TableRef>{{"public", "events"}, {"public", "orders"}}));
  std::map<std::string, LeftOutReason> why;
  for (const auto& lo : sel.left_out) why[lo.table.name] = lo.reason;
  EXPECT_EQ(why["jobs"], LeftOutReason::excluded);
  EXPECT_EQ(why["cache"], LeftOutReason::unlogged);
  EXPECT_EQ(why["legacy"], LeftOutReason::source_only);
  EXPECT_EQ(why["events_2024"], LeftOutReason::via_root);
  EXPECT_EQ(why["new_only"], LeftOutReason::target_only);
  EXPECT_TRUE(sel.contains({"public", "orders"}));
  EXPECT_FALSE(sel.contains({"public", "jobs"}));
}

TEST(Diff, FindsMissingExtraAndMismatchedColumnsEnumsAndSequences) {
  Snapshot src, tgt;
  src.tables = {table("public", "t", {col("id", "integer"), col("a", "text"), col("b", "numeric(12,2)")})};
  Column required = col("c", "text");
  required.not_null = true;
  tgt.tables = {table("public", "t", {col("id", "integer"), col("b", "numeric(10,2)"), required})};
  src.enums = {{"public.mood", {"sad", "ok", "happy"}}, {"public.size", {"s"}}};
  tgt.enums = {{"public.mood", {"sad", "ok"}}};
  Sequence seq;
  seq.ref = {"public", "t_id_seq"};
  src.sequences = {seq};
  SchemaDiff d = diff_schemas(src, tgt);
  ASSERT_EQ(d.columns.size(), 3u);
  EXPECT_EQ(d.columns[0].column, "a");
  EXPECT_EQ(d.columns[0].kind, ColumnDifference::Kind::missing_on_target);
  EXPECT_EQ(d.columns[1].kind, ColumnDifference::Kind::type_mismatch);
  EXPECT_EQ(d.columns[2].kind, ColumnDifference::Kind::extra_on_target);
  EXPECT_TRUE(d.columns[2].target_requires_value);
  ASSERT_EQ(d.enums.size(), 2u);
  EXPECT_EQ(d.enums[0].missing_labels, std::vector<std::string>{"happy"});
  EXPECT_TRUE(d.enums[1].missing_on_target);
  ASSERT_EQ(d.missing_sequences.size(), 1u);
}

TEST(Fingerprint, IgnoresColumnOrderButNotNamesOrTypes) {
  Table a = table("public", "t", {col("id", "integer"), col("name", "text")});
  Table b = table("public", "t", {col("name", "text"), col("id", "integer")});
  Table c = table("public", "t", {col("id", "bigint"), col("name", "text")});
  Table d = table("public", "t", {col("id", "integer"), col("name", "text"), col("x", "text")});
  EXPECT_EQ(fingerprint(a), fingerprint(b));
  EXPECT_NE(fingerprint(a), fingerprint(c));
  EXPECT_NE(fingerprint(a), fingerprint(d));
  EXPECT_EQ(fingerprint(a).size(), 16u);
}

TEST(UniqueIndex, UsableAsIdentityOnlyWhenStrict) {
  UniqueIndex idx;
  idx.columns = {"code"};
  idx.all_not_null = true;
  EXPECT_TRUE(idx.usable_as_identity());
  idx.partial = true;
  EXPECT_FALSE(idx.usable_as_identity());
  idx.partial = false;
  idx.all_not_null = false;
  EXPECT_FALSE(idx.usable_as_identity());
  idx.all_not_null = true;
  idx.immediate = false;
  EXPECT_FALSE(idx.usable_as_identity());
}
