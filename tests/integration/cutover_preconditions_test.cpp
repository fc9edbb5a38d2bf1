// Cutover's preconditions prove replication is progressing and the target is complete before
// anything is paused or fenced: a partition created on the source only (a row routed there
// stops the apply), a stalled apply worker, a table on the source only. Each exits 1 naming the
// cause, with the pooler never paused and nothing fenced.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using nlohmann::json;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE payment (id bigint NOT NULL, paid_on date NOT NULL, amount numeric, PRIMARY KEY (id, paid_on))
  PARTITION BY RANGE (paid_on);
CREATE TABLE payment_p2026_07 PARTITION OF payment FOR VALUES FROM ('2026-07-01') TO ('2026-08-01');
CREATE TABLE items (id bigint PRIMARY KEY, label text);
)sql";

class CutoverPreconditionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = start_cluster("pre-src");
    target_ = start_cluster("pre-tgt");
    for (auto* c : {source_.get(), target_.get()}) {
      c->create_database("app");
      pg::Connection conn = connect(*c, "app");
      run_sql(conn, kSchema);
    }
    pg::Connection s = connect(*source_, "app");
    run_sql(s, "INSERT INTO payment VALUES (1, '2026-07-02', 5); INSERT INTO items VALUES (1, 'a')");
    bouncer_ = LocalPgBouncer::start(*source_, {"app"});
    CliRun start = run_pgshift({"sync", "start", "--source", source_->url("app"), "--target", target_->url("app")});
    ASSERT_EQ(start.exit_code, 0) << start.all();
    pg::Connection t = connect(*target_, "app");
    ASSERT_TRUE(wait_until([&] { return count_rows(t, "items") == 1 && count_rows(t, "payment") == 1; },
                           util::Millis(60'000)));
    ASSERT_TRUE(wait_until(
        [&] { return t.exec("SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'").scalar_int64() == 0; },
        util::Millis(60'000)));
  }

  CliRun cutover(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"cutover", "--source", source_->url("app"), "--target", target_->url("app"),
                                     "--pooler-admin", bouncer_->admin_url(), "--pooler-db", "app",
                                     "--pooler-config", bouncer_->config_path(), "--catchup-timeout", "3s", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_pgshift(args);
  }

  // Nothing of a switch happened: no pause or fence in the journal, the source writable (also
  // through the pooler), still syncing.
  void expect_nothing_changed(const CliRun& run) {
    json j = json::parse(run.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << run.all();
    EXPECT_EQ(j["failed_step"], "preconditions") << run.out;
    for (const auto& step : j["timeline"]) EXPECT_EQ(step["step"], "preconditions") << run.out;
    pg::Connection t = connect(*target_, "app");
    EXPECT_EQ(t.exec("SELECT count(*) FROM pgshift.event WHERE step IN ('pause', 'fence') AND command = 'cutover'")
                  .scalar_int64(),
              0);
    EXPECT_EQ(t.exec("SELECT phase FROM pgshift.migration ORDER BY id DESC LIMIT 1").scalar(), "syncing");
    pg::Connection s = connect(*source_, "app");
    EXPECT_EQ(s.exec("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgshift_fence%'").scalar_int64(), 0)
        << "the source must not be fenced";
    pg::ConnectOptions quick;
    quick.connect_timeout = util::Millis(3000);
    pg::Connection pooled = pg::Connection::open(pg::ConnInfo::parse(bouncer_->url("app"), "pooler"), quick);
    pooled.exec("SET statement_timeout = '3s'");
    EXPECT_NO_THROW(pooled.exec("INSERT INTO items VALUES (1000 + (random() * 1e6)::int, 'through the pooler')"));
  }

  std::unique_ptr<LocalCluster> source_, target_;
  std::unique_ptr<LocalPgBouncer> bouncer_;
};

TEST_F(CutoverPreconditionsTest, PartitionOnTheSourceOnlyStopsTheCutoverBeforeAnythingChanges) {
  pg::Connection s = connect(*source_, "app");
  // Not followed to the target: a source without schema change capture (no superuser there).
  run_sql(s, "ALTER EVENT TRIGGER pgshift_ddl_capture DISABLE");
  run_sql(s, "CREATE TABLE payment_p2026_08 PARTITION OF payment FOR VALUES FROM ('2026-08-01') TO ('2026-09-01');"
             "INSERT INTO payment VALUES (2, '2026-08-02', 7)");
  CliRun status = run_pgshift({"sync", "status", "--json", "--source", source_->url("app"), "--target", target_->url("app")});
  EXPECT_NE(status.out.find("payment_p2026_08"), std::string::npos) << "drift names the partition: " << status.out;

  CliRun run = cutover();
  EXPECT_EQ(run.exit_code, 1) << run.all();
  EXPECT_NE(run.all().find("partition public.payment_p2026_08 exists on the source only"), std::string::npos)
      << run.all();
  expect_nothing_changed(run);
  EXPECT_EQ(run.err.find("undoing"), std::string::npos) << "nothing was done, nothing to undo: " << run.err;
}

TEST_F(CutoverPreconditionsTest, StalledApplyIsNamedBeforeAnythingChanges) {
  // A row the target already has (written by a superuser past the fence): applying the source's
  // insert fails with a duplicate key, again and again.
  pg::Connection t = connect(*target_, "app");
  run_sql(t, "SET session_replication_role = replica; INSERT INTO items VALUES (2, 'conflict'); RESET session_replication_role");
  pg::Connection s = connect(*source_, "app");
  run_sql(s, "INSERT INTO items VALUES (2, 'from the source')");
  // The stall is established once the apply worker has failed on that row at least once.
  ASSERT_TRUE(wait_until([&] {
    return t.exec("SELECT coalesce(sum(apply_error_count), 0) FROM pg_stat_subscription_stats").scalar_int64() > 0;
  }, util::Millis(30'000))) << "the apply worker never hit the conflicting row";
  CliRun run = cutover();
  EXPECT_EQ(run.exit_code, 1) << run.all();
  EXPECT_NE(run.all().find("replication is not progressing"), std::string::npos) << run.all();
  EXPECT_NE(run.all().find("the first change not applied is on table public.items"), std::string::npos) << run.all();
  EXPECT_NE(run.all().find("apply"), std::string::npos) << run.all();
  expect_nothing_changed(run);
  run_sql(t, "SET session_replication_role = replica; DELETE FROM items WHERE id = 2; RESET session_replication_role");
}

TEST_F(CutoverPreconditionsTest, TableOnTheSourceOnlyRefusesTheCutoverUnlessAllowed) {
  pg::Connection s = connect(*source_, "app");
  // Not followed to the target: a source without schema change capture (no superuser there).
  run_sql(s, "ALTER EVENT TRIGGER pgshift_ddl_capture DISABLE");
  run_sql(s, "CREATE TABLE film_embedding (id int PRIMARY KEY); INSERT INTO film_embedding VALUES (1)");
  CliRun run = cutover();
  EXPECT_EQ(run.exit_code, 1) << run.all();
  EXPECT_NE(run.all().find("public.film_embedding"), std::string::npos) << run.all();
  EXPECT_NE(run.all().find("--allow-missing-tables"), std::string::npos) << run.all();
  expect_nothing_changed(run);
}

// Without a pooler (or a switch command) nothing would switch: one error, printed once, and no
// "undoing" when nothing was changed.
TEST_F(CutoverPreconditionsTest, WithoutAPoolerOneErrorOnce) {
  CliRun run = run_pgshift({"cutover", "--source", source_->url("app"), "--target", target_->url("app")});
  EXPECT_EQ(run.exit_code, 1) << run.all();
  std::string all = run.all();
  size_t first = all.find("nothing would switch the application");
  ASSERT_NE(first, std::string::npos) << all;
  EXPECT_EQ(all.find("nothing would switch the application", first + 1), std::string::npos) << all;
  EXPECT_EQ(all.find("undoing"), std::string::npos) << all;
}

}  // namespace

namespace {

// A materialized view is empty on the target after a schema-only copy: check lists it, and
// cutover --refresh-matviews populates it after the switch.
TEST_F(CutoverPreconditionsTest, MaterializedViewsAreListedAndRefreshedAfterTheSwitch) {
  pg::Connection s = connect(*source_, "app");
  // The view made on each side by hand, as a schema-only copy leaves it (not followed).
  run_sql(s, "ALTER EVENT TRIGGER pgshift_ddl_capture DISABLE");
  run_sql(s, "CREATE MATERIALIZED VIEW item_count AS SELECT count(*) AS n FROM items");
  pg::Connection t = connect(*target_, "app");
  run_sql(t, "CREATE MATERIALIZED VIEW item_count AS SELECT count(*) AS n FROM items WITH NO DATA");
  CliRun check = run_pgshift({"check", "--json", "--source", source_->url("app"), "--target", target_->url("app")});
  EXPECT_NE(check.out.find("materialized-views"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("public.item_count"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("not populated on the target"), std::string::npos) << check.out;

  CliRun run = cutover({"--refresh-matviews"});
  ASSERT_EQ(run.exit_code, 0) << run.all();
  EXPECT_NE(run.out.find("refresh-matviews"), std::string::npos) << run.out;
  EXPECT_EQ(t.exec("SELECT n FROM item_count").scalar_int64(), 1);
}

}  // namespace
