// Server-level hazards: settings, capacity, roles, versions.
#include <fmt/format.h>

#include <algorithm>

#include "logical/logical.hpp"
#include "preflight/rules.hpp"

namespace pgshift::preflight {
namespace {

bool slot_exists(const catalog::Snapshot& snap, const std::string& name) {
  return std::any_of(snap.slots.begin(), snap.slots.end(), [&](const auto& s) { return s.name == name; });
}

// A capacity check: `free` units of `setting` remain; the migration needs `needed`, and
// `wanted` for a full-speed initial copy.
void capacity(std::vector<Hazard>& out, const std::string& side, const std::string& setting, int64_t total,
              int64_t free, int64_t needed, int64_t wanted, const std::string& what, const std::string& fix) {
  if (free < needed) {
    out.push_back({Severity::error, "too-few-" + setting, side,
                   fmt::format("{} {} in use of {} = {}: logical replication needs {} more {}", total - free,
                               setting, setting, total, needed - free, what),
                   {side + "." + setting}, fix});
  } else if (free < wanted) {
    out.push_back({Severity::warning, "few-" + setting, side,
                   fmt::format("{} = {} leaves {} free; the initial copy runs up to {} in parallel and "
                               "will be slower",
                               setting, total, free, wanted),
                   {side + "." + setting}, fix});
  }
}

// Cutover creates the subscription back on the source: as the sync role, or as the separate
// role given with --source-subscriber (which must reach the same server and database).
void check_subscription_back(const Inputs& in, std::vector<Hazard>& out) {
  const auto& src = in.source.server;
  const catalog::ServerInfo& role = in.source_subscriber.value_or(src);
  if (in.source_subscriber && (role.instance != src.instance || role.database != src.database)) {
    out.push_back({Severity::error, "source-subscriber-elsewhere", "source",
                   fmt::format("--source-subscriber reaches database {} of another server than --source (database {})",
                               role.database, src.database),
                   {"role " + role.current_user}, "give --source-subscriber the host, port and database of --source"});
    return;
  }
  logical::SubscribeCapability cap = logical::subscribe_capability(role, in.source_provider);
  if (!cap.can) {
    out.push_back({Severity::warning, "source-role-subscription", "source",
                   fmt::format("role '{}'{} cannot create a subscription on the source ({}): cutover keeps the "
                               "rollback window with pgshift's own apply instead of a subscription (pgshift sync "
                               "apply-back, started by cutover; --replicate-back auto), which fires the source's user "
                               "triggers again unless they are disabled for the window",
                               role.current_user, in.source_subscriber ? " (--source-subscriber)" : "",
                               cap.provider == "postgres" ? "PostgreSQL " + src.short_version() : cap.provider),
                   {"role " + role.current_user},
                   "nothing to do for pgshift's apply; for the native subscription instead: " + cap.advice});
  } else if (in.source_subscriber) {
    out.push_back({Severity::info, "source-subscriber", "source",
                   fmt::format("role '{}' (--source-subscriber) can create the subscription back ({})",
                               role.current_user, cap.how),
                   {"role " + role.current_user}, "pass the same --source-subscriber to cutover"});
  }
}

}  // namespace

void check_servers(const Inputs& in, const Options& options, std::vector<Hazard>& out) {
  const auto& src = in.source.server;
  const auto& tgt = in.target.server;
  const int64_t sync_workers = tgt.setting_int("max_sync_workers_per_subscription", 2);

  // ---- one server: a mistyped target, or both variables set to the same URL
  if (!src.instance.empty() && src.instance == tgt.instance) {
    if (src.database == tgt.database) {
      out.push_back({Severity::error, "same-database", "both",
                     fmt::format("the source and the target are the same database ({} on one server): the "
                                 "\"target\" tables below are the source's own, truncate nothing",
                                 src.database),
                     {"database " + src.database}, "point --target (or PGSHIFT_TARGET_URL) at the new server"});
    } else {
      out.push_back({Severity::error, "same-server", "both",
                     fmt::format("the source ({}) and the target ({}) are databases of one server: CREATE "
                                 "SUBSCRIPTION cannot create its slot on the server it runs on and would hang",
                                 src.database, tgt.database),
                     {"database " + src.database, "database " + tgt.database},
                     "migrate to a separate server; to copy a database within one server use "
                     "CREATE DATABASE ... TEMPLATE or pg_dump | psql"});
    }
  }

  // ---- versions
  out.push_back({Severity::info, "versions", "both",
                 fmt::format("source runs PostgreSQL {}, target PostgreSQL {}", src.short_version(),
                             tgt.short_version()),
                 {}, ""});
  if (src.major() < 10) {
    out.push_back({Severity::error, "source-version", "source",
                   fmt::format("the source runs PostgreSQL {}, which has no logical replication",
                               src.short_version()),
                   {}, "upgrade the source to PostgreSQL 10 or later (13+ is what pgshift supports)"});
  }
  if (tgt.major() < src.major()) {
    out.push_back({Severity::warning, "target-older", "both",
                   fmt::format("the target (PostgreSQL {}) is older than the source ({}): newer types and "
                               "syntax may not replicate",
                               tgt.major(), src.major()),
                   {}, "run the same or a newer major version on the target"});
  }
  if (src.in_recovery && src.major() < 16) {
    out.push_back({Severity::error, "source-standby", "source",
                   "the source is a standby; logical replication from a standby needs PostgreSQL 16",
                   {}, "point --source at the primary"});
  }
  if (tgt.in_recovery) {
    out.push_back({Severity::error, "target-standby", "target",
                   "the target is a standby (in recovery): it is read-only, so nothing can be created or "
                   "replicated into it",
                   {}, "point --target at the new primary (CloudNativePG: the -rw service)"});
  }
  if (src.setting("server_encoding") != tgt.setting("server_encoding")) {
    out.push_back({Severity::warning, "encoding-differs", "both",
                   fmt::format("server encodings differ: source {}, target {}", src.setting("server_encoding"),
                               tgt.setting("server_encoding")),
                   {}, "create the target database with the source's encoding (createdb -E ...)"});
  }

  // ---- source: WAL, slots, senders, role
  if (src.setting("wal_level") != "logical") {
    out.push_back({Severity::error, "wal-level", "source",
                   fmt::format("wal_level is '{}' on the source; logical replication needs 'logical'",
                               src.setting("wal_level")),
                   {"source.wal_level"},
                   "ALTER SYSTEM SET wal_level = logical and restart the source (RDS/Aurora: set "
                   "rds.logical_replication = 1 in the parameter group and reboot)"});
  }
  const int64_t src_slots = src.setting_int("max_replication_slots");
  const int64_t need_slot = slot_exists(in.source, options.subscription) ? 0 : 1;
  capacity(out, "source", "max_replication_slots", src_slots, src_slots - src.replication_slots_in_use,
           need_slot, need_slot + sync_workers, "replication slot(s)",
           "raise max_replication_slots on the source (restart needed) or drop unused slots");
  const int64_t src_senders = src.setting_int("max_wal_senders");
  capacity(out, "source", "max_wal_senders", src_senders, src_senders - src.walsenders_in_use, 1,
           1 + sync_workers, "WAL sender(s)", "raise max_wal_senders on the source (restart needed)");

  if (!src.replication_role) {
    out.push_back({Severity::error, "source-role-replication", "source",
                   fmt::format("role '{}' has no REPLICATION attribute; the subscription connects as it",
                               src.current_user),
                   {"role " + src.current_user},
                   fmt::format("ALTER ROLE {} REPLICATION (RDS: GRANT rds_replication TO {})", src.current_user,
                               src.current_user)});
  }
  if (!src.superuser && !src.can_create_in_database) {
    out.push_back({Severity::error, "source-role-publication", "source",
                   fmt::format("role '{}' cannot create a publication: no CREATE privilege on database {}",
                               src.current_user, src.database),
                   {"database " + src.database},
                   fmt::format("GRANT CREATE ON DATABASE {} TO {}", src.database, src.current_user)});
  }
  if (!src.superuser) {
    std::vector<std::string> not_owned, not_readable;
    for (const auto& ref : in.selection.replicated) {
      const catalog::Table* t = in.source.table(ref);
      if (!t) continue;
      if (!t->owned_by_current_user) not_owned.push_back(ref.display());
      if (!t->selectable) not_readable.push_back(ref.display());
    }
    if (!not_owned.empty()) {
      out.push_back({Severity::error, "source-role-not-owner", "source",
                     fmt::format("role '{}' does not own {} table(s) it must publish and give a replica "
                                 "identity",
                                 src.current_user, not_owned.size()),
                     cap_list(not_owned), "connect as the tables' owner, or ALTER TABLE ... OWNER TO it"});
    }
    if (!not_readable.empty()) {
      out.push_back({Severity::error, "source-role-no-select", "source",
                     fmt::format("role '{}' cannot SELECT {} table(s); the initial copy reads them",
                                 src.current_user, not_readable.size()),
                     cap_list(not_readable), fmt::format("GRANT SELECT ON ... TO {}", src.current_user)});
    }
  }

  // ---- target: subscription, workers, reverse replication
  if (!logical::subscribe_capability(tgt, "postgres").can) {
    out.push_back({Severity::error, "target-role-subscription", "target",
                   fmt::format("role '{}' cannot create a subscription on the target (needs superuser{})",
                               tgt.current_user, tgt.major() >= 16 ? " or pg_create_subscription" : ""),
                   {"role " + tgt.current_user},
                   "connect to the target as a superuser (CloudNativePG: the postgres user via the "
                   "-superuser secret)"});
  }
  check_subscription_back(in, out);
  const int64_t apply_workers = tgt.setting_int("max_logical_replication_workers");
  if (apply_workers < 1) {
    out.push_back({Severity::error, "too-few-max_logical_replication_workers", "target",
                   "max_logical_replication_workers = 0 on the target: no subscription can run",
                   {"target.max_logical_replication_workers"},
                   "set max_logical_replication_workers to at least 4 on the target and restart"});
  } else if (apply_workers < 1 + sync_workers) {
    out.push_back({Severity::warning, "few-max_logical_replication_workers", "target",
                   fmt::format("max_logical_replication_workers = {} leaves fewer than {} workers for the "
                               "apply worker and the initial table copies",
                               apply_workers, 1 + sync_workers),
                   {"target.max_logical_replication_workers"},
                   "raise max_logical_replication_workers on the target (restart needed)"});
  }
  if (tgt.setting_int("max_worker_processes") <= apply_workers) {
    out.push_back({Severity::warning, "few-max_worker_processes", "target",
                   fmt::format("max_worker_processes = {} does not exceed max_logical_replication_workers "
                               "= {}; replication workers compete with other background workers",
                               tgt.setting_int("max_worker_processes"), apply_workers),
                   {"target.max_worker_processes"}, "raise max_worker_processes on the target (restart needed)"});
  }
  if (tgt.setting_int("max_replication_slots") < 1) {
    out.push_back({Severity::error, "too-few-max_replication_slots", "target",
                   "max_replication_slots = 0 on the target: a subscriber needs it to track its origin",
                   {"target.max_replication_slots"}, "set max_replication_slots to at least 4 on the target"});
  }
  if (tgt.setting("wal_level") != "logical") {
    out.push_back({Severity::warning, "target-wal-level", "target",
                   fmt::format("wal_level is '{}' on the target: reverse replication (the rollback window "
                               "after cutover) will not be possible",
                               tgt.setting("wal_level")),
                   {"target.wal_level"},
                   "ALTER SYSTEM SET wal_level = logical on the target and restart before cutover"});
  }
}

}  // namespace pgshift::preflight
