// stats/checks and stats/health_checks: the thresholds and the health summary.
#include "stats/checks.hpp"

#include <gtest/gtest.h>

#include "stats/health_checks.hpp"

using namespace pgshift::stats;

TEST(StatsChecks, CacheHitNeedsEnoughReadsAndALowRatio) {
  Options o;
  EXPECT_FALSE(cache_hit_check(0.5, 100, o));  // too few reads to judge
  EXPECT_FALSE(cache_hit_check(0.995, 1'000'000, o));
  auto f = cache_hit_check(0.9, 1'000'000, o);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "cache-hit-ratio");
  EXPECT_NE(f->message.find("90.0%"), std::string::npos);
  EXPECT_NE(f->message.find("99.0%"), std::string::npos);
}

TEST(StatsChecks, WraparoundWarnsThenGoesCritical) {
  Options o;
  EXPECT_FALSE(wraparound_check("app", 200'000'000, o));
  auto w = wraparound_check("app", 1'200'000'000, o);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->severity, Severity::warning);
  EXPECT_EQ(w->object, "app");
  auto c = wraparound_check("app", 1'600'000'000, o);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->severity, Severity::critical);
}

TEST(StatsChecks, SequencesByShareUsedExceptCycling) {
  Options o;
  EXPECT_FALSE(sequence_check("public.s", 0.5, false, "100", o));
  EXPECT_EQ(sequence_check("public.s", 0.85, false, "15", o)->severity, Severity::warning);
  EXPECT_EQ(sequence_check("public.s", 0.97, false, "3", o)->severity, Severity::critical);
  EXPECT_FALSE(sequence_check("public.s", 0.99, true, "1", o));
}

TEST(StatsChecks, DeadTuplesAndBloatNeedBothFigures) {
  Options o;
  EXPECT_FALSE(dead_tuples_check("t", 100, 500, o));        // too few dead tuples
  EXPECT_FALSE(dead_tuples_check("t", 100'000, 5'000, o));  // small share
  EXPECT_TRUE(dead_tuples_check("t", 4'000, 6'000, o));
  EXPECT_FALSE(bloat_check("t", 1 << 20, 0.9, o));          // under 10 MB
  EXPECT_FALSE(bloat_check("t", 100 << 20, 0.2, o));        // small share
  EXPECT_TRUE(bloat_check("t", 100 << 20, 0.7, o));
}

TEST(StatsChecks, ConnectionsAndLongTransactions) {
  Options o;
  EXPECT_FALSE(connections_check(10, 100, o));
  EXPECT_TRUE(connections_check(85, 100, o));
  EXPECT_FALSE(long_transaction_check(1, 60, o));
  EXPECT_EQ(long_transaction_check(42, 7'200, o)->object, "pid 42");
}

TEST(StatsChecks, ArchiverVerdicts) {
  Options o;
  ArchiverState off;
  off.archive_mode = "off";
  EXPECT_EQ(archiver_verdict(off, o).verdict, "off");
  EXPECT_EQ(archiver_verdict(off, o).finding->severity, Severity::info);

  ArchiverState failing;
  failing.archive_mode = "on";
  failing.failed_count = 3;
  failing.last_failed_wal = "000000010000000000000002";
  failing.last_failed_seconds = 5;
  auto v = archiver_verdict(failing, o);
  EXPECT_EQ(v.verdict, "failing");
  EXPECT_EQ(v.finding->severity, Severity::critical);
  EXPECT_EQ(v.finding->code, "archiver-failing");
  EXPECT_NE(v.finding->message.find("never succeeded"), std::string::npos);

  // A failure long ago, followed by successes, is not failing.
  ArchiverState recovered = failing;
  recovered.last_failed_seconds = 3'600;
  recovered.last_archived_seconds = 60;
  recovered.last_archived_wal = "000000010000000000000005";
  recovered.pending_segments = 0;
  EXPECT_EQ(archiver_verdict(recovered, o).verdict, "ok");
  EXPECT_FALSE(archiver_verdict(recovered, o).finding);

  ArchiverState stale = recovered;
  stale.last_archived_seconds = o.archiver_stale_seconds + 1;
  stale.pending_segments = 4;
  EXPECT_EQ(archiver_verdict(stale, o).verdict, "stale");
  EXPECT_EQ(archiver_verdict(stale, o).finding->severity, Severity::warning);
  stale.pending_segments = 0;  // an idle server with nothing to archive is not stale
  EXPECT_EQ(archiver_verdict(stale, o).verdict, "ok");

  ArchiverState fresh;
  fresh.archive_mode = "on";
  EXPECT_EQ(archiver_verdict(fresh, o).verdict, "idle");

  ArchiverState standby;
  standby.archive_mode = "on";
  standby.in_recovery = true;
  EXPECT_EQ(archiver_verdict(standby, o).verdict, "standby");
}

TEST(StatsHealth, CombinesChecksWithStatusAndUnknownWhenAReportCouldNotRun) {
  Report overview{"overview", "Overview", 150004, {}, {},
                  {{Severity::critical, "xid-wraparound", "app", "m", "a"}, {Severity::info, "deadlocks", "", "m", "a"}}};
  Report indexes{"indexes", "Indexes", 150004, {}, {},
                 {{Severity::warning, "unused-index", "public.ix", "m", "a"},
                  {Severity::info, "missing-index", "public.t", "m", "a"}}};
  Report archiver{"archiver", "WAL archiving", 150004, {}, {},
                  {{Severity::warning, "insufficient-privilege", "archiver", "m", "grant"}}};
  Report h = combine_health({overview, indexes, archiver});
  EXPECT_EQ(h.id, "health");
  EXPECT_EQ(h.server_version_num, 150004);
  ASSERT_EQ(h.findings.size(), 3u);  // wraparound, unused index, the privilege; not the infos
  EXPECT_EQ(h.findings[0].code, "xid-wraparound");
  auto status = [&](std::string_view check) -> std::string {
    for (const auto& row : h.sections.at(0).rows) {
      if (row.at(0) == check) return row.at(2).get<std::string>();
    }
    return "absent";
  };
  EXPECT_EQ(status("wraparound"), "critical");
  EXPECT_EQ(status("unused-indexes"), "warning");
  EXPECT_EQ(status("invalid-indexes"), "ok");
  EXPECT_EQ(status("archiver"), "unknown");
  EXPECT_EQ(h.facts.back().value, "critical");
  EXPECT_EQ(health_checks().size(), h.sections.at(0).rows.size());
}
