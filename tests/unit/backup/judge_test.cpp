// Verdicts: the archiver's, WAL names and gaps, backup ages, row-count tolerance, SOURCE text.
#include <gtest/gtest.h>

#include "backup/archiver.hpp"
#include "backup/drill_checks.hpp"
#include "backup/sources.hpp"
#include "backup/tools.hpp"
#include "backup/wal.hpp"
#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::backup;

constexpr int64_t kSeg = 16 * 1024 * 1024;

TEST(BackupArchiver, FailingStaleAndOff) {
  ArchiverStatus ok;
  ok.archive_mode = "on";
  ok.last_archived_time = 1000;
  ok.seconds_since_last_archive = 30;
  judge_archiver(ok, util::Millis(600'000));
  EXPECT_EQ(ok.verdict, "healthy");

  ArchiverStatus failing = ok;
  failing.failed_count = 3;
  failing.last_failed_wal = "000000010000000000000009";
  failing.last_failed_time = 1010;
  judge_archiver(failing, util::Millis(600'000));
  EXPECT_EQ(failing.verdict, "problem");
  EXPECT_NE(failing.problems[0].find("3 failures"), std::string::npos);

  ArchiverStatus recovered = failing;
  recovered.problems.clear();
  recovered.verdict = "healthy";
  recovered.last_archived_time = 1020;  // archived after the last failure
  judge_archiver(recovered, util::Millis(600'000));
  EXPECT_EQ(recovered.verdict, "healthy");

  ArchiverStatus stale = ok;
  stale.seconds_since_last_archive = 3600;
  judge_archiver(stale, util::Millis(600'000));
  EXPECT_EQ(stale.verdict, "problem");

  ArchiverStatus off;
  off.archive_mode = "off";
  judge_archiver(off, util::Millis(600'000));
  EXPECT_EQ(off.verdict, "problem");
}

TEST(BackupWal, NamesAndGaps) {
  EXPECT_EQ(wal_name(1, 0x1FF, kSeg), "0000000100000001000000FF");
  EXPECT_EQ(wal_name_for(1, pg::Lsn(0x2A1F000028ULL), kSeg), "000000010000002A0000001F");
  auto w = parse_wal_name("0000000100000001000000FF-5c077dfb9575a8b9386635255a434a86a69b624d", kSeg);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->segno, 0x1FFu);
  EXPECT_FALSE(parse_wal_name("000000010000000000000002.00000028.backup", kSeg));
  EXPECT_FALSE(parse_wal_name("00000002.history", kSeg));
  EXPECT_TRUE(parse_wal_name("000000010000000000000003.gz", kSeg));
  auto present = segments_present({"000000010000000000000002", "000000010000000000000004", "000000020000000000000005"}, 1, kSeg);
  EXPECT_EQ(first_gap(present, 2, 5), 3u);
  EXPECT_FALSE(first_gap(present, 4, 5).has_value());
}

TEST(BackupContinuity, GapAfterTheNewestBackupIsAProblem) {
  SourceInventory inv;
  BackupEntry b;
  b.id = "b1";
  b.status = "completed";
  b.stop_time = 100;
  b.begin_wal = "000000010000000000000002";
  inv.backups.push_back(b);
  ArchiverStatus a;
  a.last_archived_wal = "000000010000000000000005";
  a.last_archived_time = 200;
  check_continuity(inv, {"000000010000000000000002", "000000010000000000000003", "000000010000000000000005"}, a, kSeg, "ARCH");
  ASSERT_EQ(inv.verdict, "problem");
  EXPECT_NE(inv.problems[0].find("segment 000000010000000000000004 is missing from ARCH"), std::string::npos) << inv.problems[0];
  EXPECT_EQ(inv.window.last, 100) << "restorable only to the backup's end";

  SourceInventory whole;
  whole.backups.push_back(b);
  check_continuity(whole, {"000000010000000000000002", "000000010000000000000003", "000000010000000000000004",
                           "000000010000000000000005"},
                   a, kSeg, "ARCH");
  EXPECT_EQ(whole.verdict, "healthy");
  EXPECT_EQ(whole.window.last, 200);
}

TEST(BackupAge, NoBackupOrTooOld) {
  SourceInventory none;
  judge_backups(none, util::Millis(3600'000), 10'000);
  EXPECT_EQ(none.verdict, "problem");
  SourceInventory old;
  BackupEntry b;
  b.status = "completed";
  b.stop_time = 1000;
  old.backups.push_back(b);
  judge_backups(old, util::Millis(3600'000), 1000 + 7200);
  EXPECT_EQ(old.verdict, "problem");
  SourceInventory fresh;
  fresh.backups.push_back(b);
  judge_backups(fresh, util::Millis(3600'000), 1000 + 60);
  EXPECT_EQ(fresh.verdict, "healthy");
  EXPECT_EQ(fresh.window.first, 1000);
}

TEST(BackupDrill, CountTolerance) {
  EXPECT_TRUE(count_within(1000, 1000, 0.0));
  EXPECT_TRUE(count_within(1000, 900, 0.10));
  EXPECT_FALSE(count_within(1000, 899, 0.10));
  EXPECT_TRUE(count_within(1000, 1100, 0.10));
  EXPECT_FALSE(count_within(0, 1, 0.10));
}

TEST(BackupSource, ParsesEachKind) {
  SourceSpec b = parse_source("barman-cloud:s3://bucket/path/to/srv");
  EXPECT_EQ(b.barman_url, "s3://bucket/path/to");
  EXPECT_EQ(b.barman_server, "srv");
  SourceSpec k = parse_source("cnpg:prod/shop");
  EXPECT_EQ(k.ns, "prod");
  EXPECT_EQ(k.cluster, "shop");
  EXPECT_EQ(parse_source("pgbackrest:main").value, "main");
  EXPECT_THROW(parse_source("tape:/dev/st0"), UsageError);
  EXPECT_THROW(parse_source("barman-cloud:s3://bucket"), UsageError);
  EXPECT_THROW(parse_source("cnpg:shop"), UsageError);
  EXPECT_THROW(parse_source("dir"), UsageError);
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}
