// pgbackrest: sources with the real pgBackRest (posix repository): info and verify in the
// inventory (64-bit system-id read exactly), a drill through `pgbackrest restore`, and a flipped
// byte in the repository that `pgbackrest verify` reports while exiting 0.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include "backup_helpers.hpp"
#include "pg/quote.hpp"
#include "util/strict_yaml.hpp"

using namespace pgshift;
using namespace pgshift::testing;
namespace fs = std::filesystem;

namespace {

class BackupPgbackrest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new ScratchDir();
    config_ = root_->path + "/pgbackrest.conf";
    cluster_ = start_cluster("bkpgbr", {{"archive_mode", "on"},
                                        {"archive_command", pg::quote_literal("pgbackrest --config=" + config_ + " --stanza=main archive-push %p")},
                                        {"wal_level", "replica"}})
                   .release();
    run_as_server({"mkdir", "-p", root_->path + "/repo", root_->path + "/log", root_->path + "/lock"});
    std::string conf = fmt::format(
        "[global]\nrepo1-path={0}/repo\nrepo1-retention-full=9\nlog-path={0}/log\nlock-path={0}/lock\nstart-fast=y\n"
        "compress-type=none\narchive-async=n\n\n[main]\npg1-path={1}/data\npg1-port={2}\npg1-socket-path={1}\npg1-user=postgres\n",
        root_->path, cluster_->directory(), cluster_->port());
    {
      std::ofstream out(config_);
      out << conf;
    }
    pg::Connection c = connect(*cluster_);
    run_sql(c, R"(
      CREATE TABLE accounts (id int PRIMARY KEY, balance numeric NOT NULL);
      INSERT INTO accounts SELECT g, g * 10 FROM generate_series(1, 3000) g;
    )");
    run_as_server({"pgbackrest", "--config=" + config_, "--stanza=main", "stanza-create"});
    run_as_server({"pgbackrest", "--config=" + config_, "--stanza=main", "--type=full", "backup"});
    run_sql(c, "UPDATE accounts SET balance = balance + 1 WHERE id <= 100");
    archive_now(c);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete root_;
  }
  static inline ScratchDir* root_ = nullptr;
  static inline LocalCluster* cluster_ = nullptr;
  static inline std::string config_;
};

