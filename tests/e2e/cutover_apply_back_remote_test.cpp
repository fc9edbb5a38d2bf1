// Issue 27, an apply of the replication back running on another machine (a Kubernetes
// Deployment running `pgshift sync apply-back` in the foreground) while rollback, finalize and
// status run here. The stand-in for the other machine is a foreground `pgshift sync apply-back`
// (as a Deployment runs it: no --slot, the connection strings in its environment) in its own UTS
// namespace (`unshare --uts`) with its own hostname, so the journal records it, by itself, as
// started on host "apply-back-pod"; pgshift has no test hook for this. rollback, finalize and
// status find it and stop it by the reverse slot on the target (active_pid, pg_terminate_backend
// of its walsender), never by its pid: its command line is not one pgshift would signal.
//  - status shows it running, on its host, with its lag; `sync apply-back --detach` is refused;
//  - rollback under the application's load waits for it to reach the fence LSN: 0 lost
//    acknowledged writes, no row applied twice; the process exits (its stream ended) and no slot
//    is left on the target;
//  - finalize stops it and leaves no slot and no pgshift.apply_progress.
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cutover_fixture.hpp"
#include "util/process.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

constexpr const char* kRemoteHost = "apply-back-pod";

class ApplyBackRemoteTest : public CutoverPair {
 protected:
  std::string source_owner() const override { return "app_owner"; }

