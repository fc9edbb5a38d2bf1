// sync status: read both sides and say where replication stands.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "state/lock.hpp"
#include "state/recorded_plan.hpp"
#include "fence/fence.hpp"
#include "replication/ddl_setup.hpp"
#include "replication/internal.hpp"
#include "replication/parallel_copy.hpp"
#include "util/duration.hpp"

namespace pgshift::replication {

using namespace detail;
using namespace logical;

std::vector<Warning> status_warnings(const Status& st, const Status* previous) {
  std::vector<Warning> out;
  auto warn = [&](std::string code, std::string message) { out.push_back({std::move(code), std::move(message)}); };
  const bool syncing = st.phase == state::Phase::syncing || st.phase == state::Phase::cut_over;
  const std::string pub_side = st.publisher_role(), sub_side = st.subscriber_role();
  const auto& sub = st.subscription_state;
  std::string retained = st.slot.retained_bytes ? util::format_bytes(*st.slot.retained_bytes) : "an unknown amount";
  if (syncing && !st.publication_exists) warn("publication-missing", fmt::format("publication {} is missing on the {}", st.names.publication, pub_side));
  if (syncing && !sub.exists) warn("subscription-missing", fmt::format("subscription {} is missing on the {}", st.names.subscription, sub_side));
  if (syncing && !st.slot.exists) warn("slot-missing", fmt::format("replication slot {} is missing on the {}", st.names.subscription, pub_side));
  if (st.slot.wal_status == "lost") {
    warn("slot-lost", fmt::format("replication slot {} was invalidated (the WAL it needed is gone): the subscription "
                                  "cannot continue; run pgshift sync stop and sync start (the copy runs again)",
                                  st.names.subscription));
  } else if (st.slot.wal_status == "unreserved") {
    warn("slot-at-risk", fmt::format("replication slot {} retains {} of WAL, more than max_slot_wal_keep_size ({}): "
                                     "the next checkpoint invalidates it unless the subscriber catches up",
                                     st.names.subscription, retained, util::format_bytes(st.max_slot_wal_keep_size)));
  } else if (st.max_slot_wal_keep_size >= 0 && st.slot.safe_wal_size &&
             *st.slot.safe_wal_size < st.max_slot_wal_keep_size / 5) {
    warn("slot-near-limit",
         fmt::format("replication slot {} retains {} of WAL; it is invalidated after {} more is written "
                     "(max_slot_wal_keep_size = {})",
                     st.names.subscription, retained, util::format_bytes(std::max<int64_t>(0, *st.slot.safe_wal_size)),
                     util::format_bytes(st.max_slot_wal_keep_size)));
  }
  if (sub.exists && !sub.enabled) {
    std::string growth;
    if (previous && previous->slot.retained_bytes && st.slot.retained_bytes &&
        *st.slot.retained_bytes > *previous->slot.retained_bytes) {
      growth = fmt::format(" (+{} since the last sample)",
                           util::format_bytes(*st.slot.retained_bytes - *previous->slot.retained_bytes));
    }
    warn("subscription-disabled",
         fmt::format("subscription {} is disabled: slot {} retains {} of WAL on the {}{}, growing with every "
                     "write there; ALTER SUBSCRIPTION {} ENABLE on the {}",
                     st.names.subscription, st.names.subscription, retained, pub_side, growth, st.names.subscription,
                     sub_side));
  } else if (sub.exists && !sub.apply_pid) {
    warn("apply-worker-not-running",
         fmt::format("the apply worker of subscription {} is not running (it restarts after an error; the reason is "
                     "in the {}'s server log)",
                     st.names.subscription, sub_side));
  }
  int64_t apply_errors = sub.apply_error_count.value_or(0), sync_errors = sub.sync_error_count.value_or(0);
  // Counters reset (or a new subscription) below the baseline: count from zero.
  bool reset = apply_errors < st.apply_errors_before || sync_errors < st.sync_errors_before;
  int64_t new_apply = reset ? apply_errors : apply_errors - st.apply_errors_before;
  int64_t new_sync = reset ? sync_errors : sync_errors - st.sync_errors_before;
  if (new_apply + new_sync > 0) {
    warn("subscription-errors",
         fmt::format("{} apply error(s) and {} table-sync error(s) since {} (pg_stat_subscription_stats); the "
                     "messages are in the {}'s server log",
                     new_apply, new_sync,
                     reset || st.errors_seen_at.empty() ? std::string("the subscription was created")
                                                        : "replication was last seen healthy, " + st.errors_seen_at,
                     sub_side));
  }
  for (const auto& e : st.ddl.pending) {
    if (!ddl::held(e, st.ddl.policy)) continue;
    warn("ddl-held", fmt::format("schema change {} on the {} is held, and replication waits at it: {}; {}; then "
                                 "pgshift sync ddl apply {} (runs it on the {}) or pgshift sync ddl skip {}",
                                 e.id, pub_side, e.reason, ddl::one_line(e.statement, 200), e.id.substr(0, 8),
                                 sub_side, e.id.substr(0, 8)));
  }
  if (st.ddl.followed && !st.ddl.capturing && (st.phase == state::Phase::syncing || st.phase == state::Phase::cut_over)) {
    warn("ddl-not-captured", fmt::format("schema changes on the {} are not captured (its role cannot create event "
                                         "triggers): a change there shows as drift below, with the statement to run on "
                                         "the {}",
                                         pub_side, sub_side));
  }
  if (!st.drift.empty()) {
    warn("drift", fmt::format("{} schema difference(s) on published tables appeared since sync start; DDL is not "
                              "replicated: apply it on the {}",
                              st.drift.size(), sub_side));
  }
  return out;
}

namespace {

constexpr std::string_view kStepErrorsSeen = "subscription-errors-seen";

// Reads the error counters of the last healthy observation, and journals a new one when
// replication is healthy now (apply worker running, caught up, every table ready) with counters
// that moved: errors from before are then history, not a warning. A role that cannot write the
// journal just keeps the older baseline.
void record_error_baseline(state::Journal& journal, Status& st) {
  if (!st.migration_id) return;
  const auto& sub = st.subscription_state;
  if (auto seen = journal.last_event(st.migration_id, kStepErrorsSeen, state::EventStatus::info)) {
    if (seen->detail.value("subscription", std::string()) == st.names.subscription) {
      st.apply_errors_before = seen->detail.value("apply", int64_t{0});
      st.sync_errors_before = seen->detail.value("sync", int64_t{0});
      st.errors_seen_at = seen->at;
    }
  }
  int64_t apply = sub.apply_error_count.value_or(0), sync = sub.sync_error_count.value_or(0);
  bool healthy = sub.enabled && sub.apply_pid && st.lag_bytes && *st.lag_bytes == 0 && st.drift.empty() &&
                 !st.tables.empty() && st.count_state("ready") == st.tables.size();
  if (!healthy || (apply == st.apply_errors_before && sync == st.sync_errors_before)) return;
  try {
    journal.record(st.migration_id, kStepErrorsSeen, state::EventStatus::info,
                   {{"subscription", st.names.subscription}, {"apply", apply}, {"sync", sync}});
    st.apply_errors_before = apply;
    st.sync_errors_before = sync;
    st.errors_seen_at = "just now";
  } catch (const std::exception&) {
  }
}

// select_tables() speaks of the publisher as "the source"; while replicating back the publisher
// is the target, so the sides of the tables found on one only are swapped back.
void name_sides_of_left_out(std::vector<catalog::LeftOut>& left_out) {
  for (auto& lo : left_out) {
    if (lo.reason == catalog::LeftOutReason::source_only) {
      lo.reason = catalog::LeftOutReason::target_only;
      lo.detail = "not in the replication back to the source";
    } else if (lo.reason == catalog::LeftOutReason::target_only) {
      lo.reason = catalog::LeftOutReason::source_only;
    }
  }
}

}  // namespace

size_t Status::count_state(const std::string& wanted) const {
  return static_cast<size_t>(std::count_if(tables.begin(), tables.end(), [&](const TableStatus& t) { return t.state == wanted; }));
}

Status status(pg::Connection& source, pg::Connection& target, const state::Plan& given, const Status* previous) {
  state::Plan plan = state::recorded_plan(target, given, false);
  pg::Connection* publisher = &source;
  pg::Connection* subscriber = &target;
  state::Journal journal(target, "sync status");
  Status st;
  st.names = Names::of(plan);
  std::vector<std::string> accepted;
  if (std::optional<state::Migration> current = journal.current()) {
    st.phase = current->phase;
    st.migration_id = current->id;
    st.phase_since = current->updated_at;
    st.replicating_back = current->phase == state::Phase::cut_over || current->phase == state::Phase::rolling_back;
    if (auto started = journal.last_event(current->id, kStepStart, state::EventStatus::finished)) {
      accepted = started->detail.value("accepted_differences", std::vector<std::string>{});
    }
    for (const auto& c : journal.open_compensations(current->id, kStepIdentity)) {
      st.identity_changes.push_back(IdentityChange::from_json(c.detail));
    }
  }

  if (st.replicating_back) {
    // Replication runs target -> source: show that one.
    std::swap(publisher, subscriber);
    plan.publication = plan.reverse_publication();
    plan.subscription = plan.reverse_subscription();
    st.names.publication = plan.publication;
    st.names.subscription = plan.subscription;
  }
  catalog::Snapshot src = catalog::read_snapshot(*publisher);
  catalog::Snapshot tgt = catalog::read_snapshot(*subscriber);
  // Drift is always described source -> target.
  const catalog::Snapshot& drift_source = st.replicating_back ? tgt : src;
  const catalog::Snapshot& drift_target = st.replicating_back ? src : tgt;
  std::vector<catalog::TableRef> published;
  for (const auto& p : src.publications) {
    if (p.name == plan.publication) {
      st.publication_exists = true;
      published = p.tables;
    }
  }
  catalog::TableSelection sel = catalog::select_tables(src, tgt, plan.exclude_patterns());
  st.left_out = sel.left_out;
  if (st.replicating_back) name_sides_of_left_out(st.left_out);
  if (st.publication_exists) {
    for (const auto& t : sel.replicated) {
      if (std::find(published.begin(), published.end(), t) != published.end()) continue;
      st.unpublished.push_back(t);
      st.warnings.push_back({"not-published", fmt::format("{} is on both sides but not in publication {} (created "
                                                          "after sync start): pgshift sync soak adds it, or pgshift "
                                                          "sync start (only that table is copied)",
                                                          t.display(), plan.publication)});
    }
  }

  stats::SubscriptionProgress sub = stats::subscription_progress(*subscriber, plan.subscription);
  for (const auto& ref : published) {
    TableStatus ts{ref, "missing", std::nullopt, std::nullopt, std::nullopt};
    for (const auto& t : sub.tables) {
      if (t.schema != ref.schema || t.name != ref.name) continue;
      ts.state = stats::table_state_name(t.state);
      ts.copy_bytes = t.copy_bytes;
      ts.copy_bytes_total = t.copy_bytes_total;
      ts.copy_tuples = t.copy_tuples;
    }
    st.tables.push_back(std::move(ts));
  }
  sub.tables.clear();
  st.subscription_state = sub;
  if (st.migration_id && st.phase == state::Phase::starting) {
    st.copy = read_copy_status(target, journal, st.migration_id, st.tables);
    // Between the copy's own sessions (planning, dropping the indexes it rebuilds, between
    // units) none may be connected; while sync start holds the migration lock the copy is alive.
    if (st.copy && st.copy->state == "interrupted" && state::MigrationLock::holder(target)) {
      const CopyStatus& c = *st.copy;
      st.copy->state = c.units_total == 0              ? "preparing"
                       : c.units_done < c.units_total ? "copying"
                       : c.deferred_open              ? "building indexes"
                                                      : "done";
    }
  }

  st.slot = stats::slot_progress(*publisher, plan.subscription);
  st.source_lsn = stats::current_wal_lsn(*publisher);
  if (st.slot.confirmed_flush) {
    st.lag_bytes = std::max<int64_t>(0, st.source_lsn->bytes_after(*st.slot.confirmed_flush));
    if (*st.lag_bytes == 0) st.lag_seconds = 0.0;
    else st.lag_seconds = sub.last_report_age;
  }
  int64_t keep_mb = src.server.setting_int("max_slot_wal_keep_size", -1);
  st.max_slot_wal_keep_size = keep_mb < 0 ? -1 : keep_mb * 1024 * 1024;
  st.drift = find_drift(drift_source, drift_target, published, accepted);
  st.fenced_tables = fence::fenced_tables(*subscriber).size();
  st.ddl = read_ddl_status(*publisher, *subscriber);
  record_error_baseline(journal, st);
  std::vector<Warning> warnings = status_warnings(st, previous);
  st.warnings.insert(st.warnings.end(), warnings.begin(), warnings.end());
  return st;
}

}  // namespace pgshift::replication
