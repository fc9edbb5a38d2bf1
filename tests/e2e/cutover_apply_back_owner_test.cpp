// Issue 27, the proof on a managed-provider source: the source's only pgshift role is the
// database's owner (LOGIN REPLICATION, no superuser), so the replication back is pgshift's own
// apply, passing the source's fence with its token. Under the application's load through
// PgBouncer:
//  - kill -9 of the background apply mid-stream, twice, each time restarted the documented way
//    (`pgshift sync apply-back --detach`, which the journal records so status, rollback and
//    finalize see the new process); then rollback: 0 lost acknowledged writes, no row applied
//    twice (a table without a key whose every row is distinct, the ledger's counter), and
//    `pgshift verify --mode full` finds both sides equal;
//  - a conflict planted on the source (a unique violation, then a row missing for an UPDATE)
//    stops the apply without skipping anything; status names the transaction, table and key as
//    the last error; removing the cause and restarting goes on with nothing lost;
//  - a schema change on the target is followed by an ordinary role's apply: it runs the DDL log
//    entry itself, before the rows that need it.
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cutover_fixture.hpp"
#include "stats/diagnostics.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {


class ApplyBackOwnerTest : public CutoverPair {
 protected:
  std::string source_owner() const override { return "app_owner"; }

  void SetUp() override {
    CutoverPair::SetUp();
    log_ = (std::filesystem::temp_directory_path() / fmt::format("pgshift-ab-owner-{}.log", ::getpid())).string();
    std::filesystem::remove(log_);
  }
  void TearDown() override { std::filesystem::remove(log_); }

  static bool pid_alive(int pid) {
    std::ifstream in(fmt::format("/proc/{}/cmdline", pid));
    std::string s;
    return pid > 0 && ::kill(pid, 0) == 0 && std::getline(in, s) && !s.empty();
  }

  std::string log_text() const {
    std::ifstream in(log_);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  }

  json cutover_through_pgshift() {
    json cut = switch_under_load({"cutover", "--json", "--replicate-back", "pgshift", "--apply-back-log", log_}, *target_);
    EXPECT_TRUE(cut.value("switched", false)) << cut.dump();
    EXPECT_EQ(count(*source_, "SELECT count(*) FROM pg_subscription"), 0) << "no subscription on the source";
    return cut;
  }

