// Planning a publication on hand-built catalogs: which tables, which replica identities on
// which side (so UPDATE/DELETE can be published and applied), what start refuses, and drift.
#include <gtest/gtest.h>

#include <algorithm>

#include "logical/logical.hpp"

using namespace pgshift;
using namespace pgshift::logical;
using catalog::ReplicaIdentity;
using catalog::Table;

namespace {

catalog::Column column(const std::string& name, const std::string& type = "integer", bool not_null = true) {
  catalog::Column c;
  c.name = name;
  c.type = type;
  c.not_null = not_null;
  return c;
}

Table table(const std::string& name, std::vector<std::string> pk = {"id"}) {
  Table t;
  t.ref = {"public", name};
  t.columns = {column("id"), column("code", "text"), column("note", "text", false)};
  t.primary_key = pk;
  if (!pk.empty()) {
    catalog::UniqueIndex idx;
    idx.name = name + "_pkey";
    idx.primary = true;
    idx.columns = pk;
    idx.all_not_null = true;
    t.unique_indexes.push_back(idx);
  }
  return t;
}

void add_unique(Table& t, const std::string& name, std::vector<std::string> cols, bool not_null = true) {
  catalog::UniqueIndex idx;
  idx.name = name;
  idx.columns = std::move(cols);
  idx.all_not_null = not_null;
  t.unique_indexes.push_back(idx);
}

std::vector<std::string> described(const PublicationPlan& plan) {
  std::vector<std::string> out;
  for (const auto& c : plan.identity_changes) {
    out.push_back((c.side == IdentityChange::Side::source ? "source " : "target ") + c.table.name + " " +
                  catalog::to_string(c.to) + (c.to_index.empty() ? "" : " " + c.to_index));
  }
  std::sort(out.begin(), out.end());
  return out;
}

PublicationPlan plan_of(std::vector<Table> source, std::vector<Table> target, std::vector<std::string> excludes = {}) {
  catalog::Snapshot s, t;
  s.tables = std::move(source);
  t.tables = std::move(target);
  std::vector<catalog::TablePattern> patterns;
  for (const auto& e : excludes) patterns.emplace_back(e);
  return plan_publication(s, t, patterns);
}

}  // namespace

TEST(PublicationPlan, KeyedTablesNeedNothing) {
  PublicationPlan p = plan_of({table("a"), table("b")}, {table("a"), table("b")});
  EXPECT_EQ(p.tables.size(), 2u);
  EXPECT_TRUE(p.identity_changes.empty());
  EXPECT_TRUE(p.key_problems.empty());
  EXPECT_TRUE(p.accepted_differences.empty());
}

TEST(PublicationPlan, KeylessTableUsesAUniqueIndexBothSidesHave) {
  Table s = table("coupons", {}), t = table("coupons", {});
  add_unique(s, "coupons_code", {"code"});
  add_unique(t, "coupons_code_t", {"code"});
  PublicationPlan p = plan_of({s}, {t});
  EXPECT_EQ(described(p), (std::vector<std::string>{"source coupons index coupons_code",
                                                    "target coupons index coupons_code_t"}));
  EXPECT_EQ(p.identity_changes[0].from, ReplicaIdentity::default_key);
}

TEST(PublicationPlan, KeylessTableFallsBackToFullWhenTheTargetCannotMatchTheIndex) {
  Table s = table("coupons", {}), t = table("coupons", {});
  add_unique(s, "coupons_code", {"code"});
  PublicationPlan p = plan_of({s}, {t});
  EXPECT_EQ(described(p), std::vector<std::string>{"source coupons full"});
  EXPECT_NE(p.identity_changes[0].why.find("the target has no matching unique index"), std::string::npos);

  // A target key the source index covers is enough.
  Table keyed_target = table("coupons", {"code"});
  p = plan_of({s}, {keyed_target});
  EXPECT_EQ(described(p), std::vector<std::string>{"source coupons index coupons_code"});
}

TEST(PublicationPlan, NullableUniqueIndexIsNoIdentity) {
  Table s = table("tagged", {}), t = table("tagged", {});
  add_unique(s, "tagged_note", {"note"}, false);
  add_unique(t, "tagged_note", {"note"}, false);
  EXPECT_EQ(described(plan_of({s}, {t})), std::vector<std::string>{"source tagged full"});
}

