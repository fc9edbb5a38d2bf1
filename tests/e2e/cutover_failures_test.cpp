// Cutover failures: a failure injected at each step before the switch leaves the source the
// writer with replication intact and nothing half-done; pgshift killed with SIGKILL while the
// pooler is paused gets traffic flowing again within 5 s (the watchdog), and --resume finishes
// (exit 0) or rolls back (exit 4) from the journal.
#include "cutover_fixture.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

using CutoverFailures = CutoverPair;

TEST_F(CutoverFailures, AFailureAtEachStepBeforeTheSwitchLeavesTheSourceWriting) {
  for (const std::string step : {"preconditions", "verify", "prepare-back", "prepare-fence", "prepare-sequences", "drain", "pause", "fence", "catch-up",
                                 "sequences", "stop-replication", "replicate-back", "switch"}) {
    CliRun run = pgshift({"cutover", "--fail-at", step, "--drain-query", "SELECT 0"});
    EXPECT_EQ(run.exit_code, 3) << step << ": " << run.all();
    EXPECT_NE(run.err.find("failed at " + step), std::string::npos) << run.err;
    expect_no_password(run.all());
    expect_source_writer_and_replication_intact("after --fail-at " + step);
  }
  // The pooler config was restored after the failed switch, and a clean cutover still works.
  CliRun ok = pgshift({"cutover", "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.all();
  EXPECT_EQ(phase(), "cut_over");
}

TEST_F(CutoverFailures, PreconditionsAreCheckedBeforeAnythingChanges) {
  CliRun drain = pgshift({"cutover", "--drain-query", "SELECT 1", "--drain-timeout", "1s"});
  EXPECT_EQ(drain.exit_code, 1) << drain.all();
  EXPECT_NE(drain.all().find("--drain-query still returns 1"), std::string::npos) << drain.all();
  CliRun soak = pgshift({"cutover", "--require-soak"});
  EXPECT_EQ(soak.exit_code, 1) << soak.all();
  EXPECT_NE(soak.all().find("no passed soak"), std::string::npos) << soak.all();
  CliRun no_switch = pgshift({"cutover"}, false);
  EXPECT_EQ(no_switch.exit_code, 1) << no_switch.all();
  EXPECT_NE(no_switch.all().find("nothing would switch the application"), std::string::npos);
  CliRun wrong_phase = pgshift({"rollback"});
  EXPECT_EQ(wrong_phase.exit_code, 2) << wrong_phase.all();
  CliRun bad_flag = pgshift({"cutover", "--verify", "sometimes"});
  EXPECT_EQ(bad_flag.exit_code, 2) << bad_flag.all();
  expect_source_writer_and_replication_intact("after refused cutovers");
}

TEST_F(CutoverFailures, PauseThatCannotCompleteIsUndone) {
  // A client that keeps a transaction open through the pooler blocks PAUSE.
  pg::Connection holder = pg::Connection::open(pg::ConnInfo::parse(bouncer_->url("app"), "holder"));
  holder.exec("BEGIN");
  holder.exec("SELECT 1");
  CliRun run = pgshift({"cutover", "--pause-timeout", "800ms"});
  EXPECT_EQ(run.exit_code, 3) << run.all();
  EXPECT_NE(run.all().find("could not pause"), std::string::npos) << run.all();
  holder.exec("COMMIT");
  expect_source_writer_and_replication_intact("after a pause timeout");
}

// pgshift dies (SIGKILL) during the switch; the workload measures how long traffic stalls.
TEST_F(CutoverFailures, KilledWhilePausedTrafficResumesWithinFiveSeconds) {
  for (const std::string at : {"fence", "catch-up", "replicate-back"}) {
    SCOPED_TRACE(at);
    demo::Workload load({bouncer_->url("app"), 2, 100});
    load.start();
    ASSERT_TRUE(wait_until([&] { return load.acknowledged() > 50; }, util::Millis(20'000)));
    CliRun killed = pgshift({"cutover", "--fail-at", at + ":kill"});
    EXPECT_EQ(killed.exit_code, 128 + 9) << killed.all();
    int64_t before = load.acknowledged();
    EXPECT_TRUE(wait_until([&] { return load.acknowledged() > before + 50; }, util::Millis(20'000)));
    load.stop();
    demo::WorkloadOutcome out = load.outcome();
    EXPECT_TRUE(out.errors.empty()) << out.errors.size() << " errors, first: " << out.errors.front().message;
    EXPECT_LT(out.max_ms(), 5000) << "traffic stalled for " << out.max_ms() << " ms";
    std::printf("killed at %s: longest client wait %.0f ms, %zu commits, 0 errors\n", at.c_str(), out.max_ms(),
                out.acknowledged_ids.size());
    EXPECT_EQ(count_ids(*source_, out.acknowledged_ids), static_cast<int64_t>(out.acknowledged_ids.size()));
    EXPECT_EQ(phase(), "cutting_over");
    // Rolled back, not switched: its own exit code (0 would say the target is the writer).
    CliRun resumed = pgshift({"cutover", "--resume", "--json"});
    ASSERT_EQ(resumed.exit_code, 4) << resumed.all();
    json r = json::parse(resumed.out, nullptr, false);
    EXPECT_EQ(r.value("rolled_back", false), true) << resumed.out;
    EXPECT_EQ(r.value("switched", true), false) << resumed.out;
    EXPECT_EQ(r.value("writer_role", ""), "source") << resumed.out;
    expect_source_writer_and_replication_intact("after --resume of a kill at " + at);
  }
}

TEST_F(CutoverFailures, KilledAfterTheSwitchTheWatchdogAndResumeFinishIt) {
  demo::Workload load({bouncer_->url("app"), 2, 100});
  load.start();
  ASSERT_TRUE(wait_until([&] { return load.acknowledged() > 50; }, util::Millis(20'000)));
  CliRun killed = pgshift({"cutover", "--fail-at", "resume:kill"});
  EXPECT_EQ(killed.exit_code, 128 + 9) << killed.all();
  int64_t before = load.acknowledged();
  EXPECT_TRUE(wait_until([&] { return load.acknowledged() > before + 50; }, util::Millis(20'000)));
  load.stop();
  demo::WorkloadOutcome out = load.outcome();
  EXPECT_TRUE(out.errors.empty()) << out.errors.size() << " errors";
  EXPECT_LT(out.max_ms(), 5000);
  std::printf("killed after the switch: longest client wait %.0f ms\n", out.max_ms());
  EXPECT_EQ(count_ids(*target_, out.acknowledged_ids), static_cast<int64_t>(out.acknowledged_ids.size()))
      << "the target is the writer after the switch";
  CliRun resumed = pgshift({"cutover", "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.all();
  EXPECT_EQ(phase(), "cut_over");
  EXPECT_NE(write_error(*source_).find("25006"), std::string::npos);
  EXPECT_EQ(write_error(*target_), "");
  EXPECT_EQ(count(*source_, "SELECT count(*) FROM pg_replication_slots"), 0) << "the forward slot is gone";
}

}  // namespace