  void SetUp() override {
    CutoverPair::SetUp();
    if (::testing::Test::IsSkipped() || HasFatalFailure()) return;
    util::ProcessSpec probe_spec;
    probe_spec.argv = {"unshare", "--uts", "true"};
    util::RunResult probe = util::run(probe_spec, util::Millis(10'000));
    if (probe.exit_code != 0) GTEST_SKIP() << "unshare --uts is not permitted here: " << probe.err;
    base_ = std::filesystem::temp_directory_path() / fmt::format("pgshift-ab-remote-{}", ::getpid());
    std::filesystem::remove(base_.string() + ".detached.log");
    std::filesystem::remove(base_.string() + ".remote.log");
  }
  void TearDown() override {
    if (remote_.running()) {
      remote_.signal(SIGKILL);
      remote_.wait();
    }
    std::filesystem::remove(base_.string() + ".detached.log");
    std::filesystem::remove(base_.string() + ".remote.log");
  }

  std::string remote_log() const { return base_.string() + ".remote.log"; }
  std::string remote_log_text() const {
    std::ifstream in(remote_log());
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  }

  // `pgshift status --json`'s apply_back (null when status shows none).
  json apply_status() {
    CliRun st = pgshift({"status", "--json"}, false);
    json j = json::parse(st.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << st.all();
    return j.is_discarded() ? json() : j.value("apply_back", json());
  }

  bool caught_up(const std::string& table) {
    return count(*source_, "SELECT count(*) FROM " + table) == count(*target_, "SELECT count(*) FROM " + table);
  }

  // Cutover through pgshift's apply, then its background process (started here by cutover) is
  // stopped by hand as an operator moving it to a Deployment would, and the "remote" one started.
  void cutover_then_move_the_apply_away() {
    json cut = switch_under_load({"cutover", "--json", "--replicate-back", "pgshift", "--apply-back-log",
                                  base_.string() + ".detached.log"},
                                 *target_);
    ASSERT_TRUE(cut.value("switched", false)) << cut.dump();
    json here = apply_status();
    ASSERT_TRUE(here.is_object() && here["running"].get<bool>()) << here.dump();
    int local = here["pid"].get<int>();
    ASSERT_EQ(::kill(local, SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return !apply_status()["running"].get<bool>(); }, util::Millis(20'000)));

    util::ProcessSpec spec;
    spec.argv = {"unshare", "--uts", "sh", "-c", std::string("hostname ") + kRemoteHost + " && exec \"$0\" sync apply-back",
                 PGSHIFT_BINARY};
    spec.env = {{"PGSHIFT_SOURCE_URL", source_url()}, {"PGSHIFT_TARGET_URL", target_->url("app")}};
    spec.unset_env = {"PGSHIFT_CONFIG"};
    spec.output_file = remote_log();
    spec.parent_death_signal = SIGKILL;
    remote_ = util::spawn(spec);
    ASSERT_TRUE(wait_until(
        [&] {
          json a = apply_status();
          return a.is_object() && a["pid"] == remote_.pid() && a["running"].get<bool>();
        },
        util::Millis(30'000)))
        << apply_status().dump() << "\n" << remote_log_text();
  }

  std::filesystem::path base_;
  util::Child remote_;
};

TEST_F(ApplyBackRemoteTest, StatusShowsItAndRollbackWaitsForItToTheFenceWithNothingLost) {
  cutover_then_move_the_apply_away();
  if (HasFatalFailure()) return;
  json a = apply_status();
  EXPECT_EQ(a["host"], kRemoteHost) << a.dump();
  EXPECT_NE(a["started_by"].get<std::string>().find(std::string("@") + kRemoteHost), std::string::npos) << a.dump();
  EXPECT_TRUE(a["walsender_pid"].is_number_integer()) << a.dump();
  EXPECT_TRUE(a["last_error"].is_null()) << a.dump();
  CliRun text = pgshift({"status"}, false);
  EXPECT_NE(text.out.find(fmt::format("pid {} on {} running", remote_.pid(), kRemoteHost)), std::string::npos)
      << text.out;
  // Another one is refused while it streams the slot, wherever it runs.
  CliRun twice = pgshift({"sync", "apply-back", "--detach"}, false);
  EXPECT_EQ(twice.exit_code, 2) << twice.all();
  EXPECT_NE(twice.err.find(kRemoteHost), std::string::npos) << twice.err;

  // Writes on the target (the new writer) flow back through it: 50 distinct rows a transaction
  // into `events`, which has no key (a row applied twice would be a duplicate there).
  TargetEventWriter events(*target_);
  EXPECT_TRUE(wait_until([&] { return count(*source_, "SELECT count(*) FROM events WHERE what LIKE 'r%'") > 1000; },
                         util::Millis(30'000)))
      << "the remote apply is not moving:\n" << remote_log_text();
  json lagging = apply_status();
  EXPECT_TRUE(lagging["lag_bytes"].is_number_integer()) << lagging.dump();
  EXPECT_TRUE(lagging["applied_lsn"].is_string()) << lagging.dump();
  const int64_t event_transactions = events.stop();
  // `events` has no key: rollback's verify gate compares it by count, so it is caught up first.
  EXPECT_TRUE(wait_until([&] { return caught_up("events"); }, util::Millis(30'000))) << remote_log_text();

  // Rollback under the application's load (the ledger through PgBouncer, on the target until the
  // switch): the fence stops the writes, the catch-up waits for the remote apply to confirm the
  // fence LSN (the slot confirms only what the source committed), then it is stopped through its
  // walsender, and the source takes the writes.
  json back = switch_under_load({"rollback", "--json"}, *source_);
  ASSERT_TRUE(back.value("switched", false)) << back.dump();
  bool stopped_on_host = false;
  for (const auto& s : back.value("timeline", json::array())) {
    if (s["step"] == "stop-replication") {
      stopped_on_host = s["summary"].get<std::string>().find(kRemoteHost) != std::string::npos;
    }
  }
  EXPECT_TRUE(stopped_on_host) << back.dump();
  std::optional<int> code = remote_.wait_for(util::Millis(15'000));
  ASSERT_TRUE(code.has_value()) << "the remote apply did not exit after rollback stopped its stream";
  EXPECT_EQ(*code, 3) << remote_log_text();
  EXPECT_NE(remote_log_text().find("replication stream of slot"), std::string::npos) << remote_log_text();

  EXPECT_EQ(phase(), "syncing");
  EXPECT_EQ(count(*target_, "SELECT count(*) FROM pg_replication_slots"), 0) << "the reverse slot must be gone";
  // Every transaction the target committed before the fence is on the source, once.
  EXPECT_EQ(count(*source_, "SELECT n FROM counters WHERE k = 1"), count(*source_, "SELECT count(*) FROM ledger"))
      << "the ledger's counter and its rows disagree on the source";
  int64_t on_target = count(*target_, "SELECT count(*) FROM events WHERE what LIKE 'r%'");
  EXPECT_EQ(on_target % TargetEventWriter::kRowsPerTransaction, 0);
  EXPECT_EQ(count(*source_, "SELECT count(*) FROM events WHERE what LIKE 'r%'"), on_target) << "rows lost or doubled";
  EXPECT_EQ(count(*source_, "SELECT count(DISTINCT what) FROM events WHERE what LIKE 'r%'"), on_target)
      << "a row applied twice";
  std::printf("remote apply: %lld event rows over %lld transactions applied back, exit %d after rollback\n",
              static_cast<long long>(on_target), static_cast<long long>(event_transactions), *code);
}

TEST_F(ApplyBackRemoteTest, FinalizeStopsItThroughItsSlotAndLeavesNoSlot) {
  cutover_then_move_the_apply_away();
  if (HasFatalFailure()) return;
  pg::Connection tgt = connect(*target_, "app");
  tgt.exec("INSERT INTO notes (body, feeling) VALUES ('written after the cutover', 'great')");
  ASSERT_TRUE(wait_until([&] { return caught_up("notes"); }, util::Millis(30'000))) << remote_log_text();

  CliRun fin = pgshift({"finalize", "--json"}, false);
  ASSERT_EQ(fin.exit_code, 0) << fin.all();
  EXPECT_NE(fin.out.find(kRemoteHost), std::string::npos) << fin.out;
  std::optional<int> code = remote_.wait_for(util::Millis(15'000));
  ASSERT_TRUE(code.has_value()) << "the remote apply did not exit after finalize stopped its stream";
  EXPECT_EQ(*code, 3) << remote_log_text();
  EXPECT_EQ(count(*target_, "SELECT count(*) FROM pg_replication_slots"), 0);
  EXPECT_EQ(count(*source_, "SELECT count(*) FROM pg_tables WHERE schemaname = 'pgshift' AND tablename = 'apply_progress'"), 0);
  EXPECT_EQ(phase(), "finalized");
}

}  // namespace
