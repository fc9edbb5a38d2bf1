// The shared rooms sync builds on, used directly the way cutover will: the journal (steps,
// compensations, phases, append-only) and the write fence (idempotent, partitions, lift; armed in
// one statement over triggers put in place before, holding no table lock, waiting for the writers
// already under way).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fence/fence.hpp"
#include "pg/error.hpp"
#include "state/journal.hpp"
#include "support/support.hpp"
#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

class JournalFenceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("journal").release();
    cluster_->create_database("journal");
    cluster_->create_database("fence");
    cluster_->create_database("arm");
  }
  static void TearDownTestSuite() { delete cluster_; }
  static LocalCluster* cluster_;
};

LocalCluster* JournalFenceTest::cluster_ = nullptr;

TEST_F(JournalFenceTest, JournalRecordsStepsCompensationsAndPhases) {
  pg::Connection conn = connect(*cluster_, "journal");
  state::Journal journal(conn, "cutover");
  EXPECT_FALSE(journal.current().has_value()) << "no schema yet: no migration, and nothing created";
  EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_namespace WHERE nspname = 'pgshift'").scalar_int64(), 0);

  state::Migration m = journal.begin({{"source", "app@db1:5432/shop"}}, state::Phase::syncing);
  EXPECT_EQ(journal.current()->id, m.id);
  EXPECT_EQ(journal.current()->plan["source"], "app@db1:5432/shop");

  nlohmann::json done = journal.run_step(m.id, "pause-pooler", [] { return nlohmann::json{{"paused", 2}}; });
  EXPECT_EQ(done["paused"], 2);
  EXPECT_THROW(journal.run_step(m.id, "switch", []() -> nlohmann::json { throw RuntimeError("switch command exit 1"); }),
               RuntimeError);
  auto failed = journal.last_event(m.id, "switch");
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->status, state::EventStatus::failed);
  EXPECT_EQ(failed->detail["error"], "switch command exit 1");
  EXPECT_EQ(journal.last_event(m.id, "pause-pooler", state::EventStatus::started)->command, "cutover");
  EXPECT_NE(failed->who.find('@'), std::string::npos);
  EXPECT_EQ(failed->version, PGSHIFT_VERSION);
  EXPECT_EQ(failed->at.size(), 24u) << failed->at;  // 2025-06-01T10:00:00.000Z

  state::Event first = journal.compensation(m.id, "fence", {{"database", "source"}});
  journal.compensation(m.id, "pooler", {{"resume", "app"}});
  auto open = journal.open_compensations(m.id);
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[0].step, "pooler") << "most recent first";
  journal.settle(m.id, first, {{"lifted", true}});
  open = journal.open_compensations(m.id);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].step, "pooler");
  EXPECT_TRUE(journal.open_compensations(m.id, "fence").empty());

  journal.set_phase(m.id, state::Phase::cut_over);
  EXPECT_EQ(journal.current()->phase, state::Phase::cut_over);
  EXPECT_GE(journal.events(m.id).size(), 7u);

  // History is append-only.
  try {
    conn.exec("UPDATE pgshift.event SET status = 'finished'");
    ADD_FAILURE() << "an event was rewritten";
  } catch (const pg::SqlError& e) {
    EXPECT_NE(e.server_message().find("append-only"), std::string::npos) << e.what();
  }
  EXPECT_THROW(conn.exec("DELETE FROM pgshift.event"), pg::SqlError);
}

