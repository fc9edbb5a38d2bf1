// sync stop: remove everything sync start created, then verify nothing is left.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "state/recorded_plan.hpp"
#include "fence/fence.hpp"
#include "replication/ddl_setup.hpp"
#include "replication/deferred_objects.hpp"
#include "replication/internal.hpp"
#include "replication/parallel_copy.hpp"
#include "state/lock.hpp"
#include "stats/subscription_progress.hpp"
#include "util/error.hpp"

namespace pgshift::replication {
namespace {

using namespace detail;
using namespace logical;
using state::EventStatus;
using state::Phase;

// What is still there after a stop. Everything listed is a defect to report.
std::vector<std::string> leftovers(pg::Connection& source, pg::Connection& target, const state::Plan& plan,
                                   std::optional<uint32_t> subscription_oid, state::Journal& journal,
                                   int64_t migration_id) {
  std::vector<std::string> out;
  if (stats::subscription_progress(target, plan.subscription).exists) {
    out.push_back(fmt::format("subscription {} on the target", plan.subscription));
  }
  for (const auto& slot : subscription_slots(source, plan.subscription, subscription_oid)) {
    out.push_back(fmt::format("replication slot {} on the source", slot));
  }
  if (publication_exists(source, plan.publication)) {
    out.push_back(fmt::format("publication {} on the source", plan.publication));
  }
  if (size_t fenced = fence::fenced_tables(target).size()) {
    out.push_back(fmt::format("fence on {} target table(s)", fenced));
  }
  if (migration_id) {
    if (size_t n = open_deferred(journal, migration_id)) {
      out.push_back(fmt::format("{} index(es)/constraint(s) dropped for the copy and not rebuilt on the target", n));
    }
    for (const auto& c : journal.open_compensations(migration_id, kStepIdentity)) {
      out.push_back(fmt::format("replica identity of {} not restored", IdentityChange::from_json(c.detail).table.display()));
    }
  }
  return out;
}

}  // namespace

StopResult stop(pg::Connection& source, pg::Connection& target, const state::Plan& given) {
  auto started = std::chrono::steady_clock::now();
  state::Journal journal(target, "sync stop");
  std::optional<state::MigrationLock> lock;
  try {
    lock.emplace(state::MigrationLock::acquire(target));
  } catch (const RuntimeError&) {
    // A sync start --copy parallel holds the lock for as long as it copies: ask it to stop.
    std::optional<state::Migration> running = journal.current();
    if (!running || running->phase != Phase::starting || !parallel_copy_pending(journal, running->id)) throw;
    spdlog::info("a sync start is copying; asking it to stop (it checks every second)");
    journal.record(running->id, kStepCopyStopRequested, EventStatus::info);
    lock.emplace(state::MigrationLock::acquire_within(target, util::Millis(120'000)));
  }
  state::Plan plan = state::recorded_plan(target, given, true);
  std::optional<state::Migration> current = journal.current();
  StopResult result;
  result.names = Names::of(plan);
  int64_t mid = 0;
  if (current) {
    mid = current->id;
    result.migration_id = mid;
    if (current->phase >= Phase::cutting_over) {
      throw UsageError(fmt::format("migration {} on {} is {}: sync stop would tear down what cutover relies on",
                                   mid, target.endpoint(), state::to_string(current->phase)));
    }
  }
  bool active = current && (current->phase == Phase::syncing || current->phase == Phase::starting);
  if (active) journal.record(mid, kStepStop, EventStatus::started);

  DroppedSubscription dropped;
  try {
    if (mid) end_recorded_keeper(source, journal, mid);
    dropped = drop_subscription(source, target, plan.subscription);
    result.subscription_dropped = dropped.dropped;
    result.slots_dropped = dropped.slots;
    if (dropped.dropped) spdlog::info("target: subscription {} dropped", plan.subscription);
    for (const auto& slot : dropped.slots) spdlog::info("source: replication slot {} dropped", slot);
    // The publication goes before the identities: once a table is no longer published, its
    // UPDATEs no longer need the identity pgshift gave it.
    result.publication_dropped = drop_publication(source, plan.publication);
    if (result.publication_dropped) spdlog::info("source: publication {} dropped", plan.publication);
    if (mid) result.identities_restored = restore_identities(source, target, journal, mid, kStepIdentity);
    if (mid && current->phase == Phase::starting) {
      result.emptied = empty_unfinished_copy(plan.target, journal, mid);
      if (!result.emptied.empty()) {
        spdlog::info("target: emptied the {} table(s) the unfinished parallel copy wrote into", result.emptied.size());
      }
    }
    if (mid && open_deferred(journal, mid)) {
      RestoreOptions restore;
      restore.jobs = 2;
      RestoreResult r = restore_deferred(plan.target, journal, mid, restore);
      result.deferred_restored = r.indexes + r.constraints;
      spdlog::info("target: rebuilt {} index(es) and {} constraint(s) dropped for the copy", r.indexes, r.constraints);
    }
    result.fence_lifted = fence::lift(target);
    if (result.fence_lifted) spdlog::info("target: fence lifted from {} table(s)", result.fence_lifted);
    result.ddl_removed = ddl::installed(source) || ddl::installed(target);
    for (const auto& failure : tear_down_ddl(source, target)) result.leftovers.push_back(failure);
    if (result.ddl_removed) spdlog::info("schema change capture and log removed from both sides");
    if (mid) {
      for (const auto& c : journal.open_compensations(mid, kStepFence)) journal.settle(mid, c, {{"lifted", true}});
    }
  } catch (const std::exception& e) {
    if (mid) {
      try {
        journal.record(mid, kStepStop, EventStatus::failed, {{"error", e.what()}});
      } catch (const std::exception&) {
      }
    }
    throw;
  }
  result.found_anything = result.subscription_dropped || !result.slots_dropped.empty() || result.publication_dropped ||
                          !result.identities_restored.empty() || result.fence_lifted > 0 ||
                          result.deferred_restored > 0 || !result.emptied.empty() || result.ddl_removed;
  std::vector<std::string> more = leftovers(source, target, plan, dropped.oid, journal, mid);
  result.leftovers.insert(result.leftovers.end(), more.begin(), more.end());
  result.took = std::chrono::duration_cast<util::Millis>(std::chrono::steady_clock::now() - started);
  if (mid && (active || result.found_anything)) {
    nlohmann::json restored = nlohmann::json::array();
    for (const auto& c : result.identities_restored) restored.push_back(c.table.display());
    if (result.leftovers.empty()) journal.set_phase(mid, Phase::stopped);
    journal.record(mid, kStepStop, result.leftovers.empty() ? EventStatus::finished : EventStatus::failed,
                   {{"subscription_dropped", result.subscription_dropped},
                    {"slots_dropped", result.slots_dropped},
                    {"publication_dropped", result.publication_dropped},
                    {"identities_restored", restored},
                    {"fence_lifted", result.fence_lifted},
                    {"ddl_removed", result.ddl_removed},
                    {"deferred_restored", result.deferred_restored},
                    {"emptied", result.emptied.size()},
                    {"leftovers", result.leftovers},
                    {"took_ms", result.took.count()}});
  }
  if (!result.leftovers.empty()) {
    throw RuntimeError(fmt::format("sync stop could not remove everything; still there: {}",
                                   fmt::join(result.leftovers, ", ")));
  }
  return result;
}

}  // namespace pgshift::replication
