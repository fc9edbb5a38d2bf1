// CloudNativePG through the CLI: `drill --cnpg NS/CLUSTER --render` from a recorded Cluster, and a
// cnpg: source or --apply whose kubectl cannot be run is unreadable / cannot run (exit 3). The
// kubectl path itself needs a Kubernetes cluster and is not exercised here.
#include "backup_helpers.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

std::string fixture_path(const std::string& name) {
  return std::string(PGSHIFT_SOURCE_DIR) + "/tests/unit/backup/fixtures/" + name;
}

TEST(BackupCnpgCli, RenderRecoveryClusterFromClusterJson) {
  CliRun r = run_pgshift({"drill", "--cnpg", "prod/shop", "--render", "--cluster-json", fixture_path("cnpg_cluster_intree.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("kind: \"Cluster\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("destinationPath: \"s3://backups/shop\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pgshift.io/drill: \"shop\""), std::string::npos) << r.out;
  CliRun j = run_pgshift({"drill", "--cnpg", "prod/shop", "--render", "--json", "--cluster-json", fixture_path("cnpg_cluster_intree.json")});
  ASSERT_EQ(j.exit_code, 0);
  nlohmann::json m = nlohmann::json::parse(j.out);
  EXPECT_EQ(m["spec"]["bootstrap"]["recovery"]["source"], "shop-origin");
}

TEST(BackupCnpgCli, ApplyWithoutKubectlCannotRun) {
  auto live = start_cluster("bkcnpg");
  CliRun r = run_pgshift({"drill", "--cnpg", "prod/shop", "--apply", "--db", live->url(), "--kubectl", "/nonexistent/kubectl", "--json"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["could_not_run"].get<bool>());
  EXPECT_NE(j["reason"].get<std::string>().find("kubectl"), std::string::npos) << j["reason"];
  EXPECT_FALSE(j["marker"]["written"].get<bool>()) << "nothing is written on live before the Cluster is read";
  CliRun usage = run_pgshift({"drill", "--cnpg", "prod/shop", "--apply"});
  EXPECT_EQ(usage.exit_code, 2) << usage.err;
}

TEST(BackupCnpgCli, SourceWithoutKubectlIsUnreadable) {
  CliRun r = run_pgshift({"backups", "--from", "cnpg:prod/shop", "--kubectl", "/nonexistent/kubectl", "--json"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["sources"][0]["verdict"], "unreadable");
}

TEST(BackupCnpgCli, BadSourceIsAUsageError) {
  CliRun r = run_pgshift({"backups", "--from", "tape:/dev/st0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

}  // namespace