TEST(PublicationPlan, ReplicaIdentityNothingWithAKeyBecomesDefault) {
  Table s = table("quiet");
  s.replica_identity = ReplicaIdentity::nothing;
  PublicationPlan p = plan_of({s}, {table("quiet")});
  EXPECT_EQ(described(p), std::vector<std::string>{"source quiet default"});
  EXPECT_EQ(p.identity_changes[0].from, ReplicaIdentity::nothing);
}

TEST(PublicationPlan, TargetWithoutKeyGetsAnIdentityIndexWithinTheSourceKey) {
  Table t = table("orders", {});
  add_unique(t, "orders_id", {"id"});
  PublicationPlan p = plan_of({table("orders")}, {t});
  EXPECT_EQ(described(p), std::vector<std::string>{"target orders index orders_id"});
  EXPECT_TRUE(p.key_problems.empty());
}

TEST(PublicationPlan, KeysTheTargetCannotMatchAreProblems) {
  PublicationPlan p = plan_of({table("orders")}, {table("orders", {})});
  ASSERT_EQ(p.key_problems.size(), 1u);
  EXPECT_NE(p.key_problems[0].find("public.orders: the target has no primary key or unique NOT NULL index on (id)"),
            std::string::npos)
      << p.key_problems[0];
  p = plan_of({table("orders")}, {table("orders", {"code"})});
  ASSERT_EQ(p.key_problems.size(), 1u);
  EXPECT_NE(p.key_problems[0].find("the target finds rows by (code), which the source does not send"), std::string::npos)
      << p.key_problems[0];
  // FULL on the source sends every column: any target works.
  Table full = table("orders");
  full.replica_identity = ReplicaIdentity::full;
  EXPECT_TRUE(plan_of({full}, {table("orders", {"code"})}).key_problems.empty());
}

TEST(PublicationPlan, KeylessPartitionedTableIsFullAtTheRootAndEveryLeaf) {
  Table root = table("logs", {});
  root.kind = catalog::TableKind::partitioned;
  Table leaf1 = table("logs_2024", {}), leaf2 = table("logs_2025", {});
  for (Table* leaf : {&leaf1, &leaf2}) {
    leaf->kind = catalog::TableKind::partition;
    leaf->partition_root = root.ref;
  }
  leaf2.replica_identity = ReplicaIdentity::full;
  PublicationPlan p = plan_of({root, leaf1, leaf2}, {root});
  EXPECT_EQ(p.tables, (std::vector<catalog::TableRef>{{"public", "logs"}}));
  EXPECT_EQ(described(p), (std::vector<std::string>{"source logs full", "source logs_2024 full"}));

  // With a primary key on the root the partitions have one too: nothing to change.
  Table keyed = table("logs");
  keyed.kind = catalog::TableKind::partitioned;
  Table keyed_leaf = table("logs_2024");
  keyed_leaf.kind = catalog::TableKind::partition;
  keyed_leaf.partition_root = keyed.ref;
  EXPECT_TRUE(plan_of({keyed, keyed_leaf}, {keyed}).identity_changes.empty());
}

TEST(PublicationPlan, LeftOutTablesCarryTheirReason) {
  Table unlogged = table("sessions");
  unlogged.persistence = catalog::Persistence::unlogged;
  PublicationPlan p = plan_of({table("a"), table("oban_jobs"), unlogged, table("only_here")},
                              {table("a"), table("oban_jobs"), table("sessions")}, {"oban_*"});
  EXPECT_EQ(p.tables, (std::vector<catalog::TableRef>{{"public", "a"}}));
  std::map<std::string, catalog::LeftOutReason> reasons;
  for (const auto& lo : p.left_out) reasons[lo.table.name] = lo.reason;
  EXPECT_EQ(reasons["oban_jobs"], catalog::LeftOutReason::excluded);
  EXPECT_EQ(reasons["sessions"], catalog::LeftOutReason::unlogged);
  EXPECT_EQ(reasons["only_here"], catalog::LeftOutReason::source_only);
}

