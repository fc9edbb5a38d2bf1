// sync status output on a hand-built status: what an operator reads, and the JSON scripts use.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "replication/replication.hpp"
#include "status_fixture.hpp"

using namespace pgshift;
using namespace pgshift::replication;

namespace {

Status sample() {
  Status st = fixtures::healthy_status();
  st.subscription_state.sync_workers = 1;
  st.subscription_state.sync_error_count = 2;
  st.slot.retained_bytes = 3 << 20;
  st.slot.confirmed_flush = pg::Lsn(0x1000);
  st.source_lsn = pg::Lsn(0x1800);
  st.lag_bytes = 0x800;
  st.lag_seconds = 1.25;
  st.tables = {{{"public", "orders"}, "copying", 1536, 0, 12},
               {{"public", "users"}, "ready", std::nullopt, std::nullopt, std::nullopt},
               {{"public", "events"}, "init", std::nullopt, std::nullopt, std::nullopt}};
  st.left_out = {{{"public", "oban_jobs"}, catalog::LeftOutReason::excluded, "oban_*"},
                 {{"public", "sessions"}, catalog::LeftOutReason::unlogged, ""}};
  st.drift = {{{"public", "users"}, "nickname", "missing_on_target",
               "public.users.nickname: on the source (text) but not on the target", "a", "b", "", ""}};
  st.fenced_tables = 3;
  st.warnings = {{"subscription-errors", "0 apply error(s) and 2 table-sync error(s)"}};
  return st;
}

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

}  // namespace

TEST(StatusRender, HumanReportShowsEverySection) {
  std::string out = render(sample());
  EXPECT_TRUE(has(out, "migration 7: syncing since 2025-06-01T10:00:00.000Z")) << out;
  EXPECT_TRUE(has(out, "subscription pgshift: enabled, apply worker running (pid 99), 1 table-sync worker(s), "
                       "errors: 0 apply, 2 table-sync"))
      << out;
  EXPECT_TRUE(has(out, "lag     2.0 kB, 1.2s  (source at 0/1800, confirmed 0/1000)")) << out;
  Status silent = sample();
  silent.lag_seconds.reset();
  EXPECT_TRUE(has(render(silent), "lag     2.0 kB, seconds unknown (no report from the subscriber)  (source at"))
      << render(silent);
  EXPECT_TRUE(has(out, "slot    pgshift: active, wal_status reserved, retains 3.0 MB (max_slot_wal_keep_size unlimited)"))
      << out;
  EXPECT_TRUE(has(out, "tables  3 published: 1 ready, 0 synced, 1 copying, 1 init")) << out;
  EXPECT_TRUE(has(out, "public.orders  copying  1.5 kB (12 rows)")) << out;
  EXPECT_TRUE(has(out, "public.oban_jobs  excluded by pattern (oban_*)")) << out;
  EXPECT_TRUE(has(out, "public.sessions   unlogged tables are not written to WAL")) << out;
  EXPECT_TRUE(has(out, "drift   1 difference(s) since sync start")) << out;
  EXPECT_TRUE(has(out, "public.users.nickname: on the source (text) but not on the target")) << out;
  EXPECT_TRUE(has(out, "warning subscription-errors: 0 apply error(s) and 2 table-sync error(s)")) << out;
}

TEST(StatusRender, ManyTablesListOnlyThoseNotReady) {
  Status st = sample();
  std::string out = render(st, 2);
  EXPECT_FALSE(has(out, "public.users  ready")) << out;
  EXPECT_TRUE(has(out, "... and 1 more ready")) << out;
  EXPECT_TRUE(has(out, "public.events")) << out;
}

TEST(StatusRender, NoMigrationSaysHowToStartOne) {
  Status st;
  st.names.target = "app@pg:5432/shop";
  st.names.publication = st.names.subscription = "pgshift";
  std::string out = render(st);
  EXPECT_TRUE(has(out, "no migration recorded on target app@pg:5432/shop; pgshift sync start begins one")) << out;
  EXPECT_TRUE(has(out, "no publication pgshift, subscription pgshift or slot pgshift exists")) << out;
}

