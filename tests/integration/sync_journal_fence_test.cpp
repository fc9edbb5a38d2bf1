// The shared rooms sync builds on, used directly the way cutover will: the journal (steps,
// compensations, phases, append-only) and the write fence (idempotent, partitions, lift).
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

}  // namespace
