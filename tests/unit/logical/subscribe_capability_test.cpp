// Who may create the subscription back, per provider: one rule for check and cutover.
#include <gtest/gtest.h>

#include "logical/logical.hpp"

using namespace pgshift;

namespace {

catalog::ServerInfo role(std::vector<std::string> member, bool replication = false, int version = 150004) {
  catalog::ServerInfo s;
  s.version_num = version;
  s.current_user = "app";
  s.provider_roles = std::move(member);
  s.replication_role = replication;
  return s;
}

bool can(const catalog::ServerInfo& s, const std::string& provider) {
  return logical::subscribe_capability(s, provider).can;
}

TEST(SubscribeCapability, ASuperuserCanAnywhere) {
  catalog::ServerInfo s = role({});
  s.superuser = true;
  EXPECT_TRUE(can(s, "postgres"));
  EXPECT_TRUE(can(s, "rds"));
  EXPECT_EQ(logical::subscribe_capability(s, "postgres").how, "superuser");
}

TEST(SubscribeCapability, EachProviderNamesItsOwnRole) {
  // RDS/Aurora: rds_superuser members can (cutover used to refuse them while check accepted).
  EXPECT_TRUE(can(role({"rds_superuser"}), "rds"));
  auto rds = logical::subscribe_capability(role({}), "rds");
  EXPECT_FALSE(rds.can);
  EXPECT_NE(rds.advice.find("GRANT rds_superuser TO app"), std::string::npos) << rds.advice;
  EXPECT_NE(rds.advice.find("--source-subscriber"), std::string::npos) << rds.advice;

  // Cloud SQL and Azure: the admin role needs REPLICATION too.
  EXPECT_FALSE(can(role({"cloudsqlsuperuser"}), "cloudsql"));
  EXPECT_TRUE(can(role({"cloudsqlsuperuser"}, true), "cloudsql"));
  EXPECT_FALSE(can(role({"azure_pg_admin"}), "azure"));
  EXPECT_TRUE(can(role({"azure_pg_admin"}, true), "azure"));
  EXPECT_NE(logical::subscribe_capability(role({}), "azure").advice.find("azure_pg_admin"), std::string::npos);

  // Supabase: no role can; the advice says so rather than naming a role that would not work.
  auto supabase = logical::subscribe_capability(role({}, true), "supabase");
  EXPECT_FALSE(supabase.can);
  EXPECT_NE(supabase.advice.find("no role"), std::string::npos) << supabase.advice;

  // A provider's role on another provider's server (or a plain server) proves nothing.
  EXPECT_FALSE(can(role({"rds_superuser"}), "supabase"));
  EXPECT_FALSE(can(role({"rds_superuser"}), "postgres"));
}

TEST(SubscribeCapability, PostgreSQL16GrantsItThroughPgCreateSubscription) {
  EXPECT_FALSE(can(role({"pg_create_subscription"}, false, 150004), "postgres"));
  EXPECT_TRUE(can(role({"pg_create_subscription"}, false, 160001), "postgres"));
  EXPECT_NE(logical::subscribe_capability(role({}, false, 160001), "postgres")
                .advice.find("GRANT pg_create_subscription TO app"),
            std::string::npos);
}

}  // namespace
