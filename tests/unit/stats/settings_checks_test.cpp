// stats::settings_checks: the Settings tab's flags from setting values (pure; the integration
// test reads them from a real server).
#include "stats/settings.hpp"

#include <gtest/gtest.h>

using namespace pgshift::stats;

namespace {

std::map<std::string, std::string> healthy() {
  return {{"max_connections", "120"},   {"superuser_reserved_connections", "3"}, {"archive_mode", "on"},
          {"archive_timeout", "60"},    {"statement_timeout", "30000"},          {"idle_in_transaction_session_timeout", "600000"},
          {"wal_level", "logical"},     {"fsync", "on"},                         {"full_page_writes", "on"}};
}

const SettingCheck& check(const std::vector<SettingCheck>& all, const std::string& name) {
  for (const auto& c : all) {
    if (c.check == name) return c;
  }
  static SettingCheck none;
  ADD_FAILURE() << "no check " << name;
  return none;
}

}  // namespace

TEST(SettingsChecks, AHealthyServerIsAllOk) {
  auto all = settings_checks(healthy(), {}, SettingsContext{4});
  ASSERT_EQ(all.size(), 8u);
  for (const auto& c : all) {
    EXPECT_TRUE(c.ok) << c.check << ": " << c.explanation;
    EXPECT_FALSE(c.explanation.empty()) << c.check;
  }
}

TEST(SettingsChecks, ThePoolAgainstTheConnectionsOthersNeed) {
  auto v = healthy();
  v["reserved_connections"] = "7";  // PostgreSQL 16+
  const auto& warn = check(settings_checks(v, {}, SettingsContext{28}), "pool-vs-max-connections");
  EXPECT_FALSE(warn.ok);
  EXPECT_EQ(warn.severity, Severity::warning);
  EXPECT_NE(warn.explanation.find("28 of the 110"), std::string::npos) << warn.explanation;
  EXPECT_FALSE(warn.advice.empty());
  EXPECT_TRUE(check(settings_checks(v, {}, SettingsContext{27}), "pool-vs-max-connections").ok) << "25% is fine";
  EXPECT_TRUE(check(settings_checks(v, {}, SettingsContext{0}), "pool-vs-max-connections").ok) << "unknown pool";
}

TEST(SettingsChecks, ArchiveTimeoutAgainstTheRpo) {
  auto v = healthy();
  v["archive_timeout"] = "0";
  const auto& zero = check(settings_checks(v, {}, {}), "archive-timeout");
  EXPECT_EQ(zero.severity, Severity::warning);
  EXPECT_FALSE(zero.ok);
  EXPECT_NE(zero.explanation.find("RPO"), std::string::npos);
  v["archive_timeout"] = "7200";
  const auto& long_one = check(settings_checks(v, {}, {}), "archive-timeout");
  EXPECT_FALSE(long_one.ok);
  EXPECT_EQ(long_one.severity, Severity::info);
  v["archive_mode"] = "off";
  v["archive_timeout"] = "0";
  EXPECT_TRUE(check(settings_checks(v, {}, {}), "archive-timeout").ok) << "nothing archived, no RPO to bound";
}

TEST(SettingsChecks, OffSwitchesAndTimeouts) {
  auto v = healthy();
  v["statement_timeout"] = "0";
  v["idle_in_transaction_session_timeout"] = "0";
  v["wal_level"] = "replica";
  v["fsync"] = "off";
  v["full_page_writes"] = "off";
  auto all = settings_checks(v, {"shared_buffers"}, {});
  EXPECT_FALSE(check(all, "statement-timeout-off").ok);
  EXPECT_FALSE(check(all, "idle-in-transaction-timeout-off").ok);
  EXPECT_FALSE(check(all, "wal-level-not-logical").ok);
  EXPECT_EQ(check(all, "fsync-off").severity, Severity::critical);
  EXPECT_EQ(check(all, "full-page-writes-off").severity, Severity::warning);
  const auto& pending = check(all, "pending-restart");
  EXPECT_FALSE(pending.ok);
  EXPECT_NE(pending.explanation.find("shared_buffers"), std::string::npos);
}

TEST(SettingsChecks, UnreadableSettingsAreNotFlagged) {
  for (const auto& c : settings_checks({}, {}, SettingsContext{4})) {
    if (c.check == "pending-restart") continue;
    EXPECT_TRUE(c.ok) << c.check;
    EXPECT_NE(c.explanation.find("not readable"), std::string::npos) << c.check << ": " << c.explanation;
  }
}