TEST_F(BackupPgbackrest, InventoryFromInfoAndVerify) {
  CliRun r = run_pgshift({"backups", "--db", cluster_->url(), "--from", "pgbackrest:main", "--pgbackrest-config", config_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json j = parse_report(r);
  const auto& s = j["sources"][0];
  EXPECT_EQ(s["verdict"], "healthy") << s.dump(2);
  ASSERT_EQ(s["backups"].size(), 1u);
  const auto& b = s["backups"][0];
  EXPECT_EQ(b["method"], "pgbackrest full");
  EXPECT_EQ(b["status"], "completed");
  EXPECT_EQ(b["timeline"], 1);
  EXPECT_FALSE(b["begin_lsn"].is_null());
  EXPECT_GT(b["size_bytes"].get<int64_t>(), 1'000'000);
  EXPECT_EQ(s["details"]["verify"], "ok");
  // The system identifier is a 64-bit integer: compared digit for digit with the server's.
  pg::Connection c = connect(*cluster_);
  std::string sysid = c.exec("SELECT system_identifier::text FROM pg_control_system()").scalar();
  EXPECT_EQ(s["details"]["system_id"].dump(), sysid);
  EXPECT_EQ(s["window"]["basis"], "archived WAL (the last archival)");
  EXPECT_EQ(s["last_wal"].get<std::string>().substr(0, 24), j["archiver"]["last_archived_wal"].get<std::string>().substr(0, 24));
}

TEST_F(BackupPgbackrest, DrillRestoresThroughPgbackrest) {
  CliRun r = run_pgshift({"drill", "--db", cluster_->url(), "--from", "pgbackrest:main", "--pgbackrest-config", config_,
                          "--timeout", "2m", "--json"});
  nlohmann::json j = parse_report(r);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(j["marker"]["found"].get<bool>());
  EXPECT_TRUE(j["checks"]["schema"]["ok"].get<bool>());
  ASSERT_EQ(j["checks"]["tables"].size(), 1u);
  EXPECT_EQ(j["checks"]["tables"][0]["restored"], 3000);
  EXPECT_EQ(j["backup"]["pg_major"], "15");
  expect_torn_down(j);
}

// A drill ended by SIGTERM or SIGKILL in the middle of `pgbackrest restore`: none of the restore's
// processes (its restore:local workers) is left 2 s later. The restore reads a copy of the
// repository in which one data file is a FIFO, so a worker blocks on it until we let it go.
TEST_F(BackupPgbackrest, DrillEndedMidRestoreLeavesNoRestoreProcess) {
  for (int sig : {SIGTERM, SIGKILL}) {
    SCOPED_TRACE(sig == SIGTERM ? "SIGTERM" : "SIGKILL");
    ScratchDir copy;
    run_as_server({"cp", "-a", root_->path + "/repo", copy.path + "/repo"});
    std::string conf = util::read_text_file(config_, "config");
    for (size_t at; (at = conf.find(root_->path + "/repo")) != std::string::npos;) conf.replace(at, root_->path.size() + 5, copy.path + "/repo");
    std::string copy_config = copy.path + "/pgbackrest.conf";
    {
      std::ofstream out(copy_config);
      out << conf;
    }
    std::string fifo;
    for (const auto& e : fs::recursive_directory_iterator(copy.path + "/repo/backup")) {
      if (e.is_regular_file() && e.path().string().find("/pg_data/base/") != std::string::npos && e.file_size() >= 8192) {
        fifo = e.path().string();
        break;
      }
    }
    ASSERT_FALSE(fifo.empty());
    fs::remove(fifo);
    ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
    std::string out_file = copy.path + "/drill.out";
    util::ProcessSpec spec;
    spec.argv = {PGSHIFT_BINARY, "drill", "--db", cluster_->url(), "--from", "pgbackrest:main", "--pgbackrest-config", copy_config,
                 "--timeout", "2m"};
    spec.output_file = out_file;
    util::Child drill = util::spawn(spec);
    auto restore_processes = [&] {
      std::vector<std::string> found;
      for (const auto& p : processes_mentioning(copy_config)) {
        if (p.rfind(std::to_string(drill.pid()) + ":", 0) != 0) found.push_back(p);  // all but the drill itself
      }
      return found;
    };
    EXPECT_TRUE(wait_until(
        [&] {
          for (const auto& p : restore_processes()) {
            if (p.find("restore:local") != std::string::npos) return true;
          }
          return false;
        },
        util::Millis(60'000)))
        << util::read_text_file(out_file, "drill output");
    drill.signal(sig);
    EXPECT_TRUE(drill.wait_for(util::Millis(60'000)).has_value());
    EXPECT_TRUE(wait_until([&] { return restore_processes().empty(); }, util::Millis(2000)))
        << "left 2 s after the drill ended: " << restore_processes().front();
    int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);  // lets a worker still blocked on the FIFO go
    if (fd >= 0) close(fd);
  }
}

// Both manifest files of the backup gone: `pgbackrest verify` says so only at DETAIL and exits 0,
// and `pgbackrest restore` fails (error 055). Never healthy; the drill refuses it by name.
TEST_F(BackupPgbackrest, BackupWithoutItsManifestIsNeverHealthy) {
  std::string label;
  for (const auto& e : fs::directory_iterator(root_->path + "/repo/backup/main")) {
    std::string name = e.path().filename().string();
    if (e.is_directory() && name.size() > 1 && name.back() == 'F') label = name;
  }
  ASSERT_FALSE(label.empty());
  std::string dir = root_->path + "/repo/backup/main/" + label, aside = root_->path + "/aside";
  run_as_server({"mkdir", "-p", aside});
  run_as_server({"mv", dir + "/backup.manifest", dir + "/backup.manifest.copy", aside});
  util::RunResult raw = run_as_server({"pgbackrest", "--config=" + config_, "--stanza=main", "verify"});
  EXPECT_EQ(raw.exit_code, 0) << "pgBackRest 2.45 exits 0 on a backup without its manifest";

  CliRun r = run_pgshift({"backups", "--db", cluster_->url(), "--from", "pgbackrest:main", "--pgbackrest-config", config_, "--json"});
  CliRun drill = run_pgshift({"drill", "--db", cluster_->url(), "--from", "pgbackrest:main", "--pgbackrest-config", config_,
                              "--backup", label, "--timeout", "2m", "--json"});
  CliRun latest = run_pgshift({"drill", "--db", cluster_->url(), "--from", "pgbackrest:main", "--pgbackrest-config", config_,
                               "--timeout", "2m", "--json"});
  run_as_server({"mv", aside + "/backup.manifest", aside + "/backup.manifest.copy", dir});

  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json j = parse_report(r);
  const auto& s = j["sources"][0];
  EXPECT_EQ(s["verdict"], "problem") << s.dump(2);
  EXPECT_EQ(s["backups"][0]["status"], "invalid");
  EXPECT_NE(s["backups"][0]["error"].get<std::string>().find("backup.manifest"), std::string::npos) << s.dump(2);
  bool named = false;
  for (const auto& p : s["problems"]) named = named || p.get<std::string>().find("backup " + label) != std::string::npos;
  EXPECT_TRUE(named) << s.dump(2);

  EXPECT_EQ(drill.exit_code, 1) << drill.out << drill.err;
  EXPECT_NE(parse_report(drill)["reason"].get<std::string>().find("backup.manifest"), std::string::npos) << drill.out;
  EXPECT_EQ(latest.exit_code, 1) << latest.out << latest.err;
  EXPECT_NE(parse_report(latest)["reason"].get<std::string>().find("no usable backup"), std::string::npos) << latest.out;
}

// Last: it damages the repository.
TEST_F(BackupPgbackrest, FlippedByteReportedThoughVerifyExitsZero) {
  std::string victim;
  for (const auto& e : fs::recursive_directory_iterator(root_->path + "/repo/backup")) {
    if (e.is_regular_file() && e.path().string().find("/pg_data/base/") != std::string::npos && e.file_size() >= 8192) {
      victim = e.path().string();
      break;
    }
  }
  ASSERT_FALSE(victim.empty());
  flip_byte(victim);
  util::RunResult raw = run_as_server({"pgbackrest", "--config=" + config_, "--stanza=main", "verify"});
  EXPECT_EQ(raw.exit_code, 0) << "pgBackRest 2.45 exits 0 on a damaged backup (pgbackrest #2502)";
  CliRun r = run_pgshift({"backups", "--db", cluster_->url(), "--from", "pgbackrest:main", "--pgbackrest-config", config_, "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json j = parse_report(r);
  const auto& s = j["sources"][0];
  EXPECT_EQ(s["verdict"], "problem");
  EXPECT_EQ(s["backups"][0]["status"], "invalid");
  bool named = false;
  for (const auto& p : s["problems"]) named = named || p.get<std::string>().find("invalid") != std::string::npos;
  EXPECT_TRUE(named) << s.dump(2);
}

TEST_F(BackupPgbackrest, UnknownStanzaIsUnreadable) {
  CliRun r = run_pgshift({"backups", "--from", "pgbackrest:nosuch", "--pgbackrest-config", config_, "--json"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(parse_report(r)["sources"][0]["verdict"], "unreadable");
}

}  // namespace
