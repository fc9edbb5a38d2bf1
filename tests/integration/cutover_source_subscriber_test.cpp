// Issue 22 item 5: a source whose sync role may not CREATE SUBSCRIPTION (an owner with
// REPLICATION, no superuser, as on a managed provider) gets its replication back through a
// separate role given with --source-subscriber, without re-syncing. check names the role that
// can; cutover without it is refused before anything changes, with the same advice; rollback and
// finalize refuse to run without the role the cutover used (only it may alter or drop the
// subscription back) and work with it.
#include <signal.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pg/error.hpp"
#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using nlohmann::json;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE items (id bigint PRIMARY KEY, label text NOT NULL);
)sql";

class SourceSubscriberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = start_cluster("subr-src");
    target_ = start_cluster("subr-tgt");
    pg::Connection admin = connect(*source_, "postgres");
    run_sql(admin, fmt::format("CREATE ROLE app_owner LOGIN REPLICATION PASSWORD '{0}';"
                               "CREATE ROLE app_subscriber LOGIN SUPERUSER PASSWORD '{0}'",
                               localpg::kLocalPassword));
    admin.exec("CREATE DATABASE app OWNER app_owner");
    {
      pg::Connection owner = pg::Connection::open(pg::ConnInfo::parse(source_->url("app", "app_owner"), "test"));
      run_sql(owner, kSchema);
      owner.exec("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 200) g");
    }
    target_->create_database("app");
    pg::Connection t = connect(*target_, "app");
    run_sql(t, kSchema);
    bouncer_ = LocalPgBouncer::start(*source_, {"app"});
    CliRun start = run_pgshift({"sync", "start", "--source", owner_url(), "--target", target_->url("app")});
    ASSERT_EQ(start.exit_code, 0) << start.all();
    ASSERT_TRUE(wait_until(
        [&] {
          return t.exec("SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'").scalar_int64() == 0 &&
                 count_rows(t, "items") == 200;
        },
        util::Millis(60'000)));
  }

  std::string owner_url() const { return source_->url("app", "app_owner"); }
  std::string subscriber_url() const { return source_->url("app", "app_subscriber"); }

  CliRun run(const std::string& command, std::vector<std::string> extra) {
    std::vector<std::string> args{command, "--source", owner_url(), "--target", target_->url("app"), "--json"};
    if (command != "finalize") {
      args.insert(args.end(), {"--pooler-admin", bouncer_->admin_url(), "--pooler-db", "app", "--pooler-config",
                               bouncer_->config_path()});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return run_pgshift(args);
  }

  std::string phase() {
    pg::Connection t = connect(*target_, "app");
    return t.exec("SELECT phase FROM pgshift.migration ORDER BY id DESC LIMIT 1").scalar();
  }

  int64_t on_source(const std::string& sql) {
    pg::Connection s = connect(*source_, "app");
    return s.exec(sql).scalar_int64();
  }

  static const json* hazard(const json& report, const std::string& code) {
    for (const auto& h : report["hazards"]) {
      if (h["code"] == code) return &h;
    }
    return nullptr;
  }

  std::unique_ptr<LocalCluster> source_, target_;
  std::unique_ptr<LocalPgBouncer> bouncer_;
};

TEST_F(SourceSubscriberTest, CheckNamesWhoCanAndCutoverWithoutThatRoleChangesNothing) {
  CliRun check = run_pgshift({"check", "--source", owner_url(), "--target", target_->url("app"), "--json"});
  json r = json::parse(check.out, nullptr, false);
  ASSERT_FALSE(r.is_discarded()) << check.all();
  const json* h = hazard(r, "source-role-subscription");
  ASSERT_NE(h, nullptr) << check.out;
  EXPECT_EQ((*h)["severity"], "warning");
  EXPECT_NE((*h)["fix"].get<std::string>().find("--source-subscriber"), std::string::npos) << *h;

  CliRun with = run_pgshift({"check", "--source", owner_url(), "--target", target_->url("app"), "--json",
                             "--source-subscriber", subscriber_url()});
  json w = json::parse(with.out, nullptr, false);
  ASSERT_FALSE(w.is_discarded()) << with.all();
  EXPECT_EQ(hazard(w, "source-role-subscription"), nullptr) << with.out;
  const json* ok = hazard(w, "source-subscriber");
  ASSERT_NE(ok, nullptr) << with.out;
  EXPECT_NE((*ok)["message"].get<std::string>().find("app_subscriber"), std::string::npos) << *ok;

  CliRun elsewhere = run_pgshift({"check", "--source", owner_url(), "--target", target_->url("app"), "--json",
                                  "--source-subscriber", target_->url("app")});
  json e = json::parse(elsewhere.out, nullptr, false);
  ASSERT_FALSE(e.is_discarded()) << elsewhere.all();
  EXPECT_NE(hazard(e, "source-subscriber-elsewhere"), nullptr) << elsewhere.out;

  // auto would replicate back through pgshift's apply (cutover_apply_back_test); native insists.
  CliRun cut = run("cutover", {"--replicate-back", "native"});
  EXPECT_EQ(cut.exit_code, 1) << cut.all();
  json j = json::parse(cut.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << cut.all();
  EXPECT_EQ(j["failed_step"], "preconditions");
  EXPECT_NE(j["error"].get<std::string>().find("cannot create the subscription back"), std::string::npos) << j;
  EXPECT_NE(j["error"].get<std::string>().find("--source-subscriber"), std::string::npos) << j;
  EXPECT_EQ(phase(), "syncing");
  EXPECT_EQ(on_source("SELECT count(*) FROM pg_subscription"), 0);
  EXPECT_EQ(on_source("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgshift_fence%'"), 0);
}

TEST_F(SourceSubscriberTest, ReplicationBackRunsAsTheSubscriberRoleThroughRollbackAndFinalize) {
  const std::vector<std::string> sub{"--source-subscriber", subscriber_url()};
  CliRun cut = run("cutover", sub);
  ASSERT_EQ(cut.exit_code, 0) << cut.all();
  expect_no_password(cut.all());
  EXPECT_EQ(phase(), "cut_over");
  pg::Connection s = connect(*source_, "app");
  EXPECT_EQ(s.exec("SELECT subowner::regrole::text FROM pg_subscription").scalar(), "app_subscriber");

  // Writes on the new writer flow back to the source.
  pg::Connection t = connect(*target_, "app");
  t.exec("INSERT INTO items VALUES (1001, 'written after the cutover')");
  EXPECT_TRUE(wait_until([&] { return on_source("SELECT count(*) FROM items WHERE id = 1001") == 1; },
                         util::Millis(20'000)))
      << "the replication back did not carry a write";

  // Only the subscription's owner may disable and drop it: rollback refuses without it.
  CliRun refused = run("rollback", {});
  EXPECT_EQ(refused.exit_code, 2) << refused.all();
  EXPECT_NE(refused.all().find("pass --source-subscriber to rollback"), std::string::npos) << refused.all();
  EXPECT_EQ(phase(), "cut_over");

  CliRun back = run("rollback", sub);
  ASSERT_EQ(back.exit_code, 0) << back.all();
  EXPECT_EQ(phase(), "syncing");
  EXPECT_EQ(on_source("SELECT count(*) FROM pg_subscription"), 0) << "the subscription back was not dropped";
  EXPECT_EQ(on_source("SELECT count(*) FROM items WHERE id = 1001"), 1);

  // Again forward, then the end of the window: finalize, too, needs the role.
  ASSERT_EQ(run("cutover", sub).exit_code, 0);
  CliRun fin_refused = run("finalize", {});
  EXPECT_EQ(fin_refused.exit_code, 2) << fin_refused.all();
  EXPECT_NE(fin_refused.all().find("pass --source-subscriber to finalize"), std::string::npos) << fin_refused.all();
  CliRun fin = run("finalize", sub);
  ASSERT_EQ(fin.exit_code, 0) << fin.all();
  EXPECT_EQ(on_source("SELECT count(*) FROM pg_subscription"), 0);
  EXPECT_EQ(phase(), "finalized");
}

}  // namespace

// Issue 27: without --source-subscriber, auto replicates back through pgshift's apply as the same
// ordinary owner role. Its writes pass the source's fence (the fence pass), a client's do not;
// status shows it; rollback waits for it and stops it, and leaves no slot, progress or pass.
namespace {

bool pid_alive(int pid) {
  std::ifstream in(fmt::format("/proc/{}/cmdline", pid));
  std::string s;
  return pid > 0 && ::kill(pid, 0) == 0 && std::getline(in, s) && !s.empty();
}

}  // namespace

TEST_F(SourceSubscriberTest, WithoutASubscriberRolePgshiftsApplyPassesTheFenceAsTheOwner) {
  std::string log = (std::filesystem::temp_directory_path() / fmt::format("pgshift-ab-owner-{}.log", ::getpid())).string();
  std::filesystem::remove(log);
  CliRun cut = run("cutover", {"--apply-back-log", log});
  ASSERT_EQ(cut.exit_code, 0) << cut.all();
  expect_no_password(cut.all());
  EXPECT_EQ(on_source("SELECT count(*) FROM pg_subscription"), 0);
  pg::Connection t = connect(*target_, "app");
  t.exec("INSERT INTO items SELECT g, 'after ' || g FROM generate_series(1001, 1100) g");
  t.exec("UPDATE items SET label = 'changed' WHERE id <= 10");
  EXPECT_TRUE(wait_until([&] { return on_source("SELECT count(*) FROM items") == 300; }, util::Millis(15'000)))
      << "pgshift's apply did not pass the fence; log:\n" << [&] {
           std::ifstream in(log);
           std::stringstream ss;
           ss << in.rdbuf();
           return ss.str();
         }();
  EXPECT_TRUE(wait_until([&] { return on_source("SELECT count(*) FROM items WHERE label = 'changed'") == 10; },
                         util::Millis(15'000)));
  // A client (the same owner role, without the token) is still refused.
  pg::Connection owner = pg::Connection::open(pg::ConnInfo::parse(owner_url(), "test"));
  try {
    owner.exec("SELECT set_config('pgshift.fence_pass', 'guess', false)");
    owner.exec("INSERT INTO items VALUES (5000, 'client')");
    ADD_FAILURE() << "a client wrote through the fence";
  } catch (const pg::SqlError& e) {
    EXPECT_EQ(e.sqlstate(), "25006") << e.what();
  }

  CliRun st = run_pgshift({"status", "--json", "--source", owner_url(), "--target", target_->url("app")});
  json sj = json::parse(st.out, nullptr, false);
  ASSERT_FALSE(sj.is_discarded()) << st.all();
  ASSERT_TRUE(sj.contains("apply_back")) << st.out;
  int pid = sj["apply_back"]["pid"].get<int>();
  EXPECT_TRUE(sj["apply_back"]["running"].get<bool>()) << sj["apply_back"];
  EXPECT_TRUE(pid_alive(pid));

  CliRun back = run("rollback", {});
  ASSERT_EQ(back.exit_code, 0) << back.all();
  EXPECT_FALSE(pid_alive(pid)) << "rollback stops the apply";
  EXPECT_EQ(phase(), "syncing");
  EXPECT_EQ(t.exec("SELECT count(*) FROM pg_replication_slots").scalar_int64(), 0);
  EXPECT_EQ(on_source("SELECT count(*) FROM pg_class WHERE oid = to_regclass('pgshift.apply_progress')"), 0);
  EXPECT_EQ(on_source("SELECT count(*) FROM pgshift.fence_pass"), 0);
  owner.exec("INSERT INTO items VALUES (5001, 'source writes again')");
  std::filesystem::remove(log);
}
