// sync soak: sample the status every interval until the clock has run clean long enough.
#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "fence/fence.hpp"
#include "state/recorded_plan.hpp"
#include "replication/internal.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace pgshift::replication {
namespace {

using namespace detail;
using namespace logical;
using nlohmann::json;

json anomalies_json(const std::vector<Anomaly>& anomalies) {
  json out = json::array();
  for (const auto& a : anomalies) out.push_back({{"code", a.code}, {"message", a.message}});
  return out;
}

// Tables created on the writer (and, by a followed CREATE TABLE, on the other side) since the
// replication began join it: the soak is what runs for days while the application deploys.
void join_unpublished(pg::Connection& source, pg::Connection& target, const state::Plan& plan, const Status& st,
                      state::Journal& journal, int64_t mid) {
  if (st.replicating_back) {
    JoinSpec spec{plan.reverse_publication(), plan.reverse_subscription(), plan.exclude_patterns(), true,
                  std::string(kStepReverseIdentity), fence::reason_migrated_away(plan.target.redacted())};
    join_new_tables(target, source, spec, journal, mid);
  } else {
    JoinSpec spec{plan.publication, plan.subscription, plan.exclude_patterns(), false,
                  std::string(kStepIdentity), target_fence_reason(plan)};
    join_new_tables(source, target, spec, journal, mid);
  }
}

}  // namespace

SoakResult soak(pg::Connection& source, pg::Connection& target, const state::Plan& given, const SoakOptions& options,
                const std::function<void(const SoakTick&)>& on_tick) {
  using Clock = std::chrono::steady_clock;
  state::Plan plan = state::recorded_plan(target, given, false);
  state::Journal journal(target, "sync soak");
  std::optional<state::Migration> current = journal.current();
  // Syncing: the forward replication; cut over: the replication back (the rollback window).
  auto replicating = [](state::Phase p) { return p == state::Phase::syncing || p == state::Phase::cut_over; };
  if (!current || !replicating(current->phase)) {
    throw RuntimeError(fmt::format("{}: no migration is syncing or replicating back{}; pgshift sync start begins one",
                                   target.endpoint(),
                                   current ? fmt::format(" (migration {} is {})", current->id, state::to_string(current->phase))
                                           : ""));
  }
  const int64_t mid = current->id;
  journal.record(mid, kStepSoak, state::EventStatus::started,
                 {{"for_ms", options.duration.count()},
                  {"max_lag_bytes", options.max_lag_bytes},
                  {"deadline_ms", options.deadline.count()},
                  {"interval_ms", options.interval.count()}});

  SoakClock clock(options.duration);
  const auto began = Clock::now();
  const auto deadline = began + options.deadline;
  std::optional<Status> previous;
  SoakResult result;
  try {
    while (true) {
      Status st = status(source, target, plan, previous ? &*previous : nullptr);
      if (st.phase != current->phase) {
        throw RuntimeError(fmt::format("migration {} left the {} phase during the soak (now {})", mid,
                                       state::to_string(current->phase), state::to_string(st.phase)));
      }
      if (!st.unpublished.empty() || st.count_state("missing") > 0) join_unpublished(source, target, plan, st, journal, mid);
      const auto now = Clock::now();
      std::vector<Anomaly> anomalies = find_anomalies(st, previous ? &*previous : nullptr, options.max_lag_bytes);
      SoakClock::Observation obs = clock.observe(now, anomalies);
      if (obs.restarted) {
        journal.record(mid, kStepSoak, state::EventStatus::info, {{"restart", anomalies_json(obs.reasons)}});
      }
      auto elapsed = std::chrono::duration_cast<util::Millis>(now - began);
      auto deadline_left = std::max(util::Millis(0), std::chrono::duration_cast<util::Millis>(deadline - now));
      if (on_tick) on_tick(SoakTick{st, clock, obs, elapsed, deadline_left, now});
      result.last_anomalies = anomalies;
      if (clock.passed(now)) {
        result.passed = true;
        break;
      }
      if (now >= deadline) break;
      previous = std::move(st);
      util::Millis wait = std::min(options.interval, deadline_left);
      if (clock.running()) wait = std::min(wait, clock.left(now));
      if (!util::sleep_unless_interrupted(std::max(wait, util::Millis(1)))) {
        result.interrupted = true;
        break;
      }
    }
  } catch (const std::exception& e) {
    journal.record(mid, kStepSoak, state::EventStatus::failed, {{"error", e.what()}});
    throw;
  }
  const auto end = Clock::now();
  result.restarts = clock.restarts();
  result.took = std::chrono::duration_cast<util::Millis>(end - began);
  result.longest_clean = clock.longest_clean(end);
  json detail = {{"for_ms", options.duration.count()},
                 {"max_lag_bytes", options.max_lag_bytes},
                 {"restarts", result.restarts},
                 {"took_ms", result.took.count()},
                 {"longest_clean_ms", result.longest_clean.count()}};
  if (!result.passed) {
    detail["reason"] = result.interrupted ? "interrupted" : "deadline";
    detail["anomalies"] = anomalies_json(result.last_anomalies);
  }
  journal.record(mid, kStepSoak, result.passed ? state::EventStatus::passed : state::EventStatus::failed, detail);
  return result;
}

}  // namespace pgshift::replication
