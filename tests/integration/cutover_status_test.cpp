// What `status` says around a migration's two busy moments: while sync start's parallel copy is
// still preparing (its snapshot, dropping the indexes it rebuilds later: nothing planned yet) the
// copy is live, not "interrupted ... 0 B of about 0 B"; after cutover a table created on the target is named
// as the target's, not "exists on the source only".
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using nlohmann::json;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE items (id bigserial PRIMARY KEY, label text NOT NULL);
CREATE INDEX items_label ON items (label);
)sql";

class CutoverStatusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = start_cluster("status-src").release();
    target_ = start_cluster("status-tgt").release();
    for (const char* db : {"copying", "after"}) {
      for (auto* c : {source_, target_}) {
        c->create_database(db);
        pg::Connection conn = connect(*c, db);
        run_sql(conn, kSchema);
      }
      pg::Connection s = connect(*source_, db);
      run_sql(s, "INSERT INTO items (label) SELECT 'i' || g FROM generate_series(1, 2000) g");
    }
  }
  static void TearDownTestSuite() {
    delete target_;
    delete source_;
  }
  static CliRun pgshift(std::vector<std::string> args, const std::string& db) {
    args.insert(args.end(), {"--source", source_->url(db), "--target", target_->url(db)});
    return run_pgshift(args);
  }
  static bool ready(const std::string& db) {
    json j = json::parse(pgshift({"sync", "status", "--json"}, db).out, nullptr, false);
    if (j.is_discarded() || j["tables"].empty()) return false;
    for (const auto& t : j["tables"]) {
      if (t["state"] != "ready") return false;
    }
    return true;
  }

  static LocalCluster* source_;
  static LocalCluster* target_;
};

LocalCluster* CutoverStatusTest::source_ = nullptr;
LocalCluster* CutoverStatusTest::target_ = nullptr;

TEST_F(CutoverStatusTest, ACopyStillPreparingIsNotInterrupted) {
  // A transaction open on the source: sync start's slot with an exported snapshot waits for it,
  // before any plan exists (as it later waits while it drops indexes).
  pg::Connection writer = connect(*source_, "copying");
  run_sql(writer, "BEGIN; INSERT INTO items (label) VALUES ('open')");
  CliRun started;
  std::thread sync([&] { started = pgshift({"sync", "start"}, "copying"); });
  json copy;
  bool seen = wait_until(
      [&] {
        json j = json::parse(pgshift({"sync", "status", "--json"}, "copying").out, nullptr, false);
        if (j.is_discarded() || !j.contains("copy") || j["copy"].is_null()) return false;
        copy = j["copy"];
        return true;
      },
      util::Millis(60'000));
  CliRun text = pgshift({"sync", "status"}, "copying");
  run_sql(writer, "COMMIT");
  sync.join();
  ASSERT_TRUE(seen) << "sync status never showed the copy: " << started.all();
  EXPECT_EQ(started.exit_code, 0) << started.all();
  EXPECT_EQ(copy["state"], "preparing") << copy.dump();
  EXPECT_EQ(text.out.find("interrupted"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("0 B of about 0 B"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("copy    parallel, preparing: no plan yet"), std::string::npos) << text.out;
}

TEST_F(CutoverStatusTest, AfterCutoverATableMadeOnTheTargetIsTheTargets) {
  ASSERT_EQ(pgshift({"sync", "start"}, "after").exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return ready("after"); }, util::Millis(60'000)));
  CliRun cut = pgshift({"cutover", "--switch-command", "true", "--no-watchdog"}, "after");
  ASSERT_EQ(cut.exit_code, 0) << cut.all();
  {
    pg::Connection t = connect(*target_, "after");
    // Made on the target only: with capture on it would be followed to the source.
    run_sql(t, "ALTER EVENT TRIGGER pgshift_ddl_capture DISABLE");
    run_sql(t, "CREATE TABLE made_after (id int PRIMARY KEY)");
  }
  CliRun st = pgshift({"status", "--json"}, "after");
  json j = json::parse(st.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << st.all();
  bool found = false;
  for (const auto& lo : j["left_out"]) {
    if (lo["table"] != "made_after" && lo["table"] != "public.made_after") continue;
    found = true;
    EXPECT_EQ(lo["reason"], "target_only") << lo.dump();
  }
  EXPECT_TRUE(found) << j["left_out"].dump();
  CliRun text = pgshift({"status"}, "after");
  EXPECT_EQ(text.out.find("exists on the source only"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("exists on the target only (not in the replication back to the source)"), std::string::npos)
      << text.out;
}

}  // namespace
