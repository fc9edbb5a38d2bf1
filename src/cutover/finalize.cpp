// Ending a migration after the rollback window.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

#include "cutover/apply_back_process.hpp"
#include "cutover/cutover.hpp"
#include "cutover/switchover.hpp"
#include "ddl/ddl.hpp"
#include "fence/fence.hpp"
#include "logical/apply.hpp"
#include "logical/logical.hpp"
#include "state/journal.hpp"
#include "state/lock.hpp"
#include "util/error.hpp"

namespace pgshift::cutover {

FinalizeResult finalize(const state::Plan& plan) {
  auto t0 = std::chrono::steady_clock::now();
  pg::ConnectOptions o = pg::default_connect_options();
  o.application_name = "pgshift/finalize";
  o.role = "source";
  pg::Connection source = pg::Connection::open(plan.source, o);
  o.role = "target";
  pg::Connection target = pg::Connection::open(plan.target, o);
  pg::Connection journal_conn = pg::Connection::open(plan.target, o);
  // The subscription back is owned by --source-subscriber's role when cutover was given one.
  std::optional<pg::Connection> subscriber;
  if (plan.source_subscriber) {
    o.role = "source subscriber";
    subscriber.emplace(pg::Connection::open(*plan.source_subscriber, o));
  }
  state::MigrationLock lock = state::MigrationLock::acquire(journal_conn);
  state::Journal journal(journal_conn, "finalize");
  std::optional<state::Migration> m = journal.current();
  if (!m || m->phase != state::Phase::cut_over) {
    throw UsageError(fmt::format("finalize needs a migration that is cut_over; migration {} is {}",
                                 m ? std::to_string(m->id) : "(none)", m ? state::to_string(m->phase) : "not started"));
  }
  detail::require_source_subscriber(journal, m->id, plan, "finalize");
  FinalizeResult r;
  r.migration_id = m->id;
  journal.run_step(m->id, "finalize", [&] {
    // pgshift's apply of the replication back, when cutover started one: stopped before its slot goes.
    // By its slot on the target, wherever it runs (a Deployment on another machine too).
    if (std::optional<ApplyBackProcess> apply = recorded_apply_back(journal, m->id)) {
      if (stop_apply_back(target, apply->slot, &*apply)) {
        r.removed.push_back(fmt::format("pgshift sync apply-back streaming slot {} stopped (recorded pid {}{})",
                                        apply->slot, apply->pid, apply->host.empty() ? "" : " on " + apply->host));
      }
    }
    // Replication back: subscription on the source (or pgshift's apply), its slot and publication
    // on the target.
    auto dropped = logical::drop_subscription(target, subscriber ? *subscriber : source, plan.reverse_subscription());
    if (dropped.dropped) {
      r.removed.push_back(fmt::format("source: subscription {} dropped ({} slot(s) on the target)",
                                      plan.reverse_subscription(), dropped.slots.size()));
    }
    if (!dropped.dropped && !dropped.slots.empty()) {
      r.removed.push_back("target: slot " + plan.reverse_subscription() + " of pgshift's apply dropped");
    }
    if (logical::forget_apply_progress(source, plan.reverse_subscription())) {
      r.removed.push_back("source: pgshift.apply_progress removed");
    }
    fence::revoke_passes(source);  // the source stays fenced, for everyone
    if (logical::drop_publication(target, plan.reverse_publication())) {
      r.removed.push_back("target: publication " + plan.reverse_publication() + " dropped");
    }
    // The forward publication and anything left of forward replication.
    auto forward = logical::drop_subscription(source, target, plan.subscription);
    if (forward.dropped || !forward.slots.empty()) {
      r.removed.push_back(fmt::format("forward subscription {} and {} slot(s) dropped", plan.subscription,
                                      forward.slots.size()));
    }
    if (logical::drop_publication(source, plan.publication)) {
      r.removed.push_back("source: publication " + plan.publication + " dropped");
    }
    // Replica identities pgshift set, in both directions.
    auto back = logical::restore_identities(target, source, journal, m->id,
                                             "cutover:" + std::string(detail::kReverseIdentity));
    auto forth = logical::restore_identities(source, target, journal, m->id, state::kReplicaIdentityStep);
    if (!back.empty() || !forth.empty()) {
      r.removed.push_back(fmt::format("{} replica identities restored", back.size() + forth.size()));
    }
    if (size_t n = fence::lift(target)) r.removed.push_back(fmt::format("target: fence lifted from {} tables", n));
    // Schema changes are no longer followed anywhere: the capture and the log go on both sides.
    for (pg::Connection* conn : {&target, &source}) {
      if (!ddl::installed(*conn)) continue;
      ddl::uninstall(*conn);
      r.removed.push_back(fmt::format("{}: schema change capture and log removed", conn == &target ? "target" : "source"));
    }
    r.source_fenced_tables = fence::fenced_tables(source).size();
    return nlohmann::json{{"removed", r.removed}, {"source_fenced_tables", r.source_fenced_tables}};
  });
  journal.set_phase(m->id, state::Phase::finalized);
  r.took_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace pgshift::cutover