TEST(StatusRender, JsonCarriesTheFiguresScriptsNeed) {
  nlohmann::json j = to_json(sample());
  EXPECT_EQ(j["phase"], "syncing");
  EXPECT_EQ(j["migration_id"], 7);
  EXPECT_EQ(j["lag"]["bytes"], 2048);
  EXPECT_EQ(j["lag"]["seconds"], 1.25);
  EXPECT_EQ(j["lag"]["source_lsn"], "0/1800");
  EXPECT_EQ(j["slot"]["retained_bytes"], 3 << 20);
  EXPECT_EQ(j["slot"]["max_slot_wal_keep_size"], -1);
  EXPECT_EQ(j["subscription"]["sync_error_count"], 2);
  EXPECT_EQ(j["tables"][0]["table"], "public.orders");
  EXPECT_EQ(j["tables"][0]["copy_bytes"], 1536);
  EXPECT_TRUE(j["tables"][1]["copy_bytes"].is_null());
  EXPECT_EQ(j["summary"]["copying"], 1);
  EXPECT_EQ(j["summary"]["ready"], 1);
  EXPECT_EQ(j["left_out"][1]["reason"], "unlogged");
  EXPECT_EQ(j["drift"][0]["column"], "nickname");
  EXPECT_EQ(j["fenced_tables"], 3);
  EXPECT_EQ(j["warnings"][0]["code"], "subscription-errors");
}

TEST(StatusWarnings, SlotNearMaxSlotWalKeepSize) {
  Status st = fixtures::healthy_status();
  EXPECT_TRUE(status_warnings(st, nullptr).empty());
  st.max_slot_wal_keep_size = 1ll << 30;
  st.slot.retained_bytes = 900ll << 20;
  st.slot.safe_wal_size = 124ll << 20;
  auto w = status_warnings(st, nullptr);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].code, "slot-near-limit");
  EXPECT_EQ(w[0].message, "replication slot pgshift retains 900 MB of WAL; it is invalidated after 124 MB more is "
                          "written (max_slot_wal_keep_size = 1.0 GB)");
  st.slot.safe_wal_size = 600ll << 20;
  EXPECT_TRUE(status_warnings(st, nullptr).empty()) << "plenty of room left";
  st.slot.wal_status = "unreserved";
  EXPECT_EQ(status_warnings(st, nullptr)[0].code, "slot-at-risk");
  st.slot.wal_status = "lost";
  EXPECT_EQ(status_warnings(st, nullptr)[0].code, "slot-lost");
}

TEST(StatusWarnings, DisabledSubscriptionShowsRetainedWalAndItsGrowth) {
  Status before = fixtures::healthy_status();
  before.subscription_state.enabled = false;
  before.slot.retained_bytes = 1 << 20;
  Status now = before;
  now.slot.retained_bytes = 3 << 20;
  auto w = status_warnings(now, nullptr);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].code, "subscription-disabled");
  EXPECT_NE(w[0].message.find("slot pgshift retains 3.0 MB of WAL on the source, growing with every write"),
            std::string::npos)
      << w[0].message;
  w = status_warnings(now, &before);
  EXPECT_NE(w[0].message.find("retains 3.0 MB of WAL on the source (+2.0 MB since the last sample)"), std::string::npos)
      << w[0].message;
}

TEST(StatusWarnings, WorkerDownErrorsDriftAndMissingObjects) {
  Status st = fixtures::healthy_status();
  st.subscription_state.apply_pid.reset();
  st.subscription_state.apply_error_count = 4;
  st.drift = {{{"public", "a"}, "c", "missing_on_target", "public.a.c: ...", "1", "2", "", ""}};
  std::vector<std::string> codes;
  for (const auto& w : status_warnings(st, nullptr)) codes.push_back(w.code);
  EXPECT_EQ(codes, (std::vector<std::string>{"apply-worker-not-running", "subscription-errors", "drift"}));

  st = fixtures::healthy_status();
  st.publication_exists = false;
  st.subscription_state.exists = false;
  st.slot.exists = false;
  codes.clear();
  for (const auto& w : status_warnings(st, nullptr)) codes.push_back(w.code);
  EXPECT_EQ(codes, (std::vector<std::string>{"publication-missing", "subscription-missing", "slot-missing"}));
}