  // `pgshift status --json`'s apply_back (null when status shows none).
  json apply_status() {
    CliRun st = pgshift({"status", "--json"}, false);
    json j = json::parse(st.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << st.all();
    return j.is_discarded() ? json() : j.value("apply_back", json());
  }

  // The documented restart: exit 0 and the new pid.
  int restart() {
    CliRun r = pgshift({"sync", "apply-back", "--detach", "--json"}, false);
    EXPECT_EQ(r.exit_code, 0) << r.all();
    expect_no_password(r.all());
    json j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? -1 : j.value("pid", -1);
  }

  bool stopped_with_error() {
    json a = apply_status();
    return a.is_object() && !a["running"].get<bool>() && a["last_error"].is_string();
  }

  // Both sides hold the same rows of `table` (by count; the fence keeps clients off the source).
  bool caught_up(const std::string& table) {
    return count(*source_, "SELECT count(*) FROM " + table) == count(*target_, "SELECT count(*) FROM " + table);
  }

  // A superuser session on the source that passes the fence (as an operator resolving a conflict).
  pg::Connection source_operator() {
    pg::Connection c = connect(*source_, "app");
    c.exec("SET session_replication_role = replica");
    return c;
  }

  // /metrics' replication lag of the reverse slot on the target (the consumer's confirmed position).
  double reverse_slot_lag() {
    pg::Connection t = connect(*target_, "app");
    std::string slot = t.exec("SELECT slot_name FROM pg_replication_slots").scalar();
    for (const auto& g : stats::gauges(t)) {
      if (g.name == "pgshift_replication_slot_confirmed_lag_bytes" && g.labels.at(0).second == slot) return g.value;
    }
    ADD_FAILURE() << "no pgshift_replication_slot_confirmed_lag_bytes for " << slot;
    return -1;
  }

  std::string log_;
};

TEST_F(ApplyBackOwnerTest, KillNineMidStreamRestartThenRollbackLosesNothingAndAppliesNothingTwice) {
  json cut = cutover_through_pgshift();
  ASSERT_TRUE(cut.value("switched", false));
  json first = apply_status();
  ASSERT_TRUE(first.is_object()) << "status shows no apply_back";
  ASSERT_TRUE(first["running"].get<bool>()) << first.dump() << log_text();
  int pid = first["pid"].get<int>();

  // The application through the pooler (now the target), and a second writer on the target:
  // transactions of 50 distinct rows into `events`, which has no key (a row applied twice is
  // a duplicate there, not an error).
  demo::Workload load({bouncer_->url("app"), 4, 150});
  load.start();
  TargetEventWriter events(*target_);

  for (int kill = 0; kill < 2; ++kill) {
    SCOPED_TRACE(fmt::format("kill {}", kill + 1));
    // Mid-stream: the source is receiving rows when the process dies.
    int64_t seen = count(*source_, "SELECT count(*) FROM events");
    ASSERT_TRUE(wait_until([&] { return count(*source_, "SELECT count(*) FROM events") > seen + 500; },
                           util::Millis(30'000)))
        << "the apply is not moving; log:\n" << log_text();
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    ASSERT_TRUE(wait_until([&] { return !pid_alive(pid); }, util::Millis(10'000)));
    json dead = apply_status();
    ASSERT_TRUE(dead.is_object());
    EXPECT_EQ(dead["pid"], pid);
    EXPECT_FALSE(dead["running"].get<bool>()) << "status must show the killed apply as not running";

    int again = restart();
    ASSERT_GT(again, 0);
    EXPECT_NE(again, pid);
    json now = apply_status();
    ASSERT_TRUE(now.is_object());
    EXPECT_EQ(now["pid"], again) << "status must follow the restarted process";
    EXPECT_TRUE(now["running"].get<bool>()) << now.dump();
    EXPECT_TRUE(now["last_error"].is_null()) << now.dump();
    pid = again;
  }
  // Restarting while it runs is refused: two would fight over the slot.
  CliRun twice = pgshift({"sync", "apply-back", "--detach"}, false);
  EXPECT_EQ(twice.exit_code, 2) << twice.all();
  EXPECT_NE(twice.err.find(fmt::format("pid {}", pid)), std::string::npos) << twice.err;

  const int64_t event_transactions = events.stop();
  load.stop();
  demo::WorkloadOutcome out = load.outcome();
  EXPECT_TRUE(out.errors.empty()) << out.errors.size() << " client errors";
  ASSERT_FALSE(out.acknowledged_ids.empty());
  EXPECT_EQ(count_ids(*target_, out.acknowledged_ids), static_cast<int64_t>(out.acknowledged_ids.size()));

  const int64_t event_rows = event_transactions * TargetEventWriter::kRowsPerTransaction;
  EXPECT_TRUE(wait_until([&] { return caught_up("events") && caught_up("ledger"); }, util::Millis(60'000)))
      << "the restarted apply did not catch up; log:\n" << log_text();
  EXPECT_EQ(count(*source_, "SELECT count(*) FROM events WHERE what LIKE 'r%'"), event_rows) << "rows lost or doubled";
  EXPECT_EQ(count(*source_, "SELECT count(DISTINCT what) FROM events WHERE what LIKE 'r%'"), event_rows)
      << "a row applied twice";
  EXPECT_EQ(count_ids(*source_, out.acknowledged_ids), static_cast<int64_t>(out.acknowledged_ids.size()))
      << "acknowledged writes missing on the source";

  // Rollback over the restarted process: it waits for it to reach the fence and stops it.
  json back = switch_under_load({"rollback", "--json"}, *source_);
  ASSERT_TRUE(back.value("switched", false)) << back.dump();
  EXPECT_FALSE(pid_alive(pid)) << "rollback must stop the restarted apply";
  EXPECT_EQ(phase(), "syncing");
  EXPECT_EQ(count(*source_, "SELECT n FROM counters WHERE k = 1"), count(*source_, "SELECT count(*) FROM ledger"))
      << "the ledger's counter and its rows disagree on the source";
  EXPECT_EQ(count(*source_, "SELECT count(DISTINCT what) FROM events WHERE what LIKE 'r%'"), event_rows);
  EXPECT_EQ(count(*target_, "SELECT count(*) FROM pg_replication_slots"), 0);

  // Forward replication again: once the target has the source's rows, verify finds no difference.
  EXPECT_TRUE(wait_until([&] { return caught_up("ledger") && caught_up("events"); }, util::Millis(30'000)));
  CliRun v = pgshift({"verify", "--mode", "full", "--json"}, false);
  EXPECT_EQ(v.exit_code, 0) << v.all();
  json vj = json::parse(v.out, nullptr, false);
  ASSERT_FALSE(vj.is_discarded()) << v.all();
  std::printf("verify --mode full: exit %d, %s\n", v.exit_code, vj.value("summary", json()).dump().c_str());
}

TEST_F(ApplyBackOwnerTest, AConflictPlantedOnTheSourceStopsItNamedInStatusAndARestartGoesOn) {
  json cut = cutover_through_pgshift();
  ASSERT_TRUE(cut.value("switched", false));
  pg::Connection tgt = connect(*target_, "app");
  ASSERT_TRUE(wait_until([&] { return caught_up("ledger"); }, util::Millis(30'000))) << log_text();

  // A unique violation: the source already has the name the target's transaction inserts.
  pg::Connection op = source_operator();
  op.exec("INSERT INTO tags VALUES ('planted', 0)");
  tgt.exec("INSERT INTO tags VALUES ('planted', 7)");
  tgt.exec("INSERT INTO notes (body, feeling) VALUES ('after the conflict', 'great')");
  ASSERT_TRUE(wait_until([&] { return stopped_with_error(); }, util::Millis(30'000)))
      << apply_status().dump() << "\n" << log_text();
  json a = apply_status();
  std::string err = a["last_error"];
  EXPECT_NE(err.find("apply-back stopped at transaction"), std::string::npos) << err;
  EXPECT_NE(err.find("(commit "), std::string::npos) << err;
  EXPECT_NE(err.find("INSERT of public.tags"), std::string::npos) << err;
  EXPECT_NE(err.find("(name)=(planted)"), std::string::npos) << err;
  EXPECT_NE(err.find("23505"), std::string::npos) << err;
  CliRun text = pgshift({"status"}, false);
  EXPECT_NE(text.out.find("NOT RUNNING"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("last error: apply-back stopped at transaction"), std::string::npos) << text.out;
  // Nothing skipped: neither the conflicting transaction nor the one after it reached the source.
  EXPECT_EQ(op.exec("SELECT weight FROM tags WHERE name = 'planted'").scalar_int64(), 0);
  EXPECT_EQ(count(*source_, "SELECT count(*) FROM notes WHERE body = 'after the conflict'"), 0);

  // Restarted before the cause is removed, it stops at the same place again.
  CliRun early = pgshift({"sync", "apply-back", "--detach"}, false);
  EXPECT_TRUE(early.exit_code == 3 || early.exit_code == 0) << early.all();
  ASSERT_TRUE(wait_until([&] { return stopped_with_error(); }, util::Millis(30'000))) << log_text();
  EXPECT_EQ(count(*source_, "SELECT count(*) FROM notes WHERE body = 'after the conflict'"), 0);

  // /metrics shows the replication back's lag growing while it is stopped.
  tgt.exec("INSERT INTO events SELECT now(), 'while stopped ' || g FROM generate_series(1, 5000) g");
  const double stopped_lag = reverse_slot_lag();
  EXPECT_GT(stopped_lag, 100'000) << "5000 rows written since the stop are not in the slot's lag";

  // Resolved on the source, restarted: it goes on from the conflicting transaction.
  op.exec("DELETE FROM tags WHERE name = 'planted'");
  ASSERT_GT(restart(), 0);
  EXPECT_TRUE(wait_until([&] { return count(*source_, "SELECT count(*) FROM notes WHERE body = 'after the conflict'") == 1; },
                         util::Millis(30'000)))
      << log_text();
  EXPECT_TRUE(wait_until([&] { return reverse_slot_lag() < stopped_lag / 2; }, util::Millis(30'000)))
      << "the lag did not fall after the restart: " << reverse_slot_lag() << " vs " << stopped_lag;
  EXPECT_EQ(op.exec("SELECT weight FROM tags WHERE name = 'planted'").scalar_int64(), 7);
  json ok = apply_status();
  EXPECT_TRUE(ok["running"].get<bool>()) << ok.dump();
  EXPECT_TRUE(ok["last_error"].is_null()) << ok.dump();

  // A row missing for an UPDATE stops it too, naming the key.
  op.exec("DELETE FROM notes WHERE id = 3");
  tgt.exec("UPDATE notes SET body = 'changed' WHERE id = 3");
  ASSERT_TRUE(wait_until([&] { return stopped_with_error(); }, util::Millis(30'000))) << log_text();
  err = apply_status()["last_error"];
  EXPECT_NE(err.find("UPDATE of public.notes key (id)=(3)"), std::string::npos) << err;
  EXPECT_NE(err.find("found no row"), std::string::npos) << err;
  op.exec("INSERT INTO notes (id, body, feeling) VALUES (3, 'n3', 'ok')");
  ASSERT_GT(restart(), 0);
  EXPECT_TRUE(wait_until([&] { return count(*source_, "SELECT count(*) FROM notes WHERE id = 3 AND body = 'changed'") == 1; },
                         util::Millis(30'000)))
      << log_text();

  // Nothing lost over the whole window: the source has every row of the target.
  for (const char* table : {"ledger", "notes", "tags", "events"}) {
    EXPECT_TRUE(wait_until([&] { return caught_up(table); }, util::Millis(30'000))) << table;
  }
  json b = apply_status();
  int pid = b["pid"].get<int>();
  CliRun fin = pgshift({"finalize", "--json"}, false);
  ASSERT_EQ(fin.exit_code, 0) << fin.all();
  EXPECT_FALSE(pid_alive(pid)) << "finalize must stop the restarted apply";
  EXPECT_EQ(count(*target_, "SELECT count(*) FROM pg_replication_slots"), 0);
}

// A schema change on the new writer while the apply runs as an ordinary role: the DDL log's apply
// trigger fires only under session_replication_role = replica (a superuser's apply, or the native
// worker), so pgshift's apply runs the entry itself in the statement that inserts its row
// (pgshift.ddl_apply_entry): the column reaches the source before the row that needs it. The
// change was made by the target's superuser, a role the source's owner may not act as: it runs as
// the owner, and the outcome says so.
TEST_F(ApplyBackOwnerTest, ASchemaChangeOnTheTargetIsFollowedByAnOrdinaryRolesApply) {
  json cut = cutover_through_pgshift();
  ASSERT_TRUE(cut.value("switched", false));
  pg::Connection tgt = connect(*target_, "app");
  tgt.exec("ALTER TABLE notes ADD COLUMN archived boolean NOT NULL DEFAULT false");
  tgt.exec("INSERT INTO notes (body, feeling, archived) VALUES ('after the migration', 'great', true)");
  ASSERT_TRUE(wait_until([&] { return count_when_there(*source_, "SELECT count(*) FROM notes WHERE archived") == 1; },
                         util::Millis(30'000)))
      << apply_status().dump() << "\n" << log_text();
  EXPECT_TRUE(apply_status()["last_error"].is_null()) << apply_status().dump();
  pg::Connection src = connect(*source_, "app");
  std::string outcome = src.exec("SELECT o.outcome || ': ' || o.detail FROM pgshift.ddl_outcome o "
                                 "JOIN pgshift.ddl_log l USING (id) WHERE l.statement ILIKE '%archived%'")
                            .scalar();
  EXPECT_TRUE(outcome.starts_with("applied: as ")) << outcome;
  EXPECT_NE(outcome.find("may not act as it"), std::string::npos) << outcome;
  EXPECT_TRUE(wait_until([&] { return caught_up("notes"); }, util::Millis(30'000)));
}

}  // namespace
