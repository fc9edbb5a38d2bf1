// Two migrations between one pair of servers (databases app and shop on each), both with the
// default names: each gets server-wide objects (slots) of its own, so cutting one over and the
// other over and back leaves both rollback windows intact; a slot of another owner with a name a
// migration needs is named before anything changes, and never dropped.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using nlohmann::json;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE items (id bigserial PRIMARY KEY, label text);
)sql";

class CutoverNamesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = start_cluster("names-src").release();
    target_ = start_cluster("names-tgt").release();
    for (const char* db : {"app", "shop"}) {
      for (auto* c : {source_, target_}) {
        c->create_database(db);
        pg::Connection conn = connect(*c, db);
        run_sql(conn, kSchema);
      }
      pg::Connection s = connect(*source_, db);
      run_sql(s, "INSERT INTO items (label) SELECT 'i' || g FROM generate_series(1, 200) g");
    }
  }
  static void TearDownTestSuite() {
    delete target_;
    delete source_;
  }

  static std::vector<std::string> plan(const std::string& db) {
    return {"--source", source_->url(db), "--target", target_->url(db)};
  }
  static CliRun pgshift(std::vector<std::string> args, const std::string& db) {
    for (auto& a : plan(db)) args.push_back(a);
    return run_pgshift(args);
  }
  static CliRun switch_writer(const std::string& action, const std::string& db) {
    return pgshift({action, "--switch-command", "true", "--no-watchdog"}, db);
  }
  static bool ready(const std::string& db) {
    CliRun st = pgshift({"sync", "status", "--json"}, db);
    json j = json::parse(st.out, nullptr, false);
    if (j.is_discarded() || j["tables"].empty()) return false;
    for (const auto& t : j["tables"]) {
      if (t["state"] != "ready") return false;
    }
    return true;
  }
  static int64_t count(LocalCluster& c, const std::string& db, const std::string& sql) {
    pg::Connection conn = connect(c, db);
    return conn.exec(sql).scalar_int64();
  }
  // The replication back of db's migration: its subscription on the source, enabled, and its
  // slot on the target's server in db's database.
  static void expect_rollback_window(const std::string& db) {
    SCOPED_TRACE(db);
    std::string reverse = migration_name(*source_, *target_, db) + "_reverse";
    EXPECT_EQ(count(*source_, db, "SELECT count(*) FROM pg_subscription WHERE subenabled AND subname = '" + reverse + "'"), 1);
    EXPECT_EQ(count(*target_, "postgres",
                    "SELECT count(*) FROM pg_replication_slots WHERE database = '" + db + "' AND slot_name = '" +
                        reverse + "'"),
              1);
  }

  static LocalCluster* source_;
  static LocalCluster* target_;
};

LocalCluster* CutoverNamesTest::source_ = nullptr;
LocalCluster* CutoverNamesTest::target_ = nullptr;

TEST_F(CutoverNamesTest, TwoMigrationsOnOneServerPairKeepBothRollbackWindows) {
  ASSERT_NE(migration_name(*source_, *target_, "app"), migration_name(*source_, *target_, "shop"));
  for (const char* db : {"app", "shop"}) {
    CliRun start = pgshift({"sync", "start"}, db);
    ASSERT_EQ(start.exit_code, 0) << db << ": " << start.all();
  }
  for (const char* db : {"app", "shop"}) {
    ASSERT_TRUE(wait_until([&] { return ready(db); }, util::Millis(60'000))) << db << " never became ready";
  }

  CliRun first = switch_writer("cutover", "app");
  ASSERT_EQ(first.exit_code, 0) << first.all();
  expect_rollback_window("app");

  // verify after the cutover compares across the replication back, with its lag fence.
  CliRun verified = pgshift({"verify", "--json"}, "app");
  EXPECT_EQ(verified.exit_code, 0) << verified.all();
  json v = json::parse(verified.out, nullptr, false);
  ASSERT_FALSE(v.is_discarded()) << verified.all();
  EXPECT_EQ(v["fence"]["enabled"], true) << v["fence"].dump();
  EXPECT_EQ(v["fence"]["slot"], migration_name(*source_, *target_, "app") + "_reverse");
  EXPECT_NE(v["direction"].get<std::string>().find("after cutover"), std::string::npos) << v.dump();
  EXPECT_NE(v["source"]["endpoint"].get<std::string>().find(std::to_string(target_->port())), std::string::npos)
      << "the writer (the target) is compared as the publishing side: " << v["source"].dump();

  // A slot someone else holds under the name shop's replication back needs: cutover names it and
  // changes nothing; the slot stays.
  std::string shop_reverse = migration_name(*source_, *target_, "shop") + "_reverse";
  {
    pg::Connection t = connect(*target_, "postgres");
    t.exec("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {shop_reverse});
  }
  CliRun clash = switch_writer("cutover", "shop");
  EXPECT_EQ(clash.exit_code, 1) << clash.all();
  EXPECT_NE(clash.all().find("replication slot " + shop_reverse + " already exists"), std::string::npos) << clash.all();
  EXPECT_NE(clash.all().find("database postgres"), std::string::npos) << clash.all();
  EXPECT_EQ(count(*source_, "shop", "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgshift_fence%'"), 0)
      << "nothing may be fenced";
  EXPECT_EQ(count(*target_, "postgres", "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + shop_reverse + "'"), 1)
      << "the other owner's slot must stay";
  CliRun checked = pgshift({"check", "--json"}, "shop");
  EXPECT_NE(checked.out.find("slot-name-clash"), std::string::npos) << checked.out;
  {
    pg::Connection t = connect(*target_, "postgres");
    t.exec("SELECT pg_drop_replication_slot($1)", {shop_reverse});
  }

  CliRun second = switch_writer("cutover", "shop");
  ASSERT_EQ(second.exit_code, 0) << second.all();
  expect_rollback_window("shop");
  expect_rollback_window("app");

  CliRun back = switch_writer("rollback", "shop");
  ASSERT_EQ(back.exit_code, 0) << back.all();
  EXPECT_EQ(count(*target_, "shop", "SELECT count(*) FROM pg_subscription WHERE subenabled"), 1)
      << "shop replicates forward again";
  expect_rollback_window("app");

  // app's window is really usable: its rollback works.
  CliRun app_back = switch_writer("rollback", "app");
  EXPECT_EQ(app_back.exit_code, 0) << app_back.all();
  pg::Connection s = connect(*source_, "app");
  EXPECT_NO_THROW(s.exec("INSERT INTO items (label) VALUES ('after rollback')")) << "the source writes again";
}

}  // namespace
