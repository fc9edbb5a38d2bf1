#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "verify/progress.hpp"
#include "verify/report.hpp"

using namespace pgshift;
using namespace pgshift::verify;

namespace {

Report sample() {
  Report r;
  r.source_endpoint = "app@src:5432/app";
  r.target_endpoint = "app@tgt:5432/app";
  r.jobs = 4;
  r.chunk_rows = 100000;
  r.fence_slot = "pgshift";
  r.seconds = 2.0;
  TableReport orders;
  orders.table = {"public", "orders"};
  orders.status = TableStatus::mismatch;
  orders.strategy = "key-ranges";
  orders.key_columns = {"id"};
  orders.source_rows = 1000;
  orders.target_rows = 999;
  orders.chunks = 1;
  Difference missing;
  missing.kind = DiffKind::missing_on_target;
  missing.key = {"17"};
  Difference changed;
  changed.kind = DiffKind::different;
  changed.key = {"42"};
  changed.columns = {"total"};
  orders.differences = {missing, changed};
  orders.differences_total = 5;
  orders.differences_total_exact = false;
  TableReport users;
  users.table = {"public", "users"};
  users.source_rows = users.target_rows = 3000;
  users.strategy = "key-ranges";
  TableReport cache;
  cache.table = {"public", "cache"};
  cache.status = TableStatus::skipped;
  cache.reason = "unlogged tables are not written to WAL and cannot be replicated";
  r.tables = {cache, orders, users};
  return r;
}

}  // namespace

TEST(VerifyReport, ExitCodes) {
  Report r = sample();
  EXPECT_EQ(r.exit_code(), 1);
  r.tables[1].status = TableStatus::match;
  EXPECT_EQ(r.exit_code(), 0);
  r.tables[2].status = TableStatus::error;
  EXPECT_EQ(r.exit_code(), 3);
  EXPECT_EQ(Report{}.exit_code(), 0);
}

TEST(VerifyReport, TextListsDifferencesSkipsAndSummary) {
  std::string text = render_text(sample());
  EXPECT_NE(text.find("source  app@src:5432/app"), std::string::npos) << text;
  EXPECT_NE(text.find("lag fence on slot pgshift"), std::string::npos) << text;
  EXPECT_NE(text.find("public.orders MISMATCH: at least 5 rows differ (source 1,000 rows, target 999)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("missing on target  id=17"), std::string::npos) << text;
  EXPECT_NE(text.find("different          id=42  (total)"), std::string::npos) << text;
  EXPECT_NE(text.find("... and at least 3 more"), std::string::npos) << text;
  EXPECT_NE(text.find("public.cache skipped: unlogged"), std::string::npos) << text;
  EXPECT_NE(text.find("3 tables: 1 match, 1 mismatch, 1 skipped, 0 error; 4,000 rows in 2.0s (2,000 rows/s)"),
            std::string::npos)
      << text;
  EXPECT_EQ(render_text(sample(), 1).find("id=42"), std::string::npos) << "max_listed caps the list";
  EXPECT_EQ(text.find("public.users match"), std::string::npos) << "a plain match has no paragraph";
}

TEST(VerifyReport, MatchWithCountsReadDuringWritesSaysWhy) {
  Report r = sample();
  r.tables[2].status = TableStatus::match;
  r.tables[2].target_rows = 2990;
  std::string text = render_text(r);
  EXPECT_NE(text.find("public.users match: the row counts (3,000 on the source, 2,990 on the target) were read while "
                      "writes arrived"),
            std::string::npos)
      << text;
}

TEST(VerifyReport, Json) {
  nlohmann::json j = to_json(sample());
  EXPECT_EQ(j["summary"]["mismatch"], 1);
  EXPECT_EQ(j["summary"]["skipped"], 1);
  EXPECT_EQ(j["summary"]["rows"], 4000);
  EXPECT_EQ(j["summary"]["ok"], false);
  EXPECT_EQ(j["fence"]["enabled"], true);
  const auto& orders = j["tables"][1];
  EXPECT_EQ(orders["table"], "public.orders");
  EXPECT_EQ(orders["differences"][0], (nlohmann::json{{"kind", "missing_on_target"}, {"key", {{"id", "17"}}}}));
  EXPECT_EQ(orders["differences"][1]["columns"], nlohmann::json::array({"total"}));
  EXPECT_EQ(orders["differences_total_exact"], false);
  EXPECT_EQ(j["tables"][0]["status"], "skipped");
}

TEST(VerifyReport, DescribeKey) {
  EXPECT_EQ(describe_key({"id"}, {"42"}), "id=42");
  EXPECT_EQ(describe_key({"tenant", "id"}, {"3", "42"}), "(tenant, id)=(3, 42)");
}

TEST(VerifyProgress, LineWithRateAndEta) {
  Progress p;
  p.tables_total = 12;
  p.tables_done = 3;
  p.chunks_total = 130;
  p.chunks_done = 45;
  p.rows_done = 1'200'000;
  p.rows_estimate = 2'400'000;
  p.elapsed_seconds = 3.0;
  EXPECT_EQ(progress_line(p), "verify  3/12 tables  45/130 chunks  1.2M rows  400k rows/s  ETA 3.0s");
  p.tables_done = 12;
  p.rows_estimate = p.rows_done;
  EXPECT_NE(progress_line(p).find("done"), std::string::npos);
  EXPECT_EQ(short_count(950), "950");
  EXPECT_EQ(short_count(12'345), "12k");
  EXPECT_EQ(short_count(3'400'000'000), "3.4G");
}
