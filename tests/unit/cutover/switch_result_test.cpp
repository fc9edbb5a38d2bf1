#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cutover/cutover.hpp"
#include "cutover/sequences.hpp"
#include "cutover/watchdog.hpp"

using namespace pgshift;
using namespace pgshift::cutover;

TEST(Sequences, CopyKeepsPositionOrMovesAheadByTheMargin) {
  catalog::TableRef seq{"public", "orders_id_seq"};
  SequenceCopy same = plan_sequence_copy(seq, 41, true, 1, 0);
  EXPECT_EQ(same.set_to, 41);
  EXPECT_TRUE(same.set_called);
  SequenceCopy ahead = plan_sequence_copy(seq, 41, true, 1, 1000);
  EXPECT_EQ(ahead.set_to, 1041);
  SequenceCopy down = plan_sequence_copy(seq, -10, true, -2, 5);
  EXPECT_EQ(down.set_to, -20) << "a descending sequence moves down";
  SequenceCopy fresh = plan_sequence_copy(seq, 1, false, 1, 0);
  EXPECT_EQ(fresh.set_to, 1);
  EXPECT_FALSE(fresh.set_called) << "a never-used sequence stays unused";
  nlohmann::json j = to_json(std::vector<SequenceCopy>{same});
  EXPECT_EQ(j[0]["sequence"], "public.orders_id_seq");
  EXPECT_EQ(j[0]["set_to"], 41);
}

TEST(SwitchResult, RendersTimelineWindowsAndOutcome) {
  SwitchResult r;
  r.action = "cutover";
  r.switched = true;
  r.writer = "app@pg-rw:5432/app";
  r.writer_role = "target";
  r.timeline = {{"pause", 10, 12.4, "database app paused"}, {"fence", 22.4, 7, "12 tables fenced"}};
  r.paused_ms = 141;
  r.fenced_ms = 130;
  r.took_ms = 312;
  std::string text = render(r);
  EXPECT_NE(text.find("pause"), std::string::npos);
  EXPECT_NE(text.find("database app paused"), std::string::npos);
  EXPECT_NE(text.find("pooler paused (clients waited) for 141ms"), std::string::npos) << text;
  EXPECT_NE(text.find("cutover done: the writer is the target (app@pg-rw:5432/app)"), std::string::npos) << text;
  nlohmann::json j = to_json(r);
  EXPECT_EQ(j["timeline"].size(), 2u);
  EXPECT_EQ(j["paused_ms"], 141);
  EXPECT_FALSE(j.contains("error"));
}

TEST(SwitchResult, AFailureSaysWhereAndWhatWasUndone) {
  SwitchResult r;
  r.action = "cutover";
  r.writer_role = "source";
  r.writer = "app@db1:5432/app";
  r.failed_step = "catch-up";
  r.error = "the target did not confirm 0/3000060 within 30.0s";
  r.undone = {"source: fence lifted from 12 table(s)", "pooler database app resumed"};
  std::string text = render(r);
  EXPECT_NE(text.find("undone:"), std::string::npos);
  EXPECT_EQ(text.find(r.error), std::string::npos) << "the error goes to stderr once, not to stdout too: " << text;
  EXPECT_NE(text.find("cutover not done (failed at catch-up): the writer is the source"), std::string::npos) << text;
  EXPECT_EQ(to_json(r)["failed_step"], "catch-up");
}

TEST(Watchdog, ConfigSurvivesThePipe) {
  WatchdogConfig c;
  c.action = "rollback";
  c.migration_id = 7;
  c.writer = pg::ConnInfo::parse("postgresql://a:pw-w@h1:5432/app", "w");
  c.replica = pg::ConnInfo::parse("postgresql://a:pw-r@h2:5433/app", "r");
  c.journal = c.writer;
  c.pooler_admin = pg::ConnInfo::parse("postgresql://admin:pw-a@h3:6432/pgbouncer", "p");
  c.pooler_db = "app";
  c.pooler_config = "/etc/pgbouncer/pgbouncer.ini";
  c.new_endpoint = {"h2", "5433", "app"};
  WatchdogConfig back = WatchdogConfig::from_json(nlohmann::json::parse(c.to_json().dump()));
  EXPECT_EQ(back.action, "rollback");
  EXPECT_EQ(back.migration_id, 7);
  EXPECT_EQ(back.replica.get("password"), "pw-r") << "the watchdog needs the passwords to act";
  ASSERT_TRUE(back.pooler_admin.has_value());
  EXPECT_EQ(back.pooler_admin->port(), "6432");
  EXPECT_TRUE(back.new_endpoint == c.new_endpoint);
}
