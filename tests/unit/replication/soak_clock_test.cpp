// The soak gate's pure parts: which samples are anomalies, and how the clock runs and restarts.
#include <gtest/gtest.h>

#include "replication/replication.hpp"
#include "status_fixture.hpp"

using namespace pgshift;
using namespace pgshift::replication;
using namespace std::chrono_literals;

namespace {

using fixtures::healthy_status;

std::vector<std::string> codes(const std::vector<Anomaly>& anomalies) {
  std::vector<std::string> out;
  for (const auto& a : anomalies) out.push_back(a.code);
  return out;
}

}  // namespace

TEST(SoakAnomalies, HealthyReplicationHasNone) {
  Status st = healthy_status();
  EXPECT_TRUE(find_anomalies(st, nullptr, 1024).empty());
  EXPECT_TRUE(find_anomalies(st, &st, 1024).empty());
}

TEST(SoakAnomalies, EachKindOfTrouble) {
  Status st = healthy_status();
  st.subscription_state.enabled = false;
  EXPECT_EQ(codes(find_anomalies(st, nullptr, 1024)), std::vector<std::string>{"subscription-disabled"});

  st = healthy_status();
  st.subscription_state.apply_pid.reset();
  EXPECT_EQ(codes(find_anomalies(st, nullptr, 1024)), std::vector<std::string>{"apply-worker-not-running"});

  st = healthy_status();
  st.slot.active = false;
  EXPECT_EQ(codes(find_anomalies(st, nullptr, 1024)), std::vector<std::string>{"slot-inactive"});

  st = healthy_status();
  st.slot.wal_status = "unreserved";
  EXPECT_EQ(codes(find_anomalies(st, nullptr, 1024)), std::vector<std::string>{"slot-at-risk"});

  st = healthy_status();
  st.tables[1].state = "copying";
  auto a = find_anomalies(st, nullptr, 1024);
  ASSERT_EQ(codes(a), std::vector<std::string>{"tables-not-ready"});
  EXPECT_EQ(a[0].message, "1 table(s) not ready: public.b (copying)");

  st = healthy_status();
  st.lag_bytes = 4096;
  a = find_anomalies(st, nullptr, 1024);
  ASSERT_EQ(codes(a), std::vector<std::string>{"lag"});
  EXPECT_EQ(a[0].message, "lag 4.0 kB exceeds --max-lag 1.0 kB");
  st.lag_bytes.reset();
  EXPECT_EQ(codes(find_anomalies(st, nullptr, 1024)), std::vector<std::string>{"lag-unknown"});

  st = healthy_status();
  st.drift.push_back({{"public", "a"}, "note", "missing_on_target",
                      "public.a.note: on the source (text) but not on the target", "1", "2", "", ""});
  a = find_anomalies(st, nullptr, 1024);
  ASSERT_EQ(codes(a), std::vector<std::string>{"drift"});
  EXPECT_EQ(a[0].message, "schema drift: public.a.note: on the source (text) but not on the target");
}

TEST(SoakAnomalies, ErrorCountersMatterOnlyWhenTheyRise) {
  Status before = healthy_status();
  before.subscription_state.apply_error_count = 3;  // errors from before the soak began
  Status now = before;
  EXPECT_TRUE(find_anomalies(now, &before, 1024).empty());
  now.subscription_state.sync_error_count = 1;
  EXPECT_EQ(codes(find_anomalies(now, &before, 1024)), std::vector<std::string>{"subscription-errors"});
}

TEST(SoakClock, PassesAfterTheDurationOfCleanSamples) {
  SoakClock clock(3000ms);
  auto t0 = SoakClock::TimePoint{};
  EXPECT_FALSE(clock.observe(t0, {}).restarted);
  EXPECT_TRUE(clock.running());
  EXPECT_FALSE(clock.passed(t0 + 2999ms));
  EXPECT_EQ(clock.left(t0 + 1000ms), 2000ms);
  clock.observe(t0 + 3000ms, {});
  EXPECT_TRUE(clock.passed(t0 + 3000ms));
  EXPECT_EQ(clock.restarts(), 0);
}

TEST(SoakClock, AnyAnomalyRestartsTheRunningClock) {
  SoakClock clock(3000ms);
  auto t0 = SoakClock::TimePoint{};
  clock.observe(t0, {});
  auto obs = clock.observe(t0 + 2500ms, {{"lag", "lag 20 MB exceeds --max-lag 16 MB"}});
  EXPECT_TRUE(obs.restarted);
  EXPECT_EQ(obs.reasons.size(), 1u);
  EXPECT_FALSE(clock.running());
  EXPECT_EQ(clock.clean_for(t0 + 2600ms), 0ms);
  EXPECT_EQ(clock.longest_clean(t0 + 2600ms), 2500ms);
  clock.observe(t0 + 3000ms, {});
  EXPECT_FALSE(clock.passed(t0 + 5900ms));
  EXPECT_TRUE(clock.passed(t0 + 6000ms));
  EXPECT_EQ(clock.restarts(), 1);
}

TEST(SoakClock, AHeldClockReportsOnlyNewKindsOfAnomaly) {
  SoakClock clock(1000ms);
  auto t0 = SoakClock::TimePoint{};
  Anomaly disabled{"subscription-disabled", "subscription pgshift is disabled"};
  Anomaly errors{"subscription-errors", "errors rose"};
  EXPECT_TRUE(clock.observe(t0, {disabled}).restarted);  // the first anomaly is reported
  EXPECT_FALSE(clock.observe(t0 + 100ms, {disabled}).restarted);
  EXPECT_TRUE(clock.observe(t0 + 200ms, {disabled, errors}).restarted);
  EXPECT_FALSE(clock.observe(t0 + 300ms, {disabled}).restarted);  // a crash loop flaps: reported once
  EXPECT_FALSE(clock.observe(t0 + 400ms, {disabled, errors}).restarted);
  clock.observe(t0 + 500ms, {});
  EXPECT_TRUE(clock.observe(t0 + 600ms, {disabled}).restarted);  // the clock ran in between
  EXPECT_EQ(clock.restarts(), 3);
}
