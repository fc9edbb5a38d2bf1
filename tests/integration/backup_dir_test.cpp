// `pgshift backups` and `pgshift drill` on dir: sources: real pg_basebackup backups (plain and
// tar) and an archive_command that copies WAL into a directory. Faults: a flipped byte in a
// backup file, a backup older than a schema change (stale archive), a drill interrupted with
// SIGTERM, an unreachable live server, a failing archive_command, a WAL segment removed.
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/stat.h>

#include "backup_helpers.hpp"
#include "backup/inventory.hpp"

using namespace pgshift;
using namespace pgshift::testing;
namespace fs = std::filesystem;

namespace {

class BackupDir : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    site_ = new DirBackupSite("bkdir");
    cluster_ = site_->cluster.get();
    archive_ = site_->archive;
    backups_ = site_->backups;
    pg::Connection c = connect(*cluster_);
    run_sql(c, R"(
      CREATE TABLE items (id int PRIMARY KEY, name text);
      INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 2000) g;
      CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz DEFAULT now());
      INSERT INTO events (at) SELECT now() FROM generate_series(1, 500);
      CREATE UNLOGGED TABLE scratch (x int);
    )");
    basebackup(*cluster_, backups_ + "/b1");
    run_sql(c, "INSERT INTO items SELECT g, 'late ' || g FROM generate_series(2001, 2100) g");
    archive_now(c);
  }
  static void TearDownTestSuite() {
    delete site_;
  }
  std::vector<std::string> drill_args(const std::string& from, const std::string& wal_archive) {
    return {"drill", "--db", cluster_->url(), "--from", from, "--wal-archive", wal_archive, "--timeout", "2m", "--json"};
  }

  static inline DirBackupSite* site_ = nullptr;
  static inline LocalCluster* cluster_ = nullptr;
  static inline std::string archive_, backups_;
};

