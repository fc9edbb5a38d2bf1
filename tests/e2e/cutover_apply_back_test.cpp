// Issue 27: the replication back through pgshift's own apply instead of a subscription on the
// source (--replicate-back pgshift, what auto picks when the source's role cannot subscribe).
// Under the workload through PgBouncer: cutover starts `pgshift sync apply-back` detached (no
// subscription on the source), writes on the target reach the source through it, rollback waits
// for it to reach the fence and stops it (0 lost acknowledged writes), and a second cutover plus
// finalize leave no process, no slot and no progress table behind.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cutover_fixture.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

using CutoverApplyBackTest = CutoverPair;

bool pid_alive(int pid) {
  std::ifstream in(fmt::format("/proc/{}/cmdline", pid));
  std::string s;
  return pid > 0 && ::kill(pid, 0) == 0 && std::getline(in, s) && !s.empty();
}

int apply_pid(const json& switch_result) {
  for (const auto& step : switch_result.value("timeline", json::array())) {
    if (step["step"] == "apply-back") {
      std::string s = step["summary"];  // "pgshift sync apply-back running (pid N), log ..."
      auto at = s.find("(pid ");
      if (at != std::string::npos) return std::stoi(s.substr(at + 5));
    }
  }
  return -1;
}

TEST_F(CutoverApplyBackTest, CutoverRollbackFinalizeThroughPgshiftApply) {
  std::string log = (std::filesystem::temp_directory_path() / fmt::format("pgshift-apply-back-{}.log", ::getpid())).string();
  std::filesystem::remove(log);
  json cut = switch_under_load({"cutover", "--json", "--replicate-back", "pgshift", "--apply-back-log", log}, *target_);
  ASSERT_TRUE(cut.value("switched", false)) << cut.dump();
  int pid = apply_pid(cut);
  ASSERT_GT(pid, 0) << "cutover did not report the apply-back process: " << cut.dump();
  EXPECT_TRUE(pid_alive(pid));
  pg::Connection src = connect(*source_, "app");
  pg::Connection tgt = connect(*target_, "app");
  EXPECT_EQ(src.exec("SELECT count(*) FROM pg_subscription").scalar_int64(), 0) << "no subscription on the source";

  // Writes on the target reach the (fenced) source through pgshift's apply.
  int64_t target_rows = count_rows(tgt, "ledger");
  EXPECT_TRUE(wait_until([&] { return count_rows(src, "ledger") == target_rows; }, util::Millis(15'000)))
      << "the apply did not bring the source to " << target_rows << " rows; log:\n" << read_file(log);
  EXPECT_EQ(src.exec(std::string(demo::kWorkloadCounterSql)).scalar_int64(),
            tgt.exec(std::string(demo::kWorkloadCounterSql)).scalar_int64());
  EXPECT_NE(write_error(*source_).find("25006"), std::string::npos) << "the source stays fenced for clients";

  // status shows it.
  CliRun st = pgshift({"status", "--json"}, false);
  json sj = json::parse(st.out, nullptr, false);
  ASSERT_FALSE(sj.is_discarded()) << st.all();
  ASSERT_TRUE(sj.contains("apply_back")) << st.out;
  EXPECT_EQ(sj["apply_back"]["pid"], pid);
  EXPECT_TRUE(sj["apply_back"]["running"].get<bool>());
  EXPECT_TRUE(sj["apply_back"]["lag_bytes"].is_number()) << sj["apply_back"].dump();

  json back = switch_under_load({"rollback", "--json"}, *source_);
  EXPECT_TRUE(back.value("switched", false)) << back.dump();
  EXPECT_FALSE(pid_alive(pid)) << "rollback must stop the apply";
  EXPECT_EQ(write_error(*source_), "");
  EXPECT_NE(write_error(*target_).find("25006"), std::string::npos);
  EXPECT_EQ(count(*target_, "SELECT count(*) FROM pg_replication_slots"), 0) << "the apply's slot is gone after rollback";
  EXPECT_EQ(count(*source_, "SELECT count(*) FROM pg_class WHERE oid = to_regclass('pgshift.apply_progress')"), 0);
  int64_t source_rows = count_rows(src, "ledger");
  EXPECT_TRUE(wait_until([&] { return count_rows(tgt, "ledger") == source_rows; }, util::Millis(15'000)))
      << "forward replication is not running again";

  json again = switch_under_load({"cutover", "--json", "--replicate-back", "pgshift", "--apply-back-log", log}, *target_);
  ASSERT_TRUE(again.value("switched", false)) << again.dump();
  int pid2 = apply_pid(again);
  EXPECT_TRUE(pid_alive(pid2));
  int64_t rows2 = count_rows(tgt, "ledger");
  EXPECT_TRUE(wait_until([&] { return count_rows(src, "ledger") == rows2; }, util::Millis(15'000)))
      << "the second apply did not catch up; log:\n" << read_file(log);

  CliRun fin = pgshift({"finalize", "--json"}, false);
  ASSERT_EQ(fin.exit_code, 0) << fin.all();
  EXPECT_FALSE(pid_alive(pid2)) << "finalize must stop the apply";
  for (auto* c : {source_.get(), target_.get()}) {
    pg::Connection conn = connect(*c, "app");
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_replication_slots").scalar_int64(), 0) << c->name();
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_subscription").scalar_int64(), 0) << c->name();
  }
  EXPECT_EQ(count(*source_, "SELECT count(*) FROM pg_class WHERE oid = to_regclass('pgshift.apply_progress')"), 0);
  std::filesystem::remove(log);
}

}  // namespace
