// Undoing an attempt (abort, or --resume after a crash) and cleaning up after a switch.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "catalog/catalog.hpp"
#include "cutover/apply_back_process.hpp"
#include "cutover/switchover.hpp"
#include "fence/fence.hpp"
#include "logical/apply.hpp"
#include "logical/logical.hpp"
#include "pg/quote.hpp"
#include "stats/subscription_progress.hpp"
#include "util/error.hpp"

namespace pgshift::cutover::detail {
namespace {

std::vector<catalog::TableRef> tables_from(const nlohmann::json& doc) {
  std::vector<catalog::TableRef> out;
  for (const auto& t : doc.value("tables", nlohmann::json::array())) out.push_back({t.at(0), t.at(1)});
  return out;
}

// The attempt's record that it created the object a compensation is about (written right after
// the CREATE succeeded): nullopt when the CREATE failed or never ran, e.g. because an object of
// that name already existed — which then is not ours to drop.
std::optional<nlohmann::json> created_by_attempt(state::Journal& journal, int64_t migration_id, const state::Event& c,
                                                 const std::string& name) {
  for (const auto& e : journal.events(migration_id)) {
    if (e.id > c.id && e.step == c.step && e.status == state::EventStatus::info &&
        e.detail.value("created", std::string()) == name) {
      return e.detail;
    }
  }
  return std::nullopt;
}

// Undoes one compensation; returns what it did.
std::string undo_one(Sides& sides, const Direction& d, const state::Event& c, std::optional<PoolerAdmin>& pooler,
                     state::Journal& journal, int64_t migration_id) {
  std::string kind = c.step.substr(d.action.size() + 1);
  const nlohmann::json& j = c.detail;
  if (kind == kSyncCommit) {
    std::string sub = j.at("subscription");
    sides.subscriptions_on_replica().exec(fmt::format("ALTER SUBSCRIPTION {} SET (synchronous_commit = {})",
                                                      pg::quote_ident(sub),
                                                      pg::quote_literal(j.at("previous").get<std::string>())));
    return fmt::format("subscription {}: synchronous_commit back to {}", sub, j.at("previous").get<std::string>());
  }
  if (kind == kPoolerPaused) {
    if (!pooler) return "pooler: no admin connection to resume (resume it by hand)";
    pooler->resume(j.at("database"));
    return fmt::format("pooler database {} resumed", j.at("database").get<std::string>());
  }
  if (kind == kWriterFence) {
    size_t n = fence::lift(sides.writer);
    return fmt::format("{}: fence lifted from {} table(s)", d.writer_role, n);
  }
  if (kind == kOldSubscriptionDisabled) {
    logical::set_subscription_enabled(sides.subscriptions_on_replica(), j.at("subscription"), true);
    return fmt::format("subscription {} enabled again", j.at("subscription").get<std::string>());
  }
  if (kind == kApplyBackStopped) {
    // Rollback only: the source is the replica, the target the writer.
    ApplyBackProcess was = ApplyBackProcess::from_json(j);
    std::string host = j.value("host", std::string());
    std::string here = state::who_am_i();
    if (!host.empty() && here.substr(here.rfind('@') + 1) != host) {
      // It ran on another machine (a Deployment): that is where it starts again, not here.
      return fmt::format("pgshift sync apply-back ran on {}: start it again there (its Deployment restarts it), or "
                         "here with pgshift sync apply-back --detach",
                         host);
    }
    ApplyBackProcess now = start_apply_back(d.replica, d.writer, was.slot, was.publication, was.log, was.allow_triggers);
    journal.record(migration_id, kApplyBackStep, state::EventStatus::finished, now.to_json());
    return fmt::format("pgshift sync apply-back started again (pid {})", now.pid);
  }
  if (kind == kNewPublication) {
    std::string name = j.at("publication");
    if (!created_by_attempt(journal, migration_id, c, name)) {
      return fmt::format("{}: publication {} was not created by this attempt, left as is", d.replica_role, name);
    }
    logical::drop_publication(sides.replica, name);
    return fmt::format("{}: publication {} dropped", d.replica_role, name);
  }
  if (kind == kNewSubscription) {
    std::string name = j.at("subscription");
    std::optional<nlohmann::json> made = created_by_attempt(journal, migration_id, c, name);
    stats::SubscriptionProgress now = stats::subscription_progress(sides.writer, name);
    if (!made || !now.exists || nlohmann::json(now.oid) != made->value("oid", nlohmann::json())) {
      // Never drop by name: a subscription or slot of that name this attempt did not create
      // belongs to someone else (another migration's rollback window, say).
      return fmt::format("{}: subscription {} was not created by this attempt, left as is", d.writer_role, name);
    }
    // Its slot, if the attempt got that far, is a compensation of its own (undone before this).
    logical::drop_detached_subscription(sides.subscriptions_on_writer(), name);
    return fmt::format("{}: subscription {} dropped", d.writer_role, name);
  }
  if (kind == kNewSubscriptionEnabled) {
    std::string name = j.at("subscription");
    if (stats::subscription_progress(sides.writer, name).exists) {
      logical::set_subscription_enabled(sides.subscriptions_on_writer(), name, false);
    }
    return fmt::format("{}: subscription {} disabled", d.writer_role, name);
  }
  if (kind == kNewSlot) {
    std::string name = j.at("slot");
    if (!created_by_attempt(journal, migration_id, c, name)) {
      return fmt::format("{}: replication slot {} was not created by this attempt, left as is", d.replica_role, name);
    }
    logical::drop_slot(sides.replica, name);
    return fmt::format("{}: replication slot {} dropped", d.replica_role, name);
  }
  if (kind == kReplicaFenceLifted) {
    fence::fence(sides.replica, tables_from(j), j.at("reason"));
    return fmt::format("{}: fenced again", d.replica_role);
  }
  if (kind == kPoolerConfig) {
    std::string path = j.at("path"), backup = j.at("backup");
    if (std::filesystem::exists(backup)) {
      write_config_file(path, read_config_file(backup));
      if (pooler) pooler->reload();
      std::filesystem::remove(backup);
    }
    return fmt::format("pooler config {} restored", path);
  }
  return "unknown compensation " + c.step + " left as is";
}

}  // namespace

std::vector<std::string> undo_attempt(Sides& sides, const Direction& d, state::Journal& journal, int64_t migration_id,
                                      std::optional<PoolerAdmin>& pooler) {
  std::vector<std::string> done;
  const std::string prefix = d.action + ":";
  // Identity changes are undone together after the rest (they were made before the publication
  // and subscription that needed them); restore_identities settles them itself.
  bool identities = false;
  for (const auto& c : journal.open_compensations(migration_id)) {
    if (c.step.rfind(prefix, 0) != 0) continue;
    if (c.step == d.step(kReverseIdentity)) {
      identities = true;
      continue;
    }
    try {
      std::string what = undo_one(sides, d, c, pooler, journal, migration_id);
      journal.settle(migration_id, c, {{"undone", what}});
      spdlog::info("undo: {}", what);
      done.push_back(what);
    } catch (const std::exception& e) {
      // Keep going: the remaining undos matter more (the fence and the pause above all).
      spdlog::error("undo {} failed: {}", c.step, e.what());
      done.push_back(fmt::format("FAILED to undo {}: {}", c.step, e.what()));
    }
  }
  if (identities) {
    // Identities were set on the replica (publisher of the replication back) and the writer.
    auto restored = logical::restore_identities(sides.replica, sides.writer, journal, migration_id,
                                                d.step(kReverseIdentity));
    done.push_back(fmt::format("{} replica identit{} restored", restored.size(), restored.size() == 1 ? "y" : "ies"));
  }
  return done;
}

std::vector<std::string> clean_up_after_switch(Sides& sides, const Direction& d, state::Journal& journal,
                                               int64_t migration_id) {
  std::vector<std::string> done;
  // An apply that took the slot again since it was stopped (a Deployment restarting it) would
  // keep it from being dropped; the fenced target gives it nothing to apply.
  if (d.action == "rollback" && d.old_by_apply && stop_apply_back(sides.writer, d.old_subscription)) {
    done.push_back(fmt::format("{}: an apply that streamed slot {} again was stopped", d.writer_role, d.old_subscription));
  }
  logical::DroppedSubscription dropped =
      logical::drop_subscription(sides.writer, sides.subscriptions_on_replica(), d.old_subscription);
  if (dropped.dropped) {
    done.push_back(fmt::format("{}: subscription {} dropped ({} slot(s) on the {})", d.replica_role,
                               d.old_subscription, dropped.slots.size(), d.writer_role));
  }
  if (d.action == "rollback") {
    // The replication back is over: its publication and the identities set for it go.
    if (!dropped.dropped && !dropped.slots.empty()) {
      done.push_back(fmt::format("{}: slot {} of pgshift's apply dropped", d.writer_role, d.old_subscription));
    }
    // What pgshift's apply stored for that slot on the source (nothing when it was not used).
    if (logical::forget_apply_progress(sides.replica, d.old_subscription)) {
      done.push_back(fmt::format("{}: pgshift.apply_progress removed", d.replica_role));
    }
    fence::revoke_passes(sides.replica);
    if (logical::drop_publication(sides.writer, d.old_publication)) {
      done.push_back(fmt::format("{}: publication {} dropped", d.writer_role, d.old_publication));
    }
    auto restored = logical::restore_identities(sides.writer, sides.replica, journal, migration_id,
                                                "cutover:" + std::string(kReverseIdentity));  // set by the cutover
    if (!restored.empty()) done.push_back(fmt::format("{} replica identities set for the replication back restored",
                                                      restored.size()));
  }
  // The attempt's compensations describe the state now: settled, except identities the
  // replication back still needs (restored by rollback or finalize).
  for (const auto& c : journal.open_compensations(migration_id)) {
    if (c.step.rfind(d.action + ":", 0) != 0 || c.step == d.step(kReverseIdentity)) continue;
    if (c.step == d.step(kPoolerConfig)) {
      std::error_code ec;
      std::filesystem::remove(c.detail.value("backup", ""), ec);
    }
    journal.settle(migration_id, c, {{"kept", "the switch succeeded"}});
  }
  return done;
}

void record_source_subscriber(state::Journal& journal, int64_t migration_id, const state::Plan& plan) {
  nlohmann::json detail = {{"endpoint", plan.source_subscriber ? plan.source_subscriber->redacted() : ""}};
  journal.record(migration_id, kSourceSubscriberStep, state::EventStatus::info, detail);
}

void require_source_subscriber(state::Journal& journal, int64_t migration_id, const state::Plan& plan,
                               std::string_view command) {
  if (plan.source_subscriber) return;
  std::optional<state::Event> e = journal.last_event(migration_id, kSourceSubscriberStep, state::EventStatus::info);
  std::string endpoint = e ? e->detail.value("endpoint", "") : "";
  if (endpoint.empty()) return;
  throw UsageError(fmt::format("migration {}: the subscription back on the source belongs to {} (cutover "
                               "--source-subscriber); pass --source-subscriber to {} too",
                               migration_id, endpoint, command));
}

bool attempt_switched(state::Journal& journal, int64_t migration_id, const std::string& action) {
  std::vector<state::Event> events = journal.events(migration_id);
  // The attempt starts at the last preconditions step of this action.
  size_t start = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].step == "preconditions" && events[i].status == state::EventStatus::started &&
        events[i].command.rfind(action, 0) == 0) {
      start = i;
    }
  }
  for (size_t i = start; i < events.size(); ++i) {
    if (events[i].step == kSwitchStep && events[i].status == state::EventStatus::finished) return true;
  }
  return false;
}

}  // namespace pgshift::cutover::detail