TEST(Drift, DifferencesPresentAtStartAreAcceptedNewOnesAreNamed) {
  Table s = table("a"), t = table("a");
  t.columns.push_back(column("legacy", "text", false));  // already there at start
  catalog::Snapshot src, tgt;
  src.tables = {s};
  tgt.tables = {t};
  PublicationPlan p = plan_publication(src, tgt, {});
  ASSERT_EQ(p.accepted_differences.size(), 1u);
  std::vector<catalog::TableRef> published = {{"public", "a"}};
  EXPECT_TRUE(find_drift(src, tgt, published, p.accepted_differences).empty());

  src.tables[0].columns.push_back(column("added", "numeric(10,2)", false));  // ALTER TABLE ... ADD COLUMN on the source
  auto drift = find_drift(src, tgt, published, p.accepted_differences);
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].column, "added");
  EXPECT_EQ(drift[0].kind, "missing_on_target");
  EXPECT_EQ(drift[0].description, "public.a.added: on the source (numeric(10,2)) but not on the target");
  EXPECT_NE(drift[0].source_fingerprint, drift[0].target_fingerprint);

  tgt.tables.clear();
  drift = find_drift(src, tgt, published, p.accepted_differences);
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].kind, "table_missing_on_target");
}

TEST(PublicationPlan, DiffTablesShowsAddedAndRemoved) {
  std::vector<catalog::TableRef> published = {{"public", "a"}, {"public", "b"}};
  std::vector<catalog::TableRef> planned = {{"public", "b"}, {"public", "c"}};
  EXPECT_EQ(diff_tables(published, planned), (std::vector<std::string>{"+ public.c", "− public.a"}));
  EXPECT_TRUE(diff_tables(published, published).empty());
}

TEST(IdentityChange, RoundTripsThroughTheJournal) {
  IdentityChange c;
  c.side = IdentityChange::Side::target;
  c.table = {"s", "t"};
  c.from = ReplicaIdentity::index;
  c.from_index = "old_idx";
  c.to = ReplicaIdentity::full;
  c.why = "because";
  IdentityChange back = IdentityChange::from_json(c.to_json());
  EXPECT_EQ(back.side, c.side);
  EXPECT_EQ(back.table, c.table);
  EXPECT_EQ(back.from, c.from);
  EXPECT_EQ(back.from_index, "old_idx");
  EXPECT_EQ(back.to, c.to);
  EXPECT_EQ(c.describe(), "target s.t: REPLICA IDENTITY FULL (was USING INDEX old_idx; because)");
  EXPECT_EQ(identity_clause(ReplicaIdentity::index, "Odd Name"), "USING INDEX \"Odd Name\"");
}

// For the replication back the target publishes: a change on its "source" side is on the
// migration's target, and every line says so (also after the journal round trip).
TEST(IdentityChange, ReplicationBackNamesTheDatabaseItIsOn) {
  IdentityChange c;
  c.side = IdentityChange::Side::source;
  c.table = {"public", "rental_note"};
  c.from = ReplicaIdentity::default_key;
  c.to = ReplicaIdentity::full;
  c.why = "no key";
  EXPECT_EQ(c.describe().rfind("source public.rental_note:", 0), 0u) << c.describe();
  c.reversed = true;
  EXPECT_EQ(c.describe().rfind("target public.rental_note:", 0), 0u) << c.describe();
  IdentityChange back = IdentityChange::from_json(c.to_json());
  EXPECT_EQ(back.database_role(), "target");
  c.side = IdentityChange::Side::target;
  EXPECT_EQ(c.database_role(), "source");
}

// A partition created on one side only stops the apply once a row is routed to it: drift.
TEST(Drift, PartitionOnOneSideOnlyIsDrift) {
  auto partitioned = [](catalog::Snapshot& s, std::vector<std::string> leaves) {
    Table root = table("payment");
    root.kind = catalog::TableKind::partitioned;
    s.tables.push_back(root);
    for (const auto& l : leaves) {
      Table leaf = table(l);
      leaf.kind = catalog::TableKind::partition;
      leaf.partition_root = catalog::TableRef{"public", "payment"};
      s.tables.push_back(leaf);
    }
  };
  catalog::Snapshot s, t;
  partitioned(s, {"payment_p07", "payment_p08"});
  partitioned(t, {"payment_p07"});
  auto drift = find_drift(s, t, {{"public", "payment"}}, {});
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].kind, "partition_missing_on_target");
  EXPECT_NE(drift[0].description.find("partition public.payment_p08 exists on the source only"), std::string::npos);
  // Partitioned differently from the start is accepted, as column differences are.
  PublicationPlan plan = plan_publication(s, t, {});
  EXPECT_TRUE(find_drift(s, t, {{"public", "payment"}}, plan.accepted_differences).empty());
}