// A table partitioned by month has dozens of partitions: sync start and status show one line per
// root, not one per partition (JSON keeps them all).
TEST(StatusRender, PartitionsLeftOutAreOneLinePerRoot) {
  std::vector<catalog::LeftOut> left_out = {{{"public", "oban_jobs"}, catalog::LeftOutReason::excluded, "oban_*"}};
  for (int m = 1; m <= 55; ++m) {
    left_out.push_back({{"public", fmt::format("payment_p{:02}", m)}, catalog::LeftOutReason::via_root, "public.payment"});
  }
  Status st = fixtures::healthy_status();
  st.left_out = left_out;
  StartResult start;
  start.names = st.names;
  start.plan.left_out = left_out;
  for (const std::string& out : {render(st), render(start)}) {
    EXPECT_TRUE(has(out, "left out (56)")) << out;
    EXPECT_TRUE(has(out, "public.payment partitions (55)")) << out;
    EXPECT_TRUE(has(out, "public.payment_p01 … public.payment_p55")) << out;
    EXPECT_FALSE(has(out, "public.payment_p02")) << out;
    EXPECT_TRUE(has(out, "public.oban_jobs")) << out;
  }
  EXPECT_EQ(to_json(st)["left_out"].size(), 56u);
}

// The counters are cumulative: errors from before the last healthy observation are history.
TEST(StatusWarnings, ErrorsCountSinceTheLastHealthyObservation) {
  Status st = fixtures::healthy_status();
  st.subscription_state.apply_error_count = 23;
  st.apply_errors_before = 23;
  st.errors_seen_at = "2026-12-01T10:00:00.000Z";
  for (const auto& w : status_warnings(st, nullptr)) EXPECT_NE(w.code, "subscription-errors") << w.message;
  st.subscription_state.apply_error_count = 25;
  auto w = status_warnings(st, nullptr);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].message.find("2 apply error(s) and 0 table-sync error(s) since replication was last seen healthy, "
                              "2026-12-01T10:00:00.000Z"),
            std::string::npos)
      << w[0].message;
  st.subscription_state.apply_error_count = 3;  // counters reset: count from zero
  w = status_warnings(st, nullptr);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].message.find("3 apply error(s)"), std::string::npos) << w[0].message;
}

TEST(StatusRender, ParallelCopyProgressAndInterruption) {
  Status st = fixtures::healthy_status();
  st.phase = state::Phase::starting;
  st.tables = {{{"public", "big"}, "copying", 300 << 20, 1000 << 20, std::nullopt},
               {{"public", "small"}, "copied", 5 << 20, 5 << 20, std::nullopt},
               {{"public", "later"}, "waiting", 0, 1 << 20, std::nullopt}};
  CopyStatus copy;
  copy.state = "copying";
  copy.jobs = 2;
  copy.units_total = 10;
  copy.units_done = 4;
  copy.bytes_total = 1006 << 20;
  copy.bytes_done = 305 << 20;
  copy.rows_done = 123456;
  copy.deferred_open = 5;
  copy.elapsed_seconds = 10;
  copy.eta_seconds = 23;
  st.copy = copy;
  std::string text = render(st);
  EXPECT_TRUE(has(text, "copy    parallel, copying: 305 MB of about 1006 MB (30%), 4 of 10 unit(s)")) << text;
  EXPECT_TRUE(has(text, "ETA 23.0s")) << text;
  EXPECT_TRUE(has(text, "5 index(es)/constraint(s) dropped until it ends")) << text;
  EXPECT_TRUE(has(text, "1 copied, 1 waiting")) << text;
  nlohmann::json j = to_json(st);
  EXPECT_EQ(j["copy"]["units_done"], 4);
  EXPECT_EQ(j["copy"]["eta_seconds"], 23.0);

  st.copy->state = "interrupted";
  st.copy->eta_seconds.reset();
  text = render(st);
  EXPECT_TRUE(has(text, "run pgshift sync start again to resume, or sync stop to undo")) << text;
}