TEST_F(JournalFenceTest, FenceIsIdempotentCoversPartitionsAndLiftsCompletely) {
  pg::Connection conn = connect(*cluster_, "fence");
  run_sql(conn, R"sql(
CREATE TABLE "Odd Name" (id int PRIMARY KEY);
CREATE TABLE m (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE m_1 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
)sql");
  std::vector<catalog::TableRef> tables = {{"public", "Odd Name"}, {"public", "m"}};
  fence::fence(conn, tables, "write to the new primary");
  fence::fence(conn, tables, "write to the new primary");  // again: no error, nothing doubled
  EXPECT_TRUE(fence::is_fenced(conn));
  EXPECT_EQ(fence::fenced_tables(conn), tables);
  EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgshift_fence%'").scalar_int64(), 6)
      << "row + truncate on each of the two tables, and on the partition its inherited row trigger and its own "
         "truncate trigger";
  for (const char* sql : {"INSERT INTO \"Odd Name\" VALUES (1)", "INSERT INTO m_1 VALUES (1, '2024-02-02')",
                          "TRUNCATE m_1", "TRUNCATE m"}) {
    try {
      conn.exec(sql);
      ADD_FAILURE() << "not fenced: " << sql;
    } catch (const pg::SqlError& e) {
      EXPECT_EQ(e.sqlstate(), "25006") << sql;
      EXPECT_NE(e.server_message().find("is fenced by a pgshift migration: write to the new primary"), std::string::npos)
          << e.server_message();
    }
  }
  EXPECT_THROW(fence::fence(conn, {{"public", "missing"}}, "x"), pg::SqlError);
  EXPECT_EQ(fence::lift(conn), 2u);
  EXPECT_EQ(fence::lift(conn), 0u);
  EXPECT_FALSE(fence::is_fenced(conn));
  EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgshift_fence%'").scalar_int64(), 0);
  run_sql(conn, "INSERT INTO m_1 VALUES (1, '2024-02-02'); TRUNCATE m");
}

namespace arm {

std::string write_error(pg::Connection& conn, const std::string& sql) {
  try {
    run_sql(conn, sql);
    return "";
  } catch (const pg::SqlError& e) {
    return e.sqlstate();
  }
}

}  // namespace arm

// Cutover puts the triggers in place before its pause and arms them inside it: arming must take
// no lock on any table (a per-table lock or DDL grows with the table count, and queues behind
// VACUUM or a long reader), must stop a REPEATABLE READ transaction that began before it, and
// must wait for a transaction that wrote to a fenced table before it (that commit must precede
// the WAL position cutover reads after the fence).
TEST_F(JournalFenceTest, ArmedInOneStatementOverPreparedTriggersWithoutTableLocks) {
  pg::Connection conn = connect(*cluster_, "arm");
  run_sql(conn, "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);"
                "CREATE TABLE p (id int, at date) PARTITION BY RANGE (at);"
                "CREATE TABLE p_1 PARTITION OF p FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');");
  std::vector<catalog::TableRef> tables = {{"public", "a"}, {"public", "b"}, {"public", "p"}};
  fence::Prepared prepared = fence::prepare(conn, tables);
  EXPECT_EQ(prepared.relids.size(), 4u) << "a, b, p and its partition";
  EXPECT_FALSE(fence::is_fenced(conn)) << "prepared triggers are inert";
  EXPECT_EQ(fence::prepared_tables(conn), tables);
  EXPECT_EQ(arm::write_error(conn, "INSERT INTO a VALUES (1); UPDATE a SET id = 2; DELETE FROM a; "
                                   "INSERT INTO p_1 VALUES (1, '2024-02-02'); TRUNCATE b"),
            "")
      << "inert triggers let every write through";
  EXPECT_EQ(conn.exec("SELECT count(*) FROM p").scalar_int64(), 1);

  // VACUUM's lock on one table and a long reader on another: CREATE TRIGGER would queue behind
  // the first (and lock_timeout), arming does not.
  pg::Connection vacuum_like = connect(*cluster_, "arm");
  run_sql(vacuum_like, "BEGIN; LOCK TABLE b IN SHARE UPDATE EXCLUSIVE MODE");
  pg::Connection reader = connect(*cluster_, "arm");
  run_sql(reader, "BEGIN; SELECT count(*) FROM p");
  // Began before the fence, writes after it: the body is found through the catalog, not this
  // transaction's snapshot.
  pg::Connection early = connect(*cluster_, "arm");
  run_sql(early, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class");

  fence::arm(conn, prepared, "write elsewhere", util::Millis(2000));
  EXPECT_TRUE(fence::is_fenced(conn));
  EXPECT_EQ(arm::write_error(early, "INSERT INTO a VALUES (5)"), "25006") << "a snapshot older than the fence";
  run_sql(early, "ROLLBACK");
  run_sql(vacuum_like, "COMMIT");
  run_sql(reader, "COMMIT");
  for (const char* sql : {"INSERT INTO a VALUES (3)", "INSERT INTO p_1 VALUES (2, '2024-03-03')", "TRUNCATE p_1",
                          "DELETE FROM p"}) {
    EXPECT_EQ(arm::write_error(conn, sql), "25006") << sql;
  }

  // Disarmed in one statement: the triggers stay (inert), writes flow, arming again is instant.
  EXPECT_EQ(fence::disarm(conn), 3u);
  EXPECT_FALSE(fence::is_fenced(conn));
  EXPECT_EQ(arm::write_error(conn, "INSERT INTO a VALUES (4)"), "");
  EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgshift_fence%'").scalar_int64(), 8);

  // A transaction that wrote before the fence and has not committed: arming waits for it to end
  // (here it does not within the wait, and the fence says so; the fence is armed regardless).
  pg::Connection inflight = connect(*cluster_, "arm");
  run_sql(inflight, "BEGIN; INSERT INTO a VALUES (10)");
  try {
    fence::arm(conn, prepared, "write elsewhere", util::Millis(300));
    ADD_FAILURE() << "arm returned while a writer from before it was still open";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("did not end"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("a (pid"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fence::is_fenced(conn));
  run_sql(inflight, "COMMIT");
  fence::arm(conn, prepared, "write elsewhere", util::Millis(2000));  // nothing to wait for now
  EXPECT_EQ(arm::write_error(inflight, "INSERT INTO a VALUES (11)"), "25006");

  // A trigger removed since prepare(): arming refuses rather than leave a table open.
  fence::disarm(conn);
  run_sql(conn, "DROP TRIGGER pgshift_fence_truncate ON b");
  EXPECT_THROW(fence::arm(conn, prepared, "write elsewhere"), RuntimeError);
  EXPECT_FALSE(fence::is_fenced(conn));
  fence::arm(conn, fence::prepare(conn, tables), "write elsewhere");
  EXPECT_EQ(arm::write_error(conn, "TRUNCATE b"), "25006");

  EXPECT_EQ(fence::lift(conn), 3u);
  EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgshift_fence%'").scalar_int64(), 0);
  EXPECT_EQ(arm::write_error(conn, "INSERT INTO a VALUES (12)"), "");
}

}  // namespace
