// `pgshift sync` against servers and input that cannot work: the check's refusal (wal_level),
// no replication slot left, a subscription the target cannot create (everything undone), keys
// the target cannot match, the migration lock, a different source on stop, and bad flags.
// Every case: a clear one-line error, the documented exit code, nothing half-created.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "localpg/cluster.hpp"
#include "replication/replication.hpp"
#include "support/support.hpp"
#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE accounts (id int PRIMARY KEY, name text);
CREATE TABLE events (at timestamptz, kind text);
)sql";

constexpr std::string_view kSeed = R"sql(
INSERT INTO accounts SELECT g, 'a' || g FROM generate_series(1, 100) g;
INSERT INTO events SELECT now(), 'k' || g FROM generate_series(1, 100) g;
)sql";

class SyncBadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = start_cluster("syncbad-src").release();
    target_ = start_cluster("syncbad-tgt").release();
    legacy_ = start_cluster("syncbad-legacy", {{"wal_level", "replica"}}).release();
    for (auto* c : {source_, target_, legacy_}) c->create_database("app");
    target_->create_database("empty");
    source_->create_database("keys");
    target_->create_database("keys");
    for (auto* c : {source_, legacy_}) {
      pg::Connection s = connect(*c, "app");
      run_sql(s, kSchema);
      run_sql(s, kSeed);
    }
    pg::Connection t = connect(*target_, "app");
    run_sql(t, kSchema);
    pg::Connection sk = connect(*source_, "keys");
    run_sql(sk, "CREATE TABLE k (id int PRIMARY KEY, v text)");
    pg::Connection tk = connect(*target_, "keys");
    run_sql(tk, "CREATE TABLE k (id int, v text)");
  }
  static void TearDownTestSuite() {
    delete source_;
    delete target_;
    delete legacy_;
  }

  void slot_taken_during_start(const std::string& mode, const std::string& failed_step, const std::string& message);
  static CliRun sync(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"sync"};
    all.insert(all.end(), args.begin(), args.end());
    CliRun run = run_pgshift(all);
    expect_no_password(run.all());
    return run;
  }

  // Nothing of a migration exists on the pair (the journal may).
  static void expect_nothing_created(const std::string& db = "app") {
    SCOPED_TRACE("database " + db);
    pg::Connection s = connect(*source_, db);
    pg::Connection t = connect(*target_, db);
    EXPECT_EQ(s.exec("SELECT count(*) FROM pg_publication").scalar_int64(), 0);
    EXPECT_EQ(s.exec("SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical'").scalar_int64(), 0);
    EXPECT_EQ(t.exec("SELECT count(*) FROM pg_subscription").scalar_int64(), 0);
    EXPECT_EQ(t.exec("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgshift%'").scalar_int64(), 0);
    if (db == "app") {
      EXPECT_EQ(s.exec("SELECT relreplident::text FROM pg_class WHERE relname = 'events'").scalar(), "d");
    }
  }

  static LocalCluster* source_;
  static LocalCluster* target_;
  static LocalCluster* legacy_;
};

LocalCluster* SyncBadInputTest::source_ = nullptr;
LocalCluster* SyncBadInputTest::target_ = nullptr;
LocalCluster* SyncBadInputTest::legacy_ = nullptr;

