// cnpg without a cluster: the cron rule, strict CRD schemas, YAML scalars in and out, the file's
// strict keys, and the rules render applies to itself.
#include <gtest/gtest.h>

#include "cnpg/cnpg.hpp"
#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::cnpg;

namespace {

TEST(CnpgSchedule, SixFieldsAndDescriptorsPassFiveFieldsGetTheFix) {
  EXPECT_FALSE(schedule_problem("0 0 3 * * *"));
  EXPECT_FALSE(schedule_problem("@daily"));
  EXPECT_FALSE(schedule_problem("@every 1h"));
  auto five = schedule_problem("0 3 * * *");
  ASSERT_TRUE(five);
  EXPECT_NE(five->find("every hour at minute 3"), std::string::npos) << *five;
  EXPECT_NE(five->find("write '0 0 3 * * *'"), std::string::npos) << *five;
  EXPECT_TRUE(schedule_problem("* * *"));
}

TEST(CnpgSchema, StrictSchemaRejectsUnknownFieldsAndHandlesIntOrStringAndNullable) {
  Json in = Json::parse(R"({"type": "object", "properties": {
      "a": {"type": "object", "properties": {"b": {"type": "string", "nullable": true}}},
      "q": {"x-kubernetes-int-or-string": true, "pattern": "^[0-9]+$"},
      "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"k": {"type": "string"}}},
      "map": {"type": "object", "additionalProperties": {"type": "string"}}}})");
  Json out = strict_schema(in);
  EXPECT_EQ(out["additionalProperties"], false);
  EXPECT_EQ(out["properties"]["a"]["additionalProperties"], false);
  EXPECT_EQ(out["properties"]["a"]["properties"]["b"]["type"], Json::array({"string", "null"}));
  EXPECT_FALSE(out["properties"]["q"].contains("x-kubernetes-int-or-string"));
  EXPECT_EQ(out["properties"]["q"]["anyOf"].size(), 2u);
  EXPECT_FALSE(out["properties"]["free"].contains("additionalProperties"));
  EXPECT_EQ(out["properties"]["map"]["additionalProperties"]["type"], "string");
}

TEST(CnpgYaml, StringsStayStringsRoundTrip) {
  Json doc = {{"parameters", {{"max_connections", "200"}, {"on", "on"}}}, {"instances", 3}, {"flag", true}};
  std::vector<Json> back = yaml_documents(to_yaml(doc), "t");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0]["parameters"]["max_connections"], "200");
  EXPECT_EQ(back[0]["parameters"]["on"], "on");
  EXPECT_EQ(back[0]["instances"], 3);
  EXPECT_EQ(back[0]["flag"], true);
  EXPECT_EQ(yaml_documents("a: 1\n---\nb: x\n", "t").size(), 2u);
}

TEST(CnpgFile, UnknownKeysAndRenderSelfCheck) {
  try {
    parse_cluster_yaml("name: db\nstorage: {size: 1Gi}\nbackup:\n  method: plugin\n  destinatonPath: s3://x\n", "c.yaml");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("c.yaml:5: unknown key 'destinatonPath' in backup"), std::string::npos) << e.what();
  }
  ClusterFile f = parse_cluster_yaml("name: db\nstorage: {size: 1Gi}\n", "c.yaml");
  access::RolesFile roles = access::parse_roles_yaml("roles:\n  - {name: postgres, login: true}\n", "r.yaml");
  try {
    render(f, roles, std::nullopt);
    FAIL() << "a reserved managed role must be refused";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("reserved"), std::string::npos) << e.what();
  }
  Rendered r = render(f, std::nullopt, std::nullopt);
  ASSERT_EQ(r.documents.size(), 1u);
  EXPECT_EQ(r.documents[0].kind, "Cluster");
}

TEST(CnpgWebhook, SynchronizeLogicalDecodingPrerequisites) {
  Json c = {{"apiVersion", "postgresql.cnpg.io/v1"}, {"kind", "Cluster"},
            {"spec", {{"imageName", "ghcr.io/cloudnative-pg/postgresql:17"},
                      {"replicationSlots", {{"highAvailability", {{"synchronizeLogicalDecoding", true}}}}},
                      {"postgresql", {{"parameters", {{"hot_standby_feedback", "on"}, {"sync_replication_slots", "on"}}}}}}}};
  EXPECT_TRUE(webhook_rules(c, "c").empty());
  c["spec"]["postgresql"]["parameters"].erase("hot_standby_feedback");
  EXPECT_EQ(webhook_rules(c, "c").size(), 1u);
  c["spec"]["imageName"] = "ghcr.io/cloudnative-pg/postgresql:16";
  EXPECT_EQ(webhook_rules(c, "c").size(), 1u);
  c["spec"]["postgresql"]["parameters"]["pg_failover_slots.synchronize_slot_names"] = "name_like:%";
  EXPECT_TRUE(webhook_rules(c, "c").empty());
}

}  // namespace
