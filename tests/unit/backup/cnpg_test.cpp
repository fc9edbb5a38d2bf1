// CloudNativePG: Backup resources, Cluster conditions and recovery windows (in-tree status or
// the barman-cloud plugin's ObjectStore) parsed from recorded JSON in the CRDs' shape, and the
// recovery Cluster a drill renders.
#include <gtest/gtest.h>

#include "backup/drill.hpp"
#include "cnpg/names.hpp"
#include "backup/inventory.hpp"
#include "backup/time_text.hpp"
#include "fixtures.hpp"
#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::backup;
using pgshift::testing::fixture_json;

TEST(BackupCnpg, InTreeBackupsConditionsAndWindow) {
  SourceInventory inv = parse_cnpg("cnpg:prod/shop", fixture_json("cnpg_cluster_intree.json"), fixture_json("cnpg_backups.json"),
                                   nlohmann::json::object());
  ASSERT_EQ(inv.backups.size(), 3u) << "the other cluster's backup is left out";
  EXPECT_EQ(inv.backups[0].id, "shop-20261130020000");
  EXPECT_EQ(inv.backups[0].status, "failed");
  EXPECT_EQ(inv.backups[1].status, "completed");
  EXPECT_EQ(inv.backups[1].method, "barmanObjectStore");
  EXPECT_EQ(inv.backups[1].begin_wal, "000000010000002A0000001F");
  EXPECT_EQ(inv.backups[1].end_lsn, "2A/20000100");
  EXPECT_EQ(inv.backups[1].timeline, 1);
  EXPECT_EQ(inv.backups[1].stop_time, parse_time("2026-12-01T02:00:35Z"));
  EXPECT_EQ(inv.backups[2].method, "volumeSnapshot");
  EXPECT_EQ(inv.backups[2].status, "running");
  EXPECT_EQ(inv.verdict, "healthy") << "an old failure followed by a good backup is history";
  EXPECT_EQ(inv.window.first, parse_time("2026-11-01T02:00:11Z"));
  EXPECT_EQ(inv.window.last, parse_time("2026-12-01T02:00:35Z"));
  EXPECT_EQ(inv.details["conditions"]["ContinuousArchiving"]["status"], "True");
}

TEST(BackupCnpg, PluginObjectStoreWindowAndFailingArchiving) {
  SourceInventory inv = parse_cnpg("cnpg:prod/orders", fixture_json("cnpg_cluster_plugin.json"),
                                   fixture_json("cnpg_backups_plugin.json"), fixture_json("cnpg_objectstore.json"));
  ASSERT_EQ(inv.backups.size(), 1u);
  EXPECT_EQ(inv.backups[0].method, "plugin");
  EXPECT_EQ(inv.backups[0].status, "failed");
  EXPECT_EQ(inv.backups[0].error, "WAL archiving is failing");
  EXPECT_EQ(inv.verdict, "problem");
  bool condition = false;
  for (const auto& p : inv.problems) condition = condition || p.find("ContinuousArchiving is False") != std::string::npos;
  EXPECT_TRUE(condition);
  // The window of the plugin's serverName, not the cluster name's older one.
  EXPECT_EQ(inv.window.first, parse_time("2026-11-17T02:00:09Z"));
  EXPECT_EQ(inv.window.last, parse_time("2026-12-01T02:00:40Z"));
  EXPECT_NE(inv.window.basis.find("orders-store"), std::string::npos);
}

TEST(BackupCnpg, RecoveryClusterFromInTreeObjectStore) {
  nlohmann::json m = render_cnpg_recovery(fixture_json("cnpg_cluster_intree.json"), "20261201");
  EXPECT_EQ(m["kind"], "Cluster");
  EXPECT_EQ(m["metadata"]["name"], "shop-drill-20261201");
  EXPECT_EQ(m["metadata"]["namespace"], "prod");
  EXPECT_EQ(m["metadata"]["labels"]["pgshift.io/drill"], "shop");
  EXPECT_EQ(m["spec"]["instances"], 1);
  EXPECT_EQ(m["spec"]["imageName"], "ghcr.io/cloudnative-pg/postgresql:15.10");
  EXPECT_EQ(m["spec"]["storage"]["size"], "20Gi");
  EXPECT_EQ(m["spec"]["bootstrap"]["recovery"]["source"], "shop-origin");
  const auto& ext = m["spec"]["externalClusters"][0];
  EXPECT_EQ(ext["name"], "shop-origin");
  EXPECT_EQ(ext["barmanObjectStore"]["destinationPath"], "s3://backups/shop");
  EXPECT_EQ(ext["barmanObjectStore"]["endpointURL"], "https://minio.storage.svc:9000");
  EXPECT_EQ(ext["barmanObjectStore"]["serverName"], "shop");
  EXPECT_FALSE(m["spec"].contains("backup")) << "the drill cluster never archives into the live store";
  EXPECT_EQ(m["spec"]["postgresql"]["parameters"]["max_logical_replication_workers"], "0");
  std::string yaml = to_yaml(m);
  EXPECT_NE(yaml.find("kind: \"Cluster\""), std::string::npos) << yaml;
}

TEST(BackupCnpg, RecoveryClusterNamesAreUniqueValidAndKeepTheirSuffix) {
  nlohmann::json live = fixture_json("cnpg_cluster_intree.json");
  std::string a = render_cnpg_recovery(live, drill_name_suffix())["metadata"]["name"];
  std::string b = render_cnpg_recovery(live, drill_name_suffix())["metadata"]["name"];
  EXPECT_NE(a, b) << "two drills the same day get two Clusters";
  EXPECT_EQ(a.rfind("shop-drill-", 0), 0u) << a;
  EXPECT_EQ(a.size(), std::string("shop-drill-").size() + 8);
  live["metadata"]["name"] = std::string(48, 'a') + "-x";
  std::string long_name = render_cnpg_recovery(live, "1a2b3c4d")["metadata"]["name"];
  EXPECT_LE(long_name.size(), 50u);
  EXPECT_EQ(long_name.substr(long_name.size() - 9), "-1a2b3c4d") << "the suffix survives the cut: " << long_name;
  EXPECT_EQ(cnpg::suffixed_name("Shop_DB--", "x1", 10), "shop-db-x1");
  EXPECT_EQ(cnpg::suffixed_name("abcdefghij", "12345678", 12), "abc-12345678");
  EXPECT_EQ(cnpg::suffixed_name("abc-defghij", "12345678", 13), "abc-12345678") << "no '--' left by the cut";
}

TEST(BackupCnpg, RecoveryClusterFromPluginObjectStore) {
  nlohmann::json m = render_cnpg_recovery(fixture_json("cnpg_cluster_plugin.json"), "x");
  const auto& ext = m["spec"]["externalClusters"][0];
  EXPECT_EQ(ext["plugin"]["name"], "barman-cloud.cloudnative-pg.io");
  EXPECT_EQ(ext["plugin"]["parameters"]["barmanObjectName"], "orders-store");
  EXPECT_EQ(ext["plugin"]["parameters"]["serverName"], "orders-v2");
  EXPECT_FALSE(m["spec"].contains("plugins"));
}

TEST(BackupCnpg, NoObjectStoreIsAUsageError) {
  nlohmann::json c = fixture_json("cnpg_cluster_intree.json");
  c["spec"].erase("backup");
  EXPECT_THROW(render_cnpg_recovery(c, "x"), UsageError);
}