TEST_F(SyncBadInputTest, SourceWithoutLogicalWalIsRefusedWithTheChecksMessage) {
  CliRun run = sync({"start", "--source", legacy_->url("app"), "--target", target_->url("app")});
  EXPECT_EQ(run.exit_code, 1) << run.all();
  EXPECT_NE(run.out.find("wal_level is 'replica' on the source"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("ALTER SYSTEM SET wal_level = logical"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("sync start refused: the preflight found 1 error(s) (wal-level)"), std::string::npos) << run.err;
  pg::Connection l = connect(*legacy_, "app");
  EXPECT_EQ(l.exec("SELECT count(*) FROM pg_publication").scalar_int64(), 0);
  EXPECT_EQ(l.exec("SELECT relreplident::text FROM pg_class WHERE relname = 'events'").scalar(), "d");
  expect_nothing_created();
}

TEST_F(SyncBadInputTest, NoFreeReplicationSlotIsRefusedBeforeAnythingIsCreated) {
  pg::Connection s = connect(*source_, "app");
  int64_t total = s.exec("SELECT setting::int FROM pg_settings WHERE name = 'max_replication_slots'").scalar_int64();
  run_sql(s, fmt::format("SELECT pg_create_physical_replication_slot('fill_' || g) FROM generate_series(1, {}) g", total));

  CliRun run = sync({"start", "--source", source_->url("app"), "--target", target_->url("app")});
  EXPECT_EQ(run.exit_code, 1) << run.all();
  EXPECT_NE(run.out.find("too-few-max_replication_slots"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(fmt::format("{0} max_replication_slots in use of max_replication_slots = {0}", total)),
            std::string::npos)
      << run.out;
  expect_nothing_created();

  // replication::start checks again right before creating anything (the check may be stale).
  state::Plan plan;
  plan.source = source_->conninfo("app");
  plan.target = target_->conninfo("app");
  pg::Connection src = pg::Connection::open(plan.source, "source");
  pg::Connection tgt = pg::Connection::open(plan.target, "target");
  try {
    replication::start(src, tgt, plan, {});
    ADD_FAILURE() << "start succeeded without a free slot";
  } catch (const ProblemsFound& e) {
    EXPECT_NE(std::string(e.what()).find(fmt::format("no replication slot left free (max_replication_slots = {0}, {0} in use)", total)),
              std::string::npos)
        << e.what();
  }
  expect_nothing_created();
  run_sql(s, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'fill\\_%'");
}

// Another consumer takes the last free slot between the capacity check and the slot's creation
// (CREATE SUBSCRIPTION with --copy native, the snapshot keeper with --copy parallel).
void SyncBadInputTest::slot_taken_during_start(const std::string& mode, const std::string& failed_step,
                                                const std::string& message) {
  // Here an event trigger creates it as the publication is created.
  pg::Connection s = connect(*source_, "app");
  int64_t free_slots = s.exec("SELECT current_setting('max_replication_slots')::int - count(*) FROM pg_replication_slots")
                           .scalar_int64();
  run_sql(s, fmt::format("SELECT pg_create_physical_replication_slot('fill_' || g) FROM generate_series(1, {}) g",
                         free_slots - 1));
  run_sql(s, R"sql(
CREATE OR REPLACE FUNCTION take_last_slot() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_create_physical_replication_slot('squatter'); END $$;
CREATE EVENT TRIGGER take_last_slot ON ddl_command_end WHEN TAG IN ('CREATE PUBLICATION')
  EXECUTE FUNCTION take_last_slot();
)sql");

  // --truncate-target: the native run below leaves copied rows behind.
  CliRun run = sync({"start", "--copy", mode, "--truncate-target", "--source", source_->url("app"), "--target", target_->url("app")});
  EXPECT_EQ(run.exit_code, 3) << run.all();
  EXPECT_NE(run.err.find("sync start failed:"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(message), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("undone: fence lifted, publication dropped, schema change log removed, replica identities restored"), std::string::npos)
      << run.err;
  EXPECT_EQ(line_count(run.err.substr(run.err.find("pgshift: "))), 1u) << run.err;
  expect_nothing_created();
  pg::Connection t = connect(*target_, "app");
  EXPECT_EQ(t.exec("SELECT phase FROM pgshift.migration ORDER BY id DESC LIMIT 1").scalar(), "stopped");
  EXPECT_EQ(t.exec("SELECT count(*) FROM pgshift.event WHERE step = 'start' AND status = 'failed' AND "
                   "migration_id = (SELECT max(id) FROM pgshift.migration)").scalar_int64(), 1);
  EXPECT_EQ(t.exec("SELECT count(*) FROM pgshift.event WHERE step = $1 AND status = 'failed' AND "
                   "migration_id = (SELECT max(id) FROM pgshift.migration)", {failed_step}).scalar_int64(), 1);
  // Every compensation is settled.
  EXPECT_EQ(t.exec("SELECT count(*) FROM pgshift.event c WHERE status = 'compensation' AND NOT EXISTS "
                   "(SELECT 1 FROM pgshift.event s WHERE s.status = 'settled' AND (s.detail->>'settles')::bigint = c.id)")
                .scalar_int64(),
            0);
  // The failed CREATE SUBSCRIPTION's text (with the source password) is in no log.
  expect_no_password(read_file(target_->log_file()));
  expect_no_password(read_file(source_->log_file()));
  expect_no_password(t.exec("SELECT string_agg(detail::text, ' ') FROM pgshift.event").scalar());

  run_sql(s, "DROP EVENT TRIGGER take_last_slot");
  run_sql(s, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_type = 'physical'");

  // Clean state: start works now, and stop refuses another source than the recorded one.
  CliRun again = sync({"start", "--source", source_->url("app"), "--target", target_->url("app")});
  ASSERT_EQ(again.exit_code, 0) << again.all();
  CliRun wrong = sync({"stop", "--source", legacy_->url("app"), "--target", target_->url("app")});
  EXPECT_EQ(wrong.exit_code, 2) << wrong.all();
  EXPECT_NE(wrong.err.find(fmt::format("replicates from postgres@127.0.0.1:{}/app, not from postgres@127.0.0.1:{}/app",
                                       source_->port(), legacy_->port())),
            std::string::npos)
      << wrong.err;
  EXPECT_EQ(t.exec("SELECT count(*) FROM pg_subscription").scalar_int64(), 1) << "the refused stop dropped something";

  // The migration lock: a second mutating command waits for nobody.
  pg::Connection holder = connect(*target_, "app");
  run_sql(holder, "SELECT pg_advisory_lock(1885827944, 1)");
  CliRun locked = sync({"stop", "--source", source_->url("app"), "--target", target_->url("app")});
  EXPECT_EQ(locked.exit_code, 3) << locked.all();
  EXPECT_NE(locked.err.find("another pgshift command holds the migration lock: pgshift-test"), std::string::npos)
      << locked.err;
  run_sql(holder, "SELECT pg_advisory_unlock(1885827944, 1)");

  CliRun stop = sync({"stop", "--source", source_->url("app"), "--target", target_->url("app")});
  EXPECT_EQ(stop.exit_code, 0) << stop.all();
  expect_nothing_created();
}

TEST_F(SyncBadInputTest, SubscriptionThatCannotBeCreatedUndoesEverything) {
  slot_taken_during_start("native", "subscription",
                          "could not create replication slot \"" + migration_name(*source_, *target_) +
                              "\": ERROR: all replication slots are in use");
}

TEST_F(SyncBadInputTest, SnapshotSlotThatCannotBeCreatedUndoesEverything) {
  slot_taken_during_start("parallel", "copy", "all replication slots are in use (SQLSTATE 53400)");
}

TEST_F(SyncBadInputTest, KeysTheTargetCannotMatchAreRefused) {
  CliRun run = sync({"start", "--source", source_->url("keys"), "--target", target_->url("keys")});
  EXPECT_EQ(run.exit_code, 1) << run.all();
  // The preflight finds it (check reports it too), before anything is created.
  EXPECT_NE(run.err.find("(target-key-missing)"), std::string::npos) << run.err;
  EXPECT_NE(run.out.find("public.k: the target has no primary key or unique NOT NULL index on (id)"), std::string::npos)
      << run.out;
  expect_nothing_created("keys");
}

// --truncate-target with foreign keys between a full table and empty ones (the trial's 0A000:
// only the tables holding rows were truncated, and TRUNCATE refuses a table referenced by one it
// does not empty). The whole set goes in one statement; a table outside the set referencing it
// is named and nothing is created (pgshift never empties a table it does not replicate).
TEST_F(SyncBadInputTest, TruncateTargetEmptiesTheWholeSetDespiteForeignKeys) {
  constexpr std::string_view schema = R"sql(
CREATE TABLE plans (id int PRIMARY KEY, name text);
CREATE TABLE customers (id int PRIMARY KEY, plan_id int REFERENCES plans (id));
CREATE TABLE invoices (id int PRIMARY KEY, customer_id int REFERENCES customers (id), plan_id int REFERENCES plans (id));
)sql";
  source_->create_database("fks");
  target_->create_database("fks");
  pg::Connection s = connect(*source_, "fks");
  pg::Connection t = connect(*target_, "fks");
  run_sql(s, schema);
  run_sql(t, schema);
  run_sql(s, R"sql(
INSERT INTO plans SELECT g, 'p' || g FROM generate_series(1, 3) g;
INSERT INTO customers SELECT g, 1 + g % 3 FROM generate_series(1, 20) g;
INSERT INTO invoices SELECT g, 1 + g % 20, 1 + g % 3 FROM generate_series(1, 40) g;
)sql");
  // On the target only plans holds rows; customers and invoices (which reference it) are empty.
  run_sql(t, "INSERT INTO plans VALUES (1, 'stale'), (9, 'gone')");
  run_sql(t, "CREATE TABLE notes (id int PRIMARY KEY, plan_id int REFERENCES plans (id))");
  std::vector<std::string> ends = {"--source", source_->url("fks"), "--target", target_->url("fks")};

  for (const std::string mode : {"native", "parallel"}) {
    SCOPED_TRACE(mode);
    std::vector<std::string> start = {"start", "--truncate-target", "--copy", mode};
    start.insert(start.end(), ends.begin(), ends.end());
    if (mode == "native") {
      CliRun refused = sync(start);
      EXPECT_EQ(refused.exit_code, 1) << refused.all();
      EXPECT_NE(refused.err.find("notes -> plans (notes_plan_id_fkey)"), std::string::npos) << refused.err;
      EXPECT_EQ(line_count(refused.err.substr(refused.err.find("pgshift: "))), 1u) << refused.err;
      expect_nothing_created("fks");
      EXPECT_EQ(count_rows(t, "plans"), 2) << "nothing was truncated";
      run_sql(t, "DROP TABLE notes");
    } else {
      run_sql(t, "INSERT INTO plans VALUES (1, 'stale'), (9, 'gone')");
    }
    CliRun run = sync(start);
    ASSERT_EQ(run.exit_code, 0) << run.all();
    // Native copy: each table has its own table-sync worker, so wait for all three.
    EXPECT_TRUE(wait_until([&] {
      return count_rows(t, "invoices") == 40 && count_rows(t, "customers") == 20 && count_rows(t, "plans") == 3;
    }, util::Millis(30'000)));
    EXPECT_EQ(count_rows(t, "plans"), 3);
    EXPECT_EQ(t.exec("SELECT name FROM plans WHERE id = 1").scalar(), "p1") << "the stale row was replaced";
    std::vector<std::string> stop = {"stop"};
    stop.insert(stop.end(), ends.begin(), ends.end());
    ASSERT_EQ(sync(stop).exit_code, 0);
    run_sql(t, "TRUNCATE plans, customers, invoices");
  }
}

TEST_F(SyncBadInputTest, NothingToReplicate) {
  CliRun run = sync({"start", "--source", source_->url("app"), "--target", target_->url("empty")});
  // The preflight refuses with the command that copies the schema.
  EXPECT_EQ(run.exit_code, 1) << run.all();
  EXPECT_NE(run.err.find("(target-empty)"), std::string::npos) << run.err;
  EXPECT_NE(run.out.find("pgshift schema copy"), std::string::npos) << run.out;
}

TEST_F(SyncBadInputTest, BadFlagsAndUnreachableServers) {
  std::string src = source_->url("app"), tgt = target_->url("app");
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  int closed_port = localpg::free_port();
  std::string nowhere = fmt::format("postgresql://postgres:{}@127.0.0.1:{}/app", localpg::kLocalPassword, closed_port);
  std::vector<Case> cases = {
      {{}, 2, "A subcommand is required"},
      {{"soak", "--source", src, "--target", tgt}, 2, "--for is required"},
      {{"soak", "--source", src, "--target", tgt, "--for", "soon"}, 2, "--for: 'soon' is not a valid duration"},
      {{"soak", "--source", src, "--target", tgt, "--for", "0s"}, 2, "--for: must be positive"},
      {{"soak", "--source", src, "--target", tgt, "--for", "1s", "--max-lag", "12XB"}, 2, "--max-lag: '12XB'"},
      {{"status", "--source", src, "--target", tgt, "--interval", "-1s"}, 2, "--interval"},
      {{"start", "--source", src}, 2, "no target database"},
      {{"stop", "--target", tgt}, 2, "no source database"},
      {{"status", "--source", src, "--target", nowhere}, 3,
       fmt::format("cannot connect to target postgres@127.0.0.1:{}/app", closed_port)},
      {{"soak", "--source", src, "--target", tgt, "--for", "1s"}, 3, "no migration is syncing"},
  };
  for (const auto& c : cases) {
    CliRun run = sync(c.args);
    std::string shown = fmt::format("pgshift sync {}", fmt::join(c.args, " "));
    EXPECT_EQ(run.exit_code, c.exit_code) << shown << "\n" << run.all();
    EXPECT_NE(run.err.find(c.message), std::string::npos) << shown << "\n" << run.err;
  }
}

}  // namespace
