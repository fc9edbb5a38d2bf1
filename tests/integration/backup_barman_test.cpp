// barman-cloud: sources with the real barman-cli-cloud 3.4 against a local S3-compatible server
// (s3rver from the committed npm lock): WAL archived with barman-cloud-wal-archive, a base
// backup with barman-cloud-backup, the inventory from barman-cloud-backup-list (3.4 prints times
// without a zone), and a drill through barman-cloud-restore + barman-cloud-wal-restore.
#include <libpq-fe.h>
#include <signal.h>

#include <thread>

#include "backup_helpers.hpp"
#include "pg/quote.hpp"

using namespace pgshift;
using namespace pgshift::testing;
namespace fs = std::filesystem;

namespace {

bool tcp_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

class BackupBarman : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string s3rver = std::string(PGSHIFT_SOURCE_DIR) + "/node_modules/.bin/s3rver";
    if (!fs::exists(s3rver)) FAIL() << "run scripts/install-deps: " << s3rver << " is missing";
    root_ = new ScratchDir();
    port_ = localpg::free_port();
    util::ProcessSpec spec;
    spec.argv = {"node", s3rver, "-d", root_->path + "/s3", "-a", "127.0.0.1", "-p", std::to_string(port_), "-s",
                 "--configure-bucket", "bk"};
    spec.parent_death_signal = SIGKILL;
    spec.output_file = root_->path + "/s3rver.log";
    s3_ = new util::Child(util::spawn(spec));
    ASSERT_TRUE(wait_until([] { return tcp_open(port_); }, util::Millis(30'000))) << "s3rver did not start";
    endpoint_ = fmt::format("http://127.0.0.1:{}", port_);
    // Standard AWS variables: read by the archive_command (the server inherits them), the
    // barman tools and pgshift alike.
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
    cluster_ = start_cluster("bkbarman", {{"archive_mode", "on"},
                                          {"archive_command", pg::quote_literal("barman-cloud-wal-archive --endpoint-url " + endpoint_ +
                                                                                " s3://bk/pg main %p")},
                                          {"wal_level", "replica"}})
                   .release();
    // Data checksums, as a production cluster has them: a damaged page then fails its checksum.
    cluster_->stop();
    run_as_server({localpg::postgres_bindir() + "/pg_checksums", "--enable", "--no-sync", "-D", cluster_->directory() + "/data"});
    cluster_->restart();
    pg::Connection c = connect(*cluster_);
    run_sql(c, R"(
      CREATE TYPE mood AS ENUM ('calm', 'busy');
      CREATE TABLE visits (id int PRIMARY KEY, m mood NOT NULL DEFAULT 'calm');
      INSERT INTO visits SELECT g, 'busy' FROM generate_series(1, 1500) g;
    )");
    create_untouched_table(c, "invoices", 3000);
    invoices_file_ = relation_path(c, "invoices");
    run_as_server({"barman-cloud-backup", "--endpoint-url", endpoint_, "-h", cluster_->directory(), "-p",
                   std::to_string(cluster_->port()), "-U", "postgres", "s3://bk/pg", "main"},
                  {}, util::Millis(300'000));
    run_sql(c, "INSERT INTO visits SELECT g, 'calm' FROM generate_series(1501, 1600) g");
    archive_now(c);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    if (s3_) {
      s3_->signal(SIGTERM);
      s3_->wait();
      delete s3_;
    }
    delete root_;
  }
  void SetUp() override {
    if (!cluster_) FAIL() << "the suite could not start s3rver or the cluster (see above)";
  }
  static inline ScratchDir* root_ = nullptr;
  static inline LocalCluster* cluster_ = nullptr;
  static inline util::Child* s3_ = nullptr;
  static inline int port_ = 0;
  static inline std::string endpoint_, invoices_file_;
};

TEST_F(BackupBarman, InventoryFromBackupList) {
  CliRun r = run_pgshift({"backups", "--db", cluster_->url(), "--from", "barman-cloud:s3://bk/pg/main", "--endpoint-url", endpoint_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json j = parse_report(r);
  const auto& s = j["sources"][0];
  EXPECT_EQ(s["kind"], "barman-cloud");
  ASSERT_EQ(s["backups"].size(), 1u);
  const auto& b = s["backups"][0];
  EXPECT_EQ(b["status"], "completed");
  EXPECT_EQ(b["phase"], "DONE");
  EXPECT_FALSE(b["start_time"].is_null()) << "barman 3.4's zoneless time is read";
  EXPECT_FALSE(b["stop_time"].is_null());
  EXPECT_EQ(b["timeline"], 1);
  EXPECT_EQ(s["window"]["basis"], "newest backup end (WAL coverage unknown)");
}

TEST_F(BackupBarman, DrillRestoresThroughBarmanCloud) {
  CliRun r = run_pgshift({"drill", "--db", cluster_->url(), "--from", "barman-cloud:s3://bk/pg/main", "--endpoint-url", endpoint_,
                          "--timeout", "3m", "--json"});
  nlohmann::json j = parse_report(r);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(j["marker"]["found"].get<bool>());
  EXPECT_TRUE(j["checks"]["schema"]["ok"].get<bool>());
  ASSERT_EQ(j["checks"]["tables"].size(), 2u);
  EXPECT_EQ(drilled_table(j, "public.visits")["restored"], 1600);
  // The restored pages were read and checked, every one against its checksum.
  const auto& g = j["checks"]["integrity"];
  EXPECT_TRUE(g["ran"].get<bool>()) << g.dump(2);
  EXPECT_EQ(g["data_checksums"], true);
  EXPECT_TRUE(g["problems"].empty()) << g.dump(2);
  for (const char* t : {"public.visits", "public.invoices"}) {
    EXPECT_EQ(drilled_table(j, t)["integrity"]["checked"], nlohmann::json({"heap", "btree", "heapallindexed"})) << t;
  }
  expect_torn_down(j);
}

// Last: it damages the suite's backup. 16 bytes inverted in a heap page of invoices inside the
// uploaded data.tar: schema, counts and marker cannot see it; the page's checksum and pg_amcheck do.
TEST_F(BackupBarman, DamagedPageInDataTarFailsTheDrillNamingTheTable) {
  std::string data_tar;
  for (const auto& e : fs::recursive_directory_iterator(root_->path + "/s3")) {
    if (e.path().filename().string() == "data.tar._S3rver_object") data_tar = e.path().string();
  }
  ASSERT_FALSE(data_tar.empty()) << "no data.tar object under " << root_->path << "/s3";
  damage_page_in_tar(data_tar, invoices_file_);
  CliRun r = run_pgshift({"drill", "--db", cluster_->url(), "--from", "barman-cloud:s3://bk/pg/main", "--endpoint-url", endpoint_,
                          "--timeout", "3m", "--json"});
  nlohmann::json j = parse_report(r);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_TRUE(j["marker"]["found"].get<bool>()) << "only the damaged page is wrong";
  EXPECT_TRUE(j["checks"]["schema"]["ok"].get<bool>());
  EXPECT_NE(j["reason"].get<std::string>().find("public.invoices"), std::string::npos) << j["reason"];
  nlohmann::json t = drilled_table(j, "public.invoices");
  ASSERT_FALSE(t.is_null()) << j.dump(2);
  EXPECT_FALSE(t["ok"].get<bool>());
  ASSERT_FALSE(t["integrity"]["corruption"].empty()) << t.dump(2);
  EXPECT_NE(t["integrity"]["corruption"][0].get<std::string>().find("invalid page in block 2"), std::string::npos) << t.dump(2);
  EXPECT_TRUE(drilled_table(j, "public.visits")["ok"].get<bool>());
  expect_torn_down(j);
}

TEST_F(BackupBarman, UnreachableStoreIsUnreadable) {
  CliRun r = run_pgshift({"backups", "--from", "barman-cloud:s3://bk/pg/main", "--endpoint-url",
                          fmt::format("http://127.0.0.1:{}", localpg::free_port()), "--json"},
                         {}, util::Millis(180'000));
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
}

}  // namespace
