// Parsing what the backup tools print: pgBackRest info (64-bit ids exact) and verify output,
// barman-cloud-backup-list in barman 3.4's zoneless and later ISO forms, and times.
#include <gtest/gtest.h>

#include "backup/inventory.hpp"
#include "backup/time_text.hpp"
#include "fixtures.hpp"
#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::backup;
using pgshift::testing::fixture;

TEST(BackupTime, ReadsEveryFormTheToolsPrint) {
  EXPECT_EQ(parse_time("2026-12-01T19:44:08Z"), 1796154248);
  EXPECT_EQ(parse_time("2026-12-01T19:44:08.123456+00:00"), 1796154248);
  EXPECT_EQ(parse_time("2026-12-01T21:44:08+02:00"), 1796154248);
  EXPECT_EQ(parse_time("2026-12-01 19:44:08 UTC"), 1796154248);
  EXPECT_EQ(parse_time("Tue Dec  1 19:44:08 2026"), 1796154248);  // barman 3.4, read as UTC
  EXPECT_FALSE(parse_time("yesterday").has_value());
  EXPECT_FALSE(parse_time("").has_value());
  EXPECT_EQ(iso_time(1796154248), "2026-12-01T19:44:08Z");
}

TEST(BackupPgbackrest, InfoParsesIntoTheModelWithExactSystemId) {
  SourceInventory inv = parse_pgbackrest_info("pgbackrest:main", "main", fixture("pgbackrest_info.json"));
  ASSERT_EQ(inv.backups.size(), 1u);
  const BackupEntry& b = inv.backups[0];
  EXPECT_EQ(b.id, "20261201-194326F");
  EXPECT_EQ(b.method, "pgbackrest full");
  EXPECT_EQ(b.status, "completed");
  EXPECT_EQ(b.start_time, 1796154206);
  EXPECT_EQ(b.stop_time, 1796154208);
  EXPECT_EQ(b.size_bytes, 22992569);
  EXPECT_EQ(b.begin_wal, "000000010000000000000002");
  EXPECT_EQ(b.begin_lsn, "0/2000028");
  EXPECT_EQ(b.timeline, 1);
  EXPECT_EQ(inv.last_wal, "000000010000000000000002");
  // 7714423568079000952 is above 2^53: a double would print 7714423568079000576.
  EXPECT_EQ(inv.details["system_id"].dump(), "7714423568079000952");
  EXPECT_EQ(inv.verdict, "healthy");
}

TEST(BackupPgbackrest, UnknownStanzaThrows) {
  EXPECT_THROW(parse_pgbackrest_info("pgbackrest:x", "x", fixture("pgbackrest_info.json")), RuntimeError);
  EXPECT_THROW(parse_pgbackrest_info("pgbackrest:x", "x", "not json"), RuntimeError);
}

TEST(BackupPgbackrest, VerifyIsJudgedFromItsOutput) {
  EXPECT_TRUE(judge_pgbackrest_verify(fixture("pgbackrest_verify_ok.txt")).empty());
  auto problems = judge_pgbackrest_verify(fixture("pgbackrest_verify_invalid.txt"));
  ASSERT_FALSE(problems.empty());
  bool named = false;
  for (const auto& p : problems) named = named || p.find("backup: 20261201-194326F, status: invalid") != std::string::npos;
  EXPECT_TRUE(named) << problems.front();
  EXPECT_FALSE(judge_pgbackrest_verify("P00   ERROR: [028]: backup and archive info files exist but do not match").empty());
}

TEST(BackupBarman, Barman34ZonelessTimes) {
  SourceInventory inv = parse_barman_list("barman-cloud:s3://b/p/srv", fixture("barman_list_3.4.json"));
  ASSERT_EQ(inv.backups.size(), 2u);
  EXPECT_EQ(inv.backups[0].id, "20261201T194408");
  EXPECT_EQ(inv.backups[0].status, "completed");
  EXPECT_EQ(inv.backups[0].start_time, 1796154248);
  EXPECT_EQ(inv.backups[0].stop_time, 1796154252);
  EXPECT_EQ(inv.backups[0].begin_lsn, "0/7000028");
  EXPECT_FALSE(inv.backups[0].size_bytes.has_value()) << "barman-cloud reports no size";
  EXPECT_EQ(inv.backups[1].status, "failed");
  EXPECT_EQ(inv.backups[1].error, "failure uploading data (connection reset)");
  EXPECT_EQ(inv.verdict, "problem");
}

TEST(BackupBarman, IsoTimesWithAZone) {
  SourceInventory inv = parse_barman_list("barman-cloud:s3://b/p/srv", fixture("barman_list_iso.json"));
  ASSERT_EQ(inv.backups.size(), 1u);
  EXPECT_EQ(inv.backups[0].start_time, 1796154248 - 7200);
  EXPECT_EQ(inv.backups[0].size_bytes, 23068672);
  EXPECT_EQ(inv.verdict, "healthy");
}