TEST_F(BackupDir, BackupsReportsAHealthyInventory) {
  CliRun r = run_pgshift({"backups", "--db", cluster_->url(), "--from", "dir:" + backups_, "--wal-archive", archive_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json j = parse_report(r);
  EXPECT_EQ(j["verdict"], "healthy");
  EXPECT_GT(j["archiver"]["archived_count"].get<int64_t>(), 0);
  EXPECT_EQ(j["archiver"]["failed_count"], 0);
  ASSERT_EQ(j["sources"].size(), 1u);
  const auto& s = j["sources"][0];
  ASSERT_EQ(s["backups"].size(), 1u);
  const auto& b = s["backups"][0];
  EXPECT_EQ(b["id"], "b1");
  EXPECT_EQ(b["status"], "completed");
  EXPECT_EQ(b["phase"], "verified");
  EXPECT_EQ(b["method"], "pg_basebackup plain");
  EXPECT_EQ(b["timeline"], 1);
  EXPECT_EQ(b["begin_wal"].get<std::string>().size(), 24u);
  EXPECT_FALSE(b["start_time"].is_null());
  EXPECT_GT(b["size_bytes"].get<int64_t>(), 1'000'000);
  EXPECT_EQ(s["window"]["basis"], "archived WAL (the last archival)");
  EXPECT_FALSE(s["window"]["first"].is_null());
  expect_no_password(r.all());

  CliRun text = run_pgshift({"backups", "--db", cluster_->url(), "--from", "dir:" + backups_, "--wal-archive", archive_});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("verdict: healthy"), std::string::npos) << text.out;
}

TEST_F(BackupDir, InventoryReportForTheConsole) {
  backup::InventoryOptions o;
  o.db = cluster_->conninfo();
  o.sources = {"dir:" + backups_};
  o.wal_archive = archive_;
  nlohmann::json r = backup::inventory_report(o);
  EXPECT_EQ(r["id"], "backups");
  EXPECT_EQ(r["facts"][0]["value"], "healthy");
  bool saw = false;
  for (const auto& s : r["sections"]) {
    if (s["id"] == "backups") {
      ASSERT_EQ(s["rows"].size(), 1u);
      EXPECT_EQ(s["rows"][0][1], "b1");
      saw = true;
    }
  }
  EXPECT_TRUE(saw) << r.dump(2);
  EXPECT_TRUE(r["findings"].empty()) << r.dump(2);
}

TEST_F(BackupDir, DrillRestoresAndProvesTheBackup) {
  CliRun r = run_pgshift(drill_args("dir:" + backups_, archive_));
  nlohmann::json j = parse_report(r);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(j["passed"].get<bool>());
  EXPECT_TRUE(j["reason"].is_null());
  EXPECT_EQ(j["backup"]["id"], "b1");
  EXPECT_EQ(j["backup"]["source"], "dir:" + backups_);
  EXPECT_TRUE(j["marker"]["found"].get<bool>());
  EXPECT_EQ(j["marker"]["nonce"].get<std::string>().size(), 24u);
  EXPECT_TRUE(j["checks"]["schema"]["ok"].get<bool>());
  EXPECT_EQ(j["checks"]["schema"]["live_fingerprint"], j["checks"]["schema"]["restored_fingerprint"]);
  bool saw_items = false;
  for (const auto& t : j["checks"]["tables"]) {
    if (t["name"] == "public.items") {
      saw_items = true;
      EXPECT_EQ(t["restored"], 2100) << "rows written after the backup came back through WAL replay";
      EXPECT_EQ(t["live"], 2100);
    }
    EXPECT_TRUE(t["ok"].get<bool>()) << t.dump();
  }
  EXPECT_TRUE(saw_items);
  EXPECT_EQ(j["checks"]["skipped_tables"].size(), 1u) << "the unlogged table is not counted";
  // pg_amcheck checked the restored pages of every table, and says how.
  EXPECT_TRUE(j["checks"]["integrity"]["ran"].get<bool>()) << j["checks"]["integrity"].dump(2);
  EXPECT_TRUE(j["checks"]["integrity"]["problems"].empty()) << j["checks"]["integrity"].dump(2);
  for (const char* t : {"public.items", "public.events"}) {
    EXPECT_EQ(drilled_table(j, t)["integrity"]["checked"], nlohmann::json({"heap", "btree", "heapallindexed"})) << t;
  }
  EXPECT_NE(r.err.find("drill: checking"), std::string::npos);
  // Without a heapallindexed budget, and under TMPDIR.
  ScratchDir tmpdir;
  CliRun budgetless = run_pgshift({"drill", "--db", cluster_->url(), "--from", "dir:" + backups_, "--wal-archive", archive_,
                                   "--heapallindexed-budget", "0", "--timeout", "2m"},
                                  {{"TMPDIR", tmpdir.path}});
  EXPECT_EQ(budgetless.exit_code, 0) << budgetless.out << budgetless.err;
  EXPECT_NE(budgetless.out.find("heap, btree (heapallindexed: over the 0"), std::string::npos) << budgetless.out;
  EXPECT_NE(budgetless.err.find(", " + tmpdir.path + "/pgshift-drill-"), std::string::npos) << "TMPDIR honoured: " << budgetless.err;
  for (const char* k : {"restore", "recovery", "checks", "total"}) EXPECT_GE(j["timings"][k].get<double>(), 0.0) << k;
  EXPECT_GE(j["timings"]["total"].get<double>(), j["timings"]["restore"].get<double>());
  ASSERT_FALSE(j["rpo_s"].is_null());
  EXPECT_LT(j["rpo_s"].get<double>(), 60.0);
  ASSERT_FALSE(j["rto_s"].is_null()) << "an explicit RTO: restore + recovery";
  EXPECT_NEAR(j["rto_s"].get<double>(), j["timings"]["restore"].get<double>() + j["timings"]["recovery"].get<double>(), 0.01);
  EXPECT_TRUE(j["failed_phase"].is_null());
  expect_torn_down(j);
  expect_no_password(r.all());
  // The marker is on live, in pgshift's own schema.
  pg::Connection c = connect(*cluster_);
  EXPECT_EQ(c.exec("SELECT count(*) FROM pgshift.drill_marker WHERE nonce = $1", {j["marker"]["nonce"].get<std::string>()})
                .scalar_int64(), 1);
}

TEST_F(BackupDir, TarBackupRestoresToo) {
  ScratchDir tars;
  basebackup(*cluster_, tars.path + "/t1", "tar");
  CliRun inv = run_pgshift({"backups", "--db", cluster_->url(), "--from", "dir:" + tars.path, "--wal-archive", archive_, "--json"});
  nlohmann::json ij = parse_report(inv);
  ASSERT_EQ(inv.exit_code, 0) << inv.out << inv.err;
  EXPECT_EQ(ij["sources"][0]["backups"][0]["method"], "pg_basebackup tar");
  EXPECT_EQ(ij["sources"][0]["backups"][0]["phase"], "verified");
  CliRun r = run_pgshift(drill_args("dir:" + tars.path, archive_));
  nlohmann::json j = parse_report(r);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  expect_torn_down(j);
}

// 16 bytes inverted in a heap page inside a pg_basebackup tar taken without a manifest (nothing
// but the data can tell): schema, counts and marker pass; pg_amcheck on the restore names the table.
TEST_F(BackupDir, DamagedPageInATarBackupFailsTheDrillNamingTheTable) {
  pg::Connection c = connect(*cluster_);
  create_untouched_table(c, "receipts", 3000);
  std::string rel = relation_path(c, "receipts");
  ScratchDir tars;
  basebackup(*cluster_, tars.path + "/t1", "tar", {"--no-manifest"});
  damage_page_in_tar(tars.path + "/t1/base.tar", rel);
  CliRun r = run_pgshift(drill_args("dir:" + tars.path, archive_));
  nlohmann::json j = parse_report(r);
  run_sql(c, "DROP TABLE receipts");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(j["marker"]["found"].get<bool>()) << "only the damaged page is wrong";
  EXPECT_TRUE(j["checks"]["schema"]["ok"].get<bool>());
  EXPECT_EQ(j["checks"]["integrity"]["data_checksums"], false);
  EXPECT_NE(j["reason"].get<std::string>().find("public.receipts"), std::string::npos) << j["reason"];
  nlohmann::json t = drilled_table(j, "public.receipts");
  ASSERT_FALSE(t.is_null()) << j.dump(2);
  EXPECT_FALSE(t["ok"].get<bool>());
  EXPECT_FALSE(t["integrity"]["corruption"].empty()) << t.dump(2);
  EXPECT_TRUE(drilled_table(j, "public.items")["ok"].get<bool>());
  expect_torn_down(j);
}

TEST_F(BackupDir, FlippedByteInABackupFileFailsVerifyAndDrill) {
  ScratchDir bad;
  run_as_server({"cp", "-a", backups_ + "/b1", bad.path + "/b1"});
  std::string victim;
  for (const auto& e : fs::recursive_directory_iterator(bad.path + "/b1/base")) {
    if (e.is_regular_file() && e.file_size() >= 8192) {
      victim = e.path().string();
      break;
    }
  }
  ASSERT_FALSE(victim.empty());
  flip_byte(victim);
  CliRun inv = run_pgshift({"backups", "--db", cluster_->url(), "--from", "dir:" + bad.path, "--wal-archive", archive_, "--json"});
  EXPECT_EQ(inv.exit_code, 1) << inv.out << inv.err;
  nlohmann::json ij = parse_report(inv);
  EXPECT_EQ(ij["sources"][0]["backups"][0]["status"], "invalid");
  EXPECT_NE(ij["sources"][0]["backups"][0]["error"].get<std::string>().find("checksum mismatch"), std::string::npos) << inv.out;

  ScratchDir notified;
  std::string note_file = notified.path + "/report.json";
  std::vector<std::string> args = drill_args("dir:" + bad.path, archive_);
  args.insert(args.end(), {"--notify-command", "cat > " + note_file});
  CliRun r = run_pgshift(args);
  nlohmann::json j = parse_report(r);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_NE(j["reason"].get<std::string>().find("pg_verifybackup"), std::string::npos) << j["reason"];
  EXPECT_EQ(j["failed_phase"], "restore");
  EXPECT_GT(j["timings"]["restore"].get<double>(), 0.0) << "the failed phase shows how long it ran";
  EXPECT_TRUE(j["rto_s"].is_null());
  expect_torn_down(j);
  std::ifstream in(note_file);
  ASSERT_TRUE(in) << "--notify-command ran with the report on stdin";
  nlohmann::json note = nlohmann::json::parse(in);
  EXPECT_FALSE(note["passed"].get<bool>());
  EXPECT_EQ(note["reason"], j["reason"]);
}

// A scheduled drill whose backup is gone (expired, mistyped): a failed drill, with its JSON report
// and the notification, naming the backups there are.
TEST_F(BackupDir, MissingBackupIdIsAReportedFailure) {
  ScratchDir notified;
  std::string note_file = notified.path + "/report.json";
  std::vector<std::string> args = drill_args("dir:" + backups_, archive_);
  args.insert(args.end(), {"--backup", "nosuch", "--notify-command", "cat > " + note_file});
  CliRun r = run_pgshift(args);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json j = parse_report(r);
  EXPECT_FALSE(j["passed"].get<bool>());
  std::string reason = j["reason"];
  EXPECT_NE(reason.find("--backup nosuch: no such backup"), std::string::npos) << reason;
  EXPECT_NE(reason.find("b1"), std::string::npos) << reason;
  EXPECT_FALSE(j["marker"]["written"].get<bool>()) << "nothing is written on live for a backup that is not there";
  std::ifstream in(note_file);
  ASSERT_TRUE(in) << "--notify-command ran";
  EXPECT_EQ(nlohmann::json::parse(in)["reason"], reason);
}

TEST_F(BackupDir, BackupOlderThanASchemaChangeNamesTheTable) {
  // The drill's archive stops before the change: the restore holds the schema of the backup.
  ScratchDir stale;
  run_as_server({"cp", "-a", archive_, stale.path + "/archive"});
  pg::Connection c = connect(*cluster_);
  run_sql(c, "CREATE TABLE invoices (id int PRIMARY KEY, total numeric)");
  std::vector<std::string> args = drill_args("dir:" + backups_, stale.path + "/archive");
  args.push_back("--keep-on-failure");
  CliRun r = run_pgshift(args);
  nlohmann::json j = parse_report(r);
  run_sql(c, "DROP TABLE invoices");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_FALSE(j["checks"]["schema"]["ok"].get<bool>());
  EXPECT_NE(j["reason"].get<std::string>().find("public.invoices"), std::string::npos) << j["reason"];
  EXPECT_FALSE(j["marker"]["found"].get<bool>());
  std::string kept = j.value("kept_dir", "");
  ASSERT_FALSE(kept.empty()) << "--keep-on-failure keeps the restore";
  EXPECT_TRUE(fs::exists(kept + "/data/PG_VERSION"));
  EXPECT_TRUE(fs::exists(kept + "/start.sh"));
  EXPECT_NE(j.value("connect_hint", "").find("psql \"host=" + kept), std::string::npos) << j.value("connect_hint", "");
  EXPECT_TRUE(processes_mentioning(kept).empty()) << "the kept server is stopped";
  // The hint works: start.sh starts the restored server, which answers on its socket.
  util::ProcessSpec start = backup::tool_spec({kept + "/start.sh"}, true);
  start.parent_death_signal = SIGQUIT;
  start.output_file = "/dev/null";
  util::Child server = util::spawn(start);
  int port = j["server"]["port"];
  std::string conninfo = fmt::format("host={} port={} dbname=postgres user=postgres", kept, port);
  EXPECT_TRUE(wait_until([&] { return PQping(conninfo.c_str()) == PQPING_OK; }, util::Millis(30'000)));
  pg::Connection kept_conn = pg::Connection::open(pg::ConnInfo::parse(conninfo, "kept"));
  EXPECT_EQ(kept_conn.exec("SELECT count(*) FROM items").scalar_int64(), 2100);
  server.signal(SIGINT);
  server.wait();
  localpg::remove_tree(kept);
}

// A drill stuck in recovery: a FIFO in place of the next segment makes restore_command block.
struct StuckDrill {
  ScratchDir slow;
  std::string fifo, out_file, dir;
  util::Child child;

  StuckDrill(const LocalCluster& cluster, const std::string& backups, const std::string& archive) {
    std::string arch = slow.path + "/archive";
    run_as_server({"cp", "-a", archive, arch});
    std::string newest;
    for (const auto& e : fs::directory_iterator(arch)) {
      std::string n = e.path().filename().string();
      if (n.size() == 24 && n > newest) newest = n;
    }
    std::string next = newest.substr(0, 16) + fmt::format("{:08X}", std::stoul(newest.substr(16), nullptr, 16) + 1);
    fifo = arch + "/" + next;
    EXPECT_EQ(mkfifo(fifo.c_str(), 0644), 0);
    out_file = slow.path + "/drill.out";
    util::ProcessSpec spec;
    spec.argv = {PGSHIFT_BINARY, "drill", "--db", cluster.url(), "--from", "dir:" + backups, "--wal-archive", arch, "--timeout", "2m"};
    spec.output_file = out_file;
    child = util::spawn(spec);
    EXPECT_TRUE(wait_until([&] { return output().find("drill: recovering") != std::string::npos; }, util::Millis(40000))) << output();
    std::string text = output();
    size_t at = text.find("/tmp/pgshift-drill-");
    if (at != std::string::npos) dir = text.substr(at, text.find(')', at) - at);
    EXPECT_FALSE(dir.empty()) << text;
    EXPECT_TRUE(wait_until([&] { return !processes_mentioning(dir + "/data").empty(); }, util::Millis(30'000)));
  }
  ~StuckDrill() {
    // Lets a cp still blocked on the FIFO (orphaned by a drill killed with -9) finish.
    int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) close(fd);
  }
  std::string output() const {
    std::ifstream in(out_file);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

TEST_F(BackupDir, SigtermDuringRecoveryTearsDown) {
  StuckDrill drill(*cluster_, backups_, archive_);
  ASSERT_FALSE(drill.dir.empty());
  drill.child.signal(SIGTERM);
  auto code = drill.child.wait_for(util::Millis(60'000));
  ASSERT_TRUE(code.has_value()) << "the drill exits after SIGTERM";
  EXPECT_EQ(*code, 1) << drill.output();
  EXPECT_NE(drill.output().find("interrupted"), std::string::npos) << drill.output();
  EXPECT_FALSE(fs::exists(drill.dir)) << drill.dir;
  EXPECT_TRUE(processes_mentioning(drill.dir).empty()) << processes_mentioning(drill.dir).front();
}

TEST_F(BackupDir, KilledDrillsDirectoryIsRemovedByTheNextDrill) {
  std::string dir;
  {
    StuckDrill drill(*cluster_, backups_, archive_);
    ASSERT_FALSE(drill.dir.empty());
    dir = drill.dir;
    drill.child.signal(SIGKILL);
    drill.child.wait();
    EXPECT_TRUE(wait_until([&] { return processes_mentioning(dir + "/data -c").empty(); }, util::Millis(30'000)))
        << "the server dies with the drill (parent-death signal)";
    // A drill killed with -9 cannot clean up. Any pgshift process starting a local server sweeps
    // such directories (localpg::make_private_dir), so a test running in parallel may already
    // have: put it back, so that what follows checks the next drill's own sweep every time.
    if (!fs::exists(dir)) fs::create_directories(dir + "/data");
  }
  // What another user's dead drill left is theirs: a drill as root does not remove it.
  std::string theirs;
  if (geteuid() == 0) {
    util::ProcessSpec t;
    t.argv = {"true"};
    util::Child gone = util::spawn(t);
    gone.wait();
    theirs = fmt::format("/tmp/pgshift-drill-{}-Zz9Yy8", gone.pid());
    fs::create_directories(theirs);
    EXPECT_EQ(chown(theirs.c_str(), 65534, 65534), 0);
  }
  CliRun r = run_pgshift(drill_args("dir:" + backups_, archive_));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(fs::exists(dir)) << "the next drill sweeps " << dir;
  expect_torn_down(parse_report(r));
  if (!theirs.empty()) {
    EXPECT_TRUE(fs::exists(theirs)) << "another user's directory was removed";
    fs::remove_all(theirs);
  }
}

TEST_F(BackupDir, UnreachableLiveCannotRun) {
  int port = localpg::free_port();
  CliRun r = run_pgshift({"drill", "--db", fmt::format("postgresql://postgres:{}@127.0.0.1:{}/postgres", localpg::kLocalPassword, port),
                          "--from", "dir:" + backups_, "--wal-archive", archive_, "--json"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  nlohmann::json j = parse_report(r);
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_TRUE(j["could_not_run"].get<bool>());
  EXPECT_NE(j["reason"].get<std::string>().find(std::to_string(port)), std::string::npos) << j["reason"];
  expect_no_password(r.all());
}

TEST_F(BackupDir, FailingArchiveCommandIsAProblem) {
  auto failing = start_cluster("bkfail", {{"archive_mode", "on"}, {"archive_command", "'/bin/false'"}, {"wal_level", "replica"}});
  pg::Connection c = connect(*failing);
  c.exec("CREATE TABLE t AS SELECT 1 AS x");
  c.exec("SELECT pg_switch_wal()");
  ASSERT_TRUE(wait_until([&] { return c.exec("SELECT failed_count FROM pg_stat_archiver").scalar_int64() > 0; },
                         util::Millis(60'000)));
  CliRun r = run_pgshift({"backups", "--db", failing->url(), "--from", "dir:" + backups_, "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json j = parse_report(r);
  EXPECT_GT(j["archiver"]["failed_count"].get<int64_t>(), 0);
  EXPECT_EQ(j["archiver"]["verdict"], "problem");
  EXPECT_NE(j["archiver"]["problems"][0].get<std::string>().find("archive_command is failing"), std::string::npos);

  // A drill on it sees the archiver failing and stops within a minute, not at its --timeout.
  CliRun d = run_pgshift({"drill", "--db", failing->url(), "--from", "dir:" + backups_, "--wal-archive", archive_, "--timeout", "30m",
                          "--json"},
                         {}, util::Millis(120'000));
  EXPECT_EQ(d.exit_code, 1) << d.out << d.err;
  nlohmann::json dj = parse_report(d);
  EXPECT_TRUE(dj["marker"]["written"].get<bool>());
  EXPECT_NE(dj["reason"].get<std::string>().find("archive_command is failing on live"), std::string::npos) << dj["reason"];
}

// Last: it removes a segment from the suite's archive.
TEST_F(BackupDir, WalSegmentRemovedFromTheArchive) {
  pg::Connection c = connect(*cluster_);
  run_sql(c, "INSERT INTO items SELECT g, 'more ' || g FROM generate_series(3001, 3100) g");
  archive_now(c);
  archive_now(c);
  nlohmann::json before = parse_report(run_pgshift({"backups", "--from", "dir:" + backups_, "--wal-archive", archive_, "--json"}));
  std::string begin = before["sources"][0]["backups"][0]["begin_wal"];
  std::string victim = begin.substr(0, 16) + fmt::format("{:08X}", std::stoul(begin.substr(16), nullptr, 16) + 1);
  ASSERT_TRUE(fs::exists(archive_ + "/" + victim)) << victim;
  fs::remove(archive_ + "/" + victim);

  CliRun inv = run_pgshift({"backups", "--db", cluster_->url(), "--from", "dir:" + backups_, "--wal-archive", archive_, "--json"});
  EXPECT_EQ(inv.exit_code, 1) << inv.out;
  nlohmann::json ij = parse_report(inv);
  bool named = false;
  for (const auto& p : ij["sources"][0]["problems"]) named = named || p.get<std::string>().find("WAL gap: segment " + victim) != std::string::npos;
  EXPECT_TRUE(named) << inv.out;

  CliRun r = run_pgshift(drill_args("dir:" + backups_, archive_));
  nlohmann::json j = parse_report(r);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_FALSE(j["marker"]["found"].get<bool>());
  EXPECT_NE(j["reason"].get<std::string>().find("not restored"), std::string::npos) << j["reason"];
  expect_torn_down(j);
}

}  // namespace
