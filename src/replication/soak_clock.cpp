// The soak gate's pure parts: what counts as an anomaly in a status sample, and the clock.
#include <fmt/format.h>

#include <algorithm>

#include "replication/ddl_setup.hpp"
#include "replication/replication.hpp"
#include "util/duration.hpp"

namespace pgshift::replication {

std::vector<Anomaly> find_anomalies(const Status& now, const Status* previous, int64_t max_lag_bytes) {
  std::vector<Anomaly> out;
  const auto& sub = now.subscription_state;
  if (!now.publication_exists) {
    out.push_back({"publication-missing", fmt::format("publication {} is missing on the source", now.names.publication)});
  }
  if (!sub.exists) {
    out.push_back({"subscription-missing", fmt::format("subscription {} is missing on the target", now.names.subscription)});
  } else if (!sub.enabled) {
    out.push_back({"subscription-disabled", fmt::format("subscription {} is disabled", now.names.subscription)});
  } else if (!sub.apply_pid) {
    out.push_back({"apply-worker-not-running",
                   fmt::format("the apply worker of subscription {} is not running", now.names.subscription)});
  }
  if (!now.slot.exists) {
    out.push_back({"slot-missing", fmt::format("replication slot {} is missing on the source", now.names.subscription)});
  } else {
    if (!now.slot.active && sub.exists && sub.enabled && sub.apply_pid) {
      out.push_back({"slot-inactive", fmt::format("replication slot {} is not in use by the subscriber", now.names.subscription)});
    }
    if (now.slot.wal_status == "lost" || now.slot.wal_status == "unreserved") {
      out.push_back({"slot-at-risk", fmt::format("replication slot {} has wal_status {}", now.names.subscription, now.slot.wal_status)});
    }
  }
  std::vector<std::string> not_ready;
  for (const auto& t : now.tables) {
    if (t.state != "ready") not_ready.push_back(fmt::format("{} ({})", t.table.display(), t.state));
  }
  if (!not_ready.empty()) {
    std::string names;
    for (size_t i = 0; i < not_ready.size() && i < 5; ++i) names += (i ? ", " : "") + not_ready[i];
    if (not_ready.size() > 5) names += fmt::format(" and {} more", not_ready.size() - 5);
    out.push_back({"tables-not-ready", fmt::format("{} table(s) not ready: {}", not_ready.size(), names)});
  }
  if (!now.lag_bytes) {
    out.push_back({"lag-unknown", "lag unknown: the slot has not confirmed any position yet"});
  } else if (*now.lag_bytes > max_lag_bytes) {
    out.push_back({"lag", fmt::format("lag {} exceeds --max-lag {}", util::format_bytes(*now.lag_bytes),
                                      util::format_bytes(max_lag_bytes))});
  }
  for (const auto& e : now.ddl.pending) {
    if (!ddl::held(e, now.ddl.policy)) continue;
    out.push_back({"ddl-held", fmt::format("schema change {} is held ({}): replication waits at it", e.id.substr(0, 8),
                                           e.reason)});
  }
  if (!now.drift.empty()) {
    std::string first = now.drift.front().description;
    if (now.drift.size() > 1) first += fmt::format(" (and {} more)", now.drift.size() - 1);
    out.push_back({"drift", "schema drift: " + first});
  }
  if (previous) {
    auto rose = [](const std::optional<int64_t>& before, const std::optional<int64_t>& after) {
      return before && after && *after > *before;
    };
    const auto& was = previous->subscription_state;
    if (rose(was.apply_error_count, sub.apply_error_count) || rose(was.sync_error_count, sub.sync_error_count)) {
      out.push_back({"subscription-errors",
                     fmt::format("replication workers failed: apply errors {} → {}, table-sync errors {} → {} (see the "
                                 "target's server log)",
                                 was.apply_error_count.value_or(0), sub.apply_error_count.value_or(0),
                                 was.sync_error_count.value_or(0), sub.sync_error_count.value_or(0))});
    }
  }
  return out;
}

SoakClock::Observation SoakClock::observe(TimePoint now, const std::vector<Anomaly>& anomalies) {
  Observation obs;
  obs.reasons = anomalies;
  if (anomalies.empty()) {
    if (!clean_since_) clean_since_ = now;
    held_codes_.clear();
    return obs;
  }
  // Reported when the clock was running, or when an anomaly of a kind not seen since the clock
  // stopped shows up (a crash-looping worker is reported once, not at every sample).
  bool new_kind = false;
  for (const auto& a : anomalies) {
    if (std::find(held_codes_.begin(), held_codes_.end(), a.code) == held_codes_.end()) {
      held_codes_.push_back(a.code);
      new_kind = true;
    }
  }
  obs.restarted = clean_since_.has_value() || new_kind;
  if (clean_since_) longest_ = std::max(longest_, clean_for(now));
  if (obs.restarted) ++restarts_;
  clean_since_.reset();
  return obs;
}

util::Millis SoakClock::clean_for(TimePoint now) const {
  if (!clean_since_) return util::Millis(0);
  return std::max(util::Millis(0), std::chrono::duration_cast<util::Millis>(now - *clean_since_));
}

util::Millis SoakClock::left(TimePoint now) const { return std::max(util::Millis(0), required_ - clean_for(now)); }

util::Millis SoakClock::longest_clean(TimePoint now) const { return std::max(longest_, clean_for(now)); }

}  // namespace pgshift::replication
