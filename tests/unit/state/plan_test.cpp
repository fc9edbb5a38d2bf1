#include "state/plan.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "util/error.hpp"

using namespace pgshift::state;

namespace {

std::string write_plan(const std::string& body) {
  // CTest runs each case in its own process, in parallel: the pid keeps their files apart.
  std::string path =
      ::testing::TempDir() + "/plan-" + std::to_string(getpid()) + "-" + std::to_string(std::rand()) + ".yaml";
  std::ofstream(path) << body;
  return path;
}

std::string usage_error(const PlanInputs& in) {
  try {
    resolve_plan(in);
  } catch (const pgshift::UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Plan, LoadsFileAndExpandsEnvironment) {
  setenv("PLAN_TEST_SOURCE", "postgresql://app:s3cr3t-plan@src:5432/shop", 1);
  PlanInputs in;
  in.config_file = write_plan(
      "source: ${PLAN_TEST_SOURCE}\n"
      "target: postgresql://app@tgt:5432/shop\n"
      "exclude: [oban_jobs, 'audit.*']\n"
      "publication: mig_pub\n");
  Plan p = resolve_plan(in);
  EXPECT_EQ(p.source.redacted(), "app@src:5432/shop");
  EXPECT_EQ(p.source.get("password"), "s3cr3t-plan");
  EXPECT_EQ(p.excludes, (std::vector<std::string>{"oban_jobs", "audit.*"}));
  EXPECT_EQ(p.publication, "mig_pub");
  EXPECT_EQ(p.subscription, default_object_name(p.source, p.target));
  EXPECT_FALSE(p.default_names);
  std::string json = p.to_json().dump();
  EXPECT_EQ(json.find("s3cr3t-plan"), std::string::npos) << json;
}

// Slots are server-wide: two migrations between one pair of servers (two databases, or one
// database to two targets) must not share default names.
TEST(Plan, DefaultNamesAreUniquePerMigration) {
  PlanInputs a;
  a.source = "postgresql://app@src:5432/shop";
  a.target = "postgresql://app@tgt:5432/shop";
  PlanInputs b = a;
  b.source = "postgresql://app@src:5432/billing";
  b.target = "postgresql://app@tgt:5432/billing";
  PlanInputs c = a;
  c.target = "postgresql://app@other:5432/shop";
  Plan pa = resolve_plan(a), pb = resolve_plan(b), pc = resolve_plan(c);
  EXPECT_TRUE(pa.default_names);
  EXPECT_EQ(pa.publication, pa.subscription);
  EXPECT_EQ(pa.subscription.rfind("pgshift_shop_", 0), 0u) << pa.subscription;
  EXPECT_NE(pa.subscription, pb.subscription);
  EXPECT_NE(pa.subscription, pc.subscription);
  EXPECT_NE(pa.reverse_subscription(), pb.reverse_subscription());
  EXPECT_EQ(resolve_plan(a).subscription, pa.subscription) << "the same migration gets the same names every time";
  b.target = "postgresql://app@tgt:5432/Weird-DB";
  EXPECT_NO_THROW(validate_object_name(resolve_plan(b).reverse_subscription(), "subscription"));
}

TEST(Plan, FlagsWinOverFileAndFileOverEnvironment) {
  setenv("PGSHIFT_SOURCE_URL", "postgresql://env@envhost/db", 1);
  setenv("PGSHIFT_TARGET_URL", "postgresql://env@envtarget/db", 1);
  PlanInputs in;
  in.config_file = write_plan("source: postgresql://file@filehost/db\nexclude: a\n");
  in.excludes = {"b"};
  in.subscription = "flag_sub";
  Plan p = resolve_plan(in);
  EXPECT_EQ(p.source.host(), "filehost");
  EXPECT_EQ(p.target.host(), "envtarget");
  EXPECT_EQ(p.excludes, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.subscription, "flag_sub");
  in.source = "postgresql://flag@flaghost/db";
  EXPECT_EQ(resolve_plan(in).source.host(), "flaghost");
  unsetenv("PGSHIFT_SOURCE_URL");
  unsetenv("PGSHIFT_TARGET_URL");
}

TEST(Plan, ErrorsNameTheFileLineAndKey) {
  PlanInputs in;
  in.config_file = write_plan("source: postgresql://a@b/c\ntarget: postgresql://a@b/d\nexlcude: [x]\n");
  std::string e = usage_error(in);
  EXPECT_NE(e.find(":3: unknown key 'exlcude'"), std::string::npos) << e;

  in.config_file = write_plan("source: ${PLAN_TEST_UNSET_VAR}\n");
  unsetenv("PLAN_TEST_UNSET_VAR");
  e = usage_error(in);
  EXPECT_NE(e.find("PLAN_TEST_UNSET_VAR is not set"), std::string::npos) << e;
  EXPECT_NE(e.find(":1"), std::string::npos) << e;

  in.config_file = "/nonexistent/pgshift.yaml";
  EXPECT_NE(usage_error(in).find("no such file"), std::string::npos);

  in.config_file = write_plan("source: [unclosed\n");
  EXPECT_NE(usage_error(in).find("invalid YAML"), std::string::npos);
}

TEST(Plan, MissingEndpointsAndBadNamesAreUsageErrors) {
  PlanInputs in;
  EXPECT_NE(usage_error(in).find("no source database"), std::string::npos);
  in.source = "postgresql://a@b/c";
  EXPECT_NE(usage_error(in).find("no target database"), std::string::npos);
  in.target = "postgresql://a@b/d";
  in.publication = "Bad-Name";
  EXPECT_NE(usage_error(in).find("publication: 'Bad-Name'"), std::string::npos);
}

TEST(Plan, ExpandEnvHandlesEscapesAndErrors) {
  setenv("PLAN_X", "v", 1);
  EXPECT_EQ(expand_env("a${PLAN_X}b$$c$d", "w"), "avb$c$d");
  EXPECT_THROW(expand_env("${PLAN_X", "w"), pgshift::UsageError);
}
