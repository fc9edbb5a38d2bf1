// The parallel copy's work list: every relation covered once, big ones split into consecutive
// block ranges whose last is open-ended, largest first; which columns travel in binary; the
// COPY statements of a unit.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "replication/copy_plan.hpp"
#include "replication/copy_workers.hpp"
#include "replication/deferred_objects.hpp"

using namespace pgshift;
using namespace pgshift::replication;

namespace {

CopyRelation relation(const std::string& name, int64_t bytes) {
  CopyRelation r;
  r.leaf = {"public", name};
  r.target = {"public", name};
  r.bytes = bytes;
  r.columns = {"id", "payload"};
  return r;
}

constexpr int64_t MB = 1 << 20;

TEST(CopyPlan, SplitsABigTableIntoConsecutiveRangesAndKeepsSmallOnesWhole) {
  CopyPlanOptions options;
  options.jobs = 4;
  options.min_unit_bytes = 64 * MB;
  CopyPlan plan = plan_copy({relation("small", 10 * MB), relation("big", 2048 * MB), relation("tiny", 8192)}, options);
  // total ≈ 2058 MB over 16 (4 × jobs) ≈ 128 MB units: big in 16 ranges, the others whole.
  std::vector<const CopyUnit*> big;
  int whole = 0;
  for (const auto& u : plan.units) {
    if (plan.relations[u.relation].leaf.name == "big") big.push_back(&u);
    else whole += u.whole ? 1 : 0;
  }
  EXPECT_EQ(whole, 2);
  ASSERT_GT(big.size(), 8u);
  std::sort(big.begin(), big.end(), [](const CopyUnit* a, const CopyUnit* b) { return a->first_block < b->first_block; });
  EXPECT_EQ(big.front()->first_block, 0);
  for (size_t i = 0; i + 1 < big.size(); ++i) {
    ASSERT_TRUE(big[i]->end_block.has_value());
    EXPECT_EQ(*big[i]->end_block, big[i + 1]->first_block) << "no gap, no overlap";
  }
  EXPECT_FALSE(big.back()->end_block.has_value()) << "the last range reads to the end of the relation";
  for (size_t i = 0; i + 1 < plan.units.size(); ++i) {
    EXPECT_GE(plan.units[i].estimated_bytes, plan.units[i + 1].estimated_bytes) << "largest first";
    EXPECT_EQ(plan.units[i].id, static_cast<int>(i));
  }
  EXPECT_EQ(plan.total_bytes, 2058 * MB + 8192);
}

TEST(CopyPlan, KeysAreStableAcrossRuns) {
  CopyPlanOptions options;
  options.jobs = 2;
  options.min_unit_bytes = 1 * MB;
  CopyPlan a = plan_copy({relation("t", 10 * MB)}, options);
  CopyPlan b = plan_copy({relation("t", 10 * MB)}, options);
  ASSERT_EQ(a.units.size(), b.units.size());
  for (size_t i = 0; i < a.units.size(); ++i) EXPECT_EQ(a.units[i].key, b.units[i].key);
  EXPECT_EQ(a.units.front().key.rfind("public.t[", 0), 0u) << a.units.front().key;
}

TEST(CopyPlan, NoRangesWithoutTidRangeScansOrWithOneJob) {
  CopyPlanOptions options;
  options.jobs = 4;
  options.min_unit_bytes = 1 * MB;
  options.ranges_allowed = false;  // PostgreSQL 13
  EXPECT_EQ(plan_copy({relation("t", 500 * MB)}, options).units.size(), 1u);
  options.ranges_allowed = true;
  options.jobs = 1;
  EXPECT_EQ(plan_copy({relation("t", 500 * MB)}, options).units.size(), 1u);
}

TEST(CopyPlan, EmptyRelationIsOneWholeUnit) {
  CopyPlan plan = plan_copy({relation("empty", 0)}, {});
  ASSERT_EQ(plan.units.size(), 1u);
  EXPECT_TRUE(plan.units[0].whole);
}

TEST(CopyPlan, BinaryOnlyWhereNoUserTypeOidTravels) {
  auto column = [](std::string type, std::string kind, std::string base = "") {
    catalog::Column c;
    c.type = std::move(type);
    c.type_kind = std::move(kind);
    c.domain_base = std::move(base);
    return c;
  };
  EXPECT_TRUE(binary_safe(column("integer", "base")));
  EXPECT_TRUE(binary_safe(column("text[]", "array")));
  EXPECT_TRUE(binary_safe(column("jsonb", "base")));
  EXPECT_TRUE(binary_safe(column("public.mood", "enum")));
  EXPECT_TRUE(binary_safe(column("public.email", "domain", "text")));
  EXPECT_FALSE(binary_safe(column("public.mood[]", "array"))) << "an array's binary form holds its element type oid";
  EXPECT_FALSE(binary_safe(column("public.address", "composite")));
  EXPECT_FALSE(binary_safe(column("public.citext", "base"))) << "an extension type may lack binary I/O";
}

TEST(CopyPlan, CopiedColumnsLeaveGeneratedOnesOut) {
  catalog::Table t;
  catalog::Column id, n, total;
  id.name = "id";
  n.name = "n";
  total.name = "total";
  total.generated = 's';
  t.columns = {id, n, total};
  EXPECT_EQ(copied_columns(t), (std::vector<std::string>{"id", "n"}));
}

TEST(CopyWorkers, StatementsQuoteNamesAndBoundTheRange) {
  CopyRelation r = relation("Big Table", 100);
  r.columns = {"id", "Name"};
  r.target = {"public", "root"};
  CopyUnit whole;
  EXPECT_EQ(copy_out_sql(r, whole), R"(COPY "public"."Big Table" ("id", "Name") TO STDOUT (FORMAT binary))");
  CopyUnit range;
  range.whole = false;
  range.first_block = 128;
  range.end_block = 256;
  EXPECT_EQ(copy_out_sql(r, range),
            R"(COPY (SELECT "id", "Name" FROM ONLY "public"."Big Table" WHERE ctid >= '(128,0)'::tid AND ctid < '(256,0)'::tid) TO STDOUT (FORMAT binary))");
  range.end_block.reset();
  EXPECT_EQ(describe_unit(r, range), "public.\"Big Table\" (blocks 128–end)");
  r.binary = false;
  EXPECT_EQ(copy_in_sql(r), R"(COPY "public"."root" ("id", "Name") FROM STDIN)");
}

TEST(DeferredObjects, JsonRoundTripKeepsTheDefinition) {
  DeferredObject o;
  o.kind = DeferredObject::Kind::constraint;
  o.table = {"public", "orders"};
  o.name = "orders_customer_fk";
  o.definition = "FOREIGN KEY (customer_id) REFERENCES customers(id)";
  o.constraint_type = 'f';
  o.validated = false;
  DeferredObject back = DeferredObject::from_json(o.to_json());
  EXPECT_EQ(back.definition, o.definition);
  EXPECT_EQ(back.constraint_type, 'f');
  EXPECT_FALSE(back.validated);
  EXPECT_FALSE(back.builds_index());
  EXPECT_EQ(back.describe(), "constraint orders_customer_fk on public.orders");
}

}  // namespace
