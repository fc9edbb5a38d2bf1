// Issue 27: pgshift's own apply of the replication back, for a source whose role may neither
// subscribe nor replicate (an owner without superuser or REPLICATION, as on Supabase). A slot and
// publication on the "target" stream every kind of change to the "source" through
// `pgshift sync apply-back`: inserts, key and non-key updates with a TOASTed value left alone, an
// enum, NULLs, REPLICA IDENTITY FULL with duplicate rows, deletes, truncate. kill -9 in the middle
// of a stream of small transactions loses nothing and applies nothing twice; a conflict planted on
// the source stops the apply, naming the table and key, with the stored LSN unmoved; user triggers
// that would fire again refuse the start.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE items (id bigint PRIMARY KEY, label text, mood mood, big text, note text);
CREATE TABLE events (kind text, payload text);
ALTER TABLE events REPLICA IDENTITY FULL;
CREATE TABLE counter (id int PRIMARY KEY, n bigint NOT NULL);
CREATE TABLE ledger (id bigint, note text);
)sql";

constexpr const char* kSlot = "back_slot";
constexpr const char* kPublication = "back_pub";

class ApplyBackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = start_cluster("ab-src").release();
    target_ = start_cluster("ab-tgt").release();
    pg::Connection admin = connect(*source_, "postgres");
    run_sql(admin, fmt::format("CREATE ROLE app_owner LOGIN NOSUPERUSER NOREPLICATION PASSWORD '{}'",
                               localpg::kLocalPassword));
    admin.exec("CREATE DATABASE app OWNER app_owner");
    {
      pg::Connection owner = owner_conn();
      run_sql(owner, kSchema);
      // An application trigger: it must not fire a second time for replicated rows.
      run_sql(owner, R"sql(
CREATE TABLE audit (at timestamptz DEFAULT now(), what text);
CREATE FUNCTION audit_items() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO audit (what) VALUES (TG_OP); RETURN NEW; END$$;
CREATE TRIGGER items_audit AFTER INSERT OR UPDATE ON items FOR EACH ROW EXECUTE FUNCTION audit_items();
)sql");
    }
    target_->create_database("app");
    pg::Connection t = connect(*target_, "app");
    run_sql(t, kSchema);
    run_sql(t, fmt::format("CREATE PUBLICATION {} FOR TABLE items, events, counter, ledger", kPublication));
    t.exec("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {kSlot});
  }
  static void TearDownTestSuite() {
    delete source_;
    delete target_;
  }

  static pg::Connection owner_conn() {
    return pg::Connection::open(pg::ConnInfo::parse(source_->url("app", "app_owner"), "test"));
  }

  static std::vector<std::string> args(std::vector<std::string> extra = {}) {
    std::vector<std::string> a{"sync",   "apply-back", "--source",      source_->url("app", "app_owner"),
                               "--target", target_->url("app"), "--slot", kSlot,
                               "--publication", kPublication, "--progress-every", "1s"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  static util::Child start_apply(const std::string& log_name, std::vector<std::string> extra = {},
                                 const std::string& source_user = "app_owner") {
    util::ProcessSpec spec;
    spec.argv = {PGSHIFT_BINARY};
    for (const auto& a : args(extra)) spec.argv.push_back(a);
    spec.argv[4] = source_->url("app", source_user);
    spec.env["NO_COLOR"] = "1";
    spec.output_file = log_path(log_name);
    return util::spawn(spec);
  }
  static std::string log_path(const std::string& name) { return target_->directory() + "/" + name; }
  static std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // Stops an apply with SIGTERM and expects a clean exit.
  static void stop(util::Child& apply, const std::string& log_name) {
    apply.signal(SIGTERM);
    std::optional<int> code = apply.wait_for(util::Millis(30'000));
    ASSERT_TRUE(code.has_value()) << "apply-back did not stop on SIGTERM";
    EXPECT_EQ(*code, 0) << file_text(log_path(log_name));
    std::string log = file_text(log_path(log_name));
    EXPECT_TRUE(log.find("apply-back stopped:") != std::string::npos || log.find("\"stopped\": true") != std::string::npos)
        << log;
    expect_no_password(log);
  }

  // Waits for an apply to stop at a conflict: exit 3; returns its output ("" when it did not stop).
  static std::string conflict_output(util::Child& apply, const std::string& log_name) {
    std::optional<int> code = apply.wait_for(util::Millis(30'000));
    std::string log = file_text(log_path(log_name));
    EXPECT_TRUE(code.has_value()) << "the apply did not stop at the conflict: " << log;
    if (!code) {
      apply.signal(SIGKILL);
      apply.wait();
      return "";
    }
    EXPECT_EQ(*code, 3) << log;
    EXPECT_NE(log.find("apply-back stopped at transaction "), std::string::npos) << log;
    expect_no_password(log);
    return log;
  }

  // A table's rows as text (the big column as its md5), ordered: comparable across servers.
  static std::string contents(pg::Connection& conn, const std::string& table) {
    std::string row = table == "items" ? "(t.id, t.label, t.mood, md5(t.big), length(t.big), t.note)" : "t";
    return conn.exec(fmt::format("SELECT coalesce(string_agg(({})::text, '|' ORDER BY ({})::text), '') FROM {} t",
                                 row, row, table))
        .scalar();
  }
  static bool source_matches_target() {
    pg::Connection s = connect(*source_, "app");
    pg::Connection t = connect(*target_, "app");
    for (const char* table : {"items", "events", "counter", "ledger"}) {
      if (contents(s, table) != contents(t, table)) return false;
    }
    return true;
  }
  static void expect_caught_up() {
    ASSERT_TRUE(wait_until(source_matches_target, util::Millis(60'000)));
    pg::Connection s = connect(*source_, "app");
    pg::Connection t = connect(*target_, "app");
    for (const char* table : {"items", "events", "counter", "ledger"}) {
      EXPECT_EQ(contents(s, table), contents(t, table)) << table;
    }
  }
  static std::string stored_lsn() {
    pg::Connection s = connect(*source_, "app");
    return s.exec("SELECT coalesce((SELECT lsn::text FROM pgshift.apply_progress WHERE slot = $1), '')", {kSlot})
        .scalar();
  }

  static LocalCluster* source_;
  static LocalCluster* target_;
};

LocalCluster* ApplyBackTest::source_ = nullptr;
LocalCluster* ApplyBackTest::target_ = nullptr;

TEST_F(ApplyBackTest, TriggersThatWouldFireAgainRefuseTheStart) {
  CliRun refused = run_pgshift(args(), {}, util::Millis(60'000));
  EXPECT_EQ(refused.exit_code, 1) << refused.all();
  EXPECT_NE(refused.err.find("items (items_audit)"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--allow-triggers"), std::string::npos) << refused.err;
  expect_no_password(refused.all());
  // The operator's fix for the rollback window, as the table owner.
  pg::Connection owner = owner_conn();
  owner.exec("ALTER TABLE items DISABLE TRIGGER items_audit");
}

TEST_F(ApplyBackTest, AppliesEveryKindOfChangeAsAnOrdinaryOwner) {
  util::Child apply = start_apply("changes.log");
  pg::Connection t = connect(*target_, "app");
  run_sql(t, R"sql(
INSERT INTO counter VALUES (1, 0);
-- About 200 kB that does not compress: stored out of line (TOAST).
INSERT INTO items SELECT 1, 'one', 'happy', string_agg(md5(g::text || 'x'), '') , NULL FROM generate_series(1, 6000) g;
INSERT INTO items VALUES (2, 'two', 'sad', 'small', 'n'), (3, 'three', NULL, NULL, NULL);
INSERT INTO events VALUES ('a', 'x'), ('a', 'x'), ('b', NULL), ('c', 'keep');
UPDATE items SET label = 'uno', mood = 'ok' WHERE id = 1;
UPDATE items SET id = 20 WHERE id = 2;
DELETE FROM items WHERE id = 3;
UPDATE events SET payload = 'y' WHERE kind = 'a';
DELETE FROM events WHERE kind = 'b';
)sql");
  // One transaction with several changes, including a row inserted and changed in it.
  run_sql(t, "BEGIN; INSERT INTO items VALUES (4, 'four', 'ok', NULL, 'tx'); UPDATE items SET note = 'tx2' WHERE id = 4; "
             "UPDATE counter SET n = n + 1; COMMIT");
  expect_caught_up();
  pg::Connection s = connect(*source_, "app");
  EXPECT_EQ(s.exec("SELECT length(big) FROM items WHERE id = 1").scalar(), "192000") << "the TOASTed value kept";
  EXPECT_EQ(s.exec("SELECT label || ' ' || mood FROM items WHERE id = 1").scalar(), "uno ok");
  EXPECT_EQ(count_rows(s, "events WHERE kind = 'a' AND payload = 'y'"), 2) << "both duplicate rows updated";
  EXPECT_EQ(count_rows(s, "audit"), 0) << "the disabled application trigger did not fire";

  run_sql(t, "TRUNCATE events");
  ASSERT_TRUE(wait_until([&] { return count_rows(s, "events") == 0; }, util::Millis(30'000)));
  expect_caught_up();
  stop(apply, "changes.log");
  // The slot was confirmed up to what the source stored. The last status goes out just before the
  // process exits; the walsender may read it a moment after (seen once on a loaded machine).
  std::string confirmed;
  EXPECT_TRUE(wait_until(
      [&] {
        confirmed = t.exec("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", {kSlot})
                        .scalar();
        return t.exec("SELECT $1::pg_lsn >= $2::pg_lsn", {confirmed, stored_lsn()}).scalar() == "t";
      },
      util::Millis(5'000)))
      << confirmed << " vs " << stored_lsn();
}

TEST_F(ApplyBackTest, KillNineMidStreamLosesNothingAndAppliesNothingTwice) {
  static constexpr int kTransactions = 3000;
  std::thread writer([] {
    pg::Connection w = connect(*target_, "app");
    // One transaction per iteration: the counter moves and the ledger gains the iteration's id.
    w.exec("INSERT INTO counter VALUES (2, 0)");
    w.exec_simple(fmt::format(R"sql(
DO $$ BEGIN
  FOR i IN 1..{} LOOP
    UPDATE counter SET n = n + 1 WHERE id = 2;
    INSERT INTO ledger VALUES (i, 'tx ' || i);
    COMMIT;
  END LOOP;
END $$)sql", kTransactions));
  });
  pg::Connection s = connect(*source_, "app");
  int kills = 0;
  for (int64_t at : {300, 1200, 2100}) {
    util::Child apply = start_apply(fmt::format("kill-{}.log", kills));
    bool reached = wait_until([&] { return count_rows(s, "ledger") >= at; }, util::Millis(120'000));
    apply.signal(SIGKILL);
    apply.wait();
    ++kills;
    ASSERT_TRUE(reached) << file_text(log_path(fmt::format("kill-{}.log", kills - 1)));
  }
  writer.join();
  util::Child apply = start_apply("after-kills.log");
  expect_caught_up();
  EXPECT_EQ(count_rows(s, "ledger"), kTransactions);
  EXPECT_EQ(s.exec("SELECT count(DISTINCT id) FROM ledger").scalar_int64(), kTransactions) << "a row applied twice";
  EXPECT_EQ(s.exec("SELECT min(id)::text || '-' || max(id)::text FROM ledger").scalar(), fmt::format("1-{}", kTransactions));
  pg::Connection t = connect(*target_, "app");
  EXPECT_EQ(s.exec("SELECT n FROM counter WHERE id = 2").scalar(), std::to_string(kTransactions));
  stop(apply, "after-kills.log");
}

TEST_F(ApplyBackTest, AConflictStopsTheApplyNamingTableAndKeyWithTheLsnUnmoved) {
  util::Child apply = start_apply("conflict.log");
  pg::Connection t = connect(*target_, "app");
  pg::Connection s = connect(*source_, "app");
  t.exec("INSERT INTO items VALUES (99, 'before', NULL, NULL, NULL)");
  ASSERT_TRUE(wait_until([&] { return count_rows(s, "items WHERE id = 99") == 1; }, util::Millis(30'000)));
  const std::string before = stored_lsn();
  s.exec("INSERT INTO items VALUES (100, 'planted on the source', NULL, NULL, NULL)");
  t.exec("INSERT INTO items VALUES (100, 'from the target', NULL, NULL, NULL)");
  std::string log = conflict_output(apply, "conflict.log");
  EXPECT_NE(log.find("INSERT of public.items on source"), std::string::npos) << log;
  EXPECT_NE(log.find("Key (id)=(100) already exists"), std::string::npos) << log;
  EXPECT_EQ(stored_lsn(), before) << "the progress moved past the conflicting transaction";

  // An UPDATE that finds no row stops it too, after the operator resolved the first conflict.
  s.exec("DELETE FROM items WHERE id IN (100, 99)");
  const std::string before_update = t.exec("SELECT pg_current_wal_lsn()::text").scalar();
  t.exec("UPDATE items SET label = 'changed' WHERE id = 99");
  util::Child again = start_apply("conflict-2.log");
  log = conflict_output(again, "conflict-2.log");
  EXPECT_NE(log.find("UPDATE of public.items key (id)=(99) on source"), std::string::npos) << log;
  EXPECT_NE(log.find("found no row"), std::string::npos) << log;
  EXPECT_EQ(count_rows(s, "items WHERE id = 100"), 1) << "the first transaction is applied now";
  EXPECT_EQ(s.exec("SELECT $1::pg_lsn <= $2::pg_lsn", {stored_lsn(), before_update}).scalar(), "t")
      << "the progress moved past the UPDATE that found no row: " << stored_lsn() << " > " << before_update;

  // Resolved: it goes on from where it stopped.
  s.exec("INSERT INTO items VALUES (99, 'before', NULL, NULL, NULL)");
  util::Child resumed = start_apply("conflict-3.log");
  expect_caught_up();
  stop(resumed, "conflict-3.log");
}

// The statements of a transaction are pipelined in batches: a conflict deep in a large one still
// rolls all of it back, and an error at PREPARE (a column the source lacks) names its statement.
TEST_F(ApplyBackTest, AConflictDeepInALargeTransactionRollsAllOfItBack) {
  pg::Connection t = connect(*target_, "app");
  pg::Connection s = connect(*source_, "app");
  util::Child apply = start_apply("big-conflict.log");
  t.exec("INSERT INTO items VALUES (1000, 'marker', NULL, NULL, NULL)");
  ASSERT_TRUE(wait_until([&] { return count_rows(s, "items WHERE id = 1000") == 1; }, util::Millis(30'000)));
  const std::string before = stored_lsn();
  s.exec("INSERT INTO items VALUES (2100, 'planted', NULL, NULL, NULL)");
  t.exec("INSERT INTO items SELECT g, 'bulk', NULL, NULL, NULL FROM generate_series(1001, 2200) g");
  std::string log = conflict_output(apply, "big-conflict.log");
  EXPECT_NE(log.find("INSERT of public.items on source"), std::string::npos) << log;
  EXPECT_NE(log.find("Key (id)=(2100) already exists"), std::string::npos) << log;
  EXPECT_EQ(count_rows(s, "items WHERE id BETWEEN 1001 AND 2200"), 1) << "part of the transaction was applied";
  EXPECT_EQ(stored_lsn(), before);

  s.exec("DELETE FROM items WHERE id = 2100");
  t.exec("ALTER TABLE items ADD COLUMN extra int DEFAULT 7");
  t.exec("INSERT INTO items (id, label) VALUES (2300, 'with extra')");
  util::Child again = start_apply("missing-column.log");
  log = conflict_output(again, "missing-column.log");
  EXPECT_NE(log.find("INSERT of public.items on source"), std::string::npos) << log;
  EXPECT_NE(log.find(R"(column "extra" of relation "items" does not exist)"), std::string::npos) << log;
  EXPECT_EQ(count_rows(s, "items WHERE id BETWEEN 1001 AND 2200"), 1200) << "the large transaction is applied now";

  pg::Connection owner = owner_conn();
  owner.exec("ALTER TABLE items ADD COLUMN extra int DEFAULT 7");
  util::Child resumed = start_apply("extra-column.log");
  ASSERT_TRUE(wait_until([&] { return count_rows(s, "items WHERE id = 2300 AND extra = 7") == 1; }, util::Millis(30'000)));
  expect_caught_up();
  stop(resumed, "extra-column.log");
  owner.exec("ALTER TABLE items DROP COLUMN extra");
  t.exec("ALTER TABLE items DROP COLUMN extra");
}

// A superuser applies with session_replication_role = replica, as the native apply does: the
// application's triggers stay enabled and do not fire for replicated changes.
TEST_F(ApplyBackTest, ASuperuserAppliesWithTriggersEnabledAndSilent) {
  pg::Connection owner = owner_conn();
  owner.exec("ALTER TABLE items ENABLE TRIGGER items_audit");
  const int64_t audited = count_rows(owner, "audit");
  util::Child apply = start_apply("superuser.log", {"--json"}, "postgres");
  pg::Connection t = connect(*target_, "app");
  t.exec("INSERT INTO items VALUES (500, 'by a superuser apply', 'ok', NULL, NULL)");
  t.exec("UPDATE items SET note = 'updated' WHERE id = 500");
  ASSERT_TRUE(wait_until([&] { return count_rows(owner, "items WHERE id = 500 AND note = 'updated'") == 1; },
                         util::Millis(30'000)))
      << file_text(log_path("superuser.log"));
  EXPECT_EQ(count_rows(owner, "audit"), audited) << "the application's trigger fired for a replicated change";
  owner.exec("INSERT INTO items VALUES (501, 'written by the application', NULL, NULL, NULL)");
  EXPECT_EQ(count_rows(owner, "audit"), audited + 1) << "the trigger is enabled for the application";
  owner.exec("DELETE FROM items WHERE id = 501");
  stop(apply, "superuser.log");
  std::string log = file_text(log_path("superuser.log"));
  nlohmann::json summary = nlohmann::json::parse(log.substr(log.find("{\n")));
  EXPECT_EQ(summary["triggers"], "replica") << summary.dump();
  EXPECT_EQ(summary["transactions"], 2) << summary.dump();
  EXPECT_EQ(summary["changes"], 2) << summary.dump();
  EXPECT_TRUE(summary["stopped"].get<bool>());
  owner.exec("ALTER TABLE items DISABLE TRIGGER items_audit");
}

}  // namespace
