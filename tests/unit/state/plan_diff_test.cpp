#include "state/plan_diff.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using pgshift::state::diff_plans;
using nlohmann::json;

namespace {

json plan() {
  return {{"source", "app@db1:5432/shop"}, {"target", "app@pg:5432/shop"}, {"exclude", {"oban_jobs"}},
          {"publication", "pgshift"}, {"subscription", "pgshift"}};
}

}  // namespace

TEST(PlanDiff, SamePlanHasNoDifferenceWhateverTheKeyOrder) {
  json reordered = json::parse(R"({"subscription":"pgshift","publication":"pgshift","exclude":["oban_jobs"],
                                   "target":"app@pg:5432/shop","source":"app@db1:5432/shop"})");
  EXPECT_TRUE(diff_plans(plan(), reordered).empty());
}

TEST(PlanDiff, NamesEachChangedKeyWithBothValues) {
  json given = plan();
  given["source"] = "app@db2:5432/shop";
  given["publication"] = "other";
  auto lines = diff_plans(plan(), given);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "publication: pgshift (recorded) → other (given)");
  EXPECT_EQ(lines[1], "source: app@db1:5432/shop (recorded) → app@db2:5432/shop (given)");
}

TEST(PlanDiff, ArraysShowWhatIsAddedAndRemoved) {
  json given = plan();
  given["exclude"] = {"audit.*", "sessions"};
  auto lines = diff_plans(plan(), given);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "exclude: + audit.* + sessions − oban_jobs");
  given["exclude"] = json::array();
  EXPECT_EQ(diff_plans(plan(), given)[0], "exclude: − oban_jobs");
}

TEST(PlanDiff, MissingKeysCountAsNone) {
  json recorded = plan();
  recorded.erase("subscription");
  auto lines = diff_plans(recorded, plan());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "subscription: (none) (recorded) → pgshift (given)");
}
