// Table-level hazards: identity, target rows, unlogged tables, large objects, exclusions,
// partitions and replication objects left from earlier runs.
#include <fmt/format.h>

#include <algorithm>

#include "logical/logical.hpp"
#include "pg/lsn.hpp"
#include "preflight/rules.hpp"
#include "util/duration.hpp"

namespace pgshift::preflight {
namespace {

using catalog::ReplicaIdentity;

void check_identity(const Inputs& in, std::vector<Hazard>& out) {
  std::vector<std::string> no_key, use_index, nothing, full_without_equality;
  for (const auto& ref : in.selection.replicated) {
    const catalog::Table* t = in.source.table(ref);
    if (!t || t->kind == catalog::TableKind::partitioned) continue;  // partitions carry identity
    if (t->replica_identity == ReplicaIdentity::nothing && !t->primary_key.empty()) {
      nothing.push_back(ref.display());
    } else if (!t->has_usable_identity()) {
      if (const catalog::UniqueIndex* idx = t->identity_candidate()) {
        use_index.push_back(fmt::format("{} (unique index {})", ref.display(), idx->name));
      } else {
        no_key.push_back(ref.display());
      }
    }
    // A table that is (or will be) FULL needs equality on every column for the apply worker to
    // find the row of an UPDATE or DELETE: a type with a default btree or hash operator class
    // (its own or, as varchar, one it is binary-coercible to; catalog's has_equality).
    bool will_be_full = t->replica_identity == ReplicaIdentity::full ||
                        (!t->has_usable_identity() && !t->identity_candidate() && t->primary_key.empty());
    if (will_be_full) {
      for (const auto& c : t->columns) {
        if (!c.has_equality) full_without_equality.push_back(fmt::format("{}.{} ({})", ref.display(), c.name, c.type));
      }
    }
  }
  if (!no_key.empty()) {
    out.push_back({Severity::warning, "no-replica-identity", "source",
                   fmt::format("{} table(s) have no primary key, no usable unique index and replica identity "
                               "DEFAULT: UPDATE and DELETE on the source fail once they are published",
                               no_key.size()),
                   cap_list(no_key),
                   "pgshift sync start sets REPLICA IDENTITY FULL on them (undone by sync stop); better, add "
                   "a primary key: FULL makes each replicated UPDATE/DELETE scan the target table"});
  }
  if (!use_index.empty()) {
    out.push_back({Severity::info, "replica-identity-index", "source",
                   fmt::format("{} table(s) without a primary key have a unique NOT NULL index to serve as "
                               "replica identity",
                               use_index.size()),
                   cap_list(use_index), "pgshift sync start sets REPLICA IDENTITY USING INDEX (undone by sync stop)"});
  }
  if (!nothing.empty()) {
    out.push_back({Severity::warning, "replica-identity-nothing", "source",
                   fmt::format("{} table(s) have REPLICA IDENTITY NOTHING: UPDATE and DELETE on the source "
                               "fail once they are published",
                               nothing.size()),
                   cap_list(nothing),
                   "pgshift sync start sets REPLICA IDENTITY DEFAULT (their primary key serves; undone by sync "
                   "stop), or ALTER TABLE ... REPLICA IDENTITY DEFAULT yourself"});
  }
  if (!full_without_equality.empty()) {
    out.push_back({Severity::error, "identity-full-without-equality", "source",
                   fmt::format("{} column(s) of tables replicated with REPLICA IDENTITY FULL have a type "
                               "without equality; the target cannot apply UPDATE/DELETE to them",
                               full_without_equality.size()),
                   cap_list(full_without_equality),
                   "add a primary key (or a unique NOT NULL index) to those tables, or change those columns to "
                   "a type with an = operator class (json to jsonb, xml to text)"});
  }
}

// The target must find a replicated row by what the source sends (sync start refuses
// otherwise): the same planning sync start does, reported before it runs.
void check_target_keys(const Inputs& in, const Options& options, std::vector<Hazard>& out) {
  logical::PublicationPlan plan = logical::plan_publication(in.source, in.target, options.excludes);
  if (plan.key_problems.empty()) return;
  std::vector<std::string> tables;
  for (const auto& p : plan.key_problems) tables.push_back(p.substr(0, p.find(':')));
  out.push_back({Severity::error, "target-key-missing", "target",
                 fmt::format("{} replicated table(s) have a key on the source but none the target can find rows by: "
                             "UPDATE and DELETE could not be applied (sync start refuses): {}",
                             plan.key_problems.size(), plan.key_problems.front()),
                 cap_list(tables),
                 "add the source's primary key (or a unique NOT NULL index on its replica identity columns) on the "
                 "target: ALTER TABLE ... ADD PRIMARY KEY (...)"});
}

void check_target_rows(const Inputs& in, const Options& options, std::vector<Hazard>& out) {
  std::vector<std::string> nonempty, unknown;
  for (const auto& ref : in.selection.replicated) {
    auto it = in.target_has_rows.find(ref);
    if (it == in.target_has_rows.end()) unknown.push_back(ref.display());
    else if (it->second) nonempty.push_back(ref.display());
  }
  if (!unknown.empty()) {
    out.push_back({Severity::warning, "target-rows-unknown", "target",
                   fmt::format("the target role cannot read {} replicated table(s), so whether they already "
                               "hold rows is unknown",
                               unknown.size()),
                   cap_list(unknown), "run check as the target superuser that will own the subscription"});
  }
  // While the plan's subscription exists (sync start ran), the rows are replication's own.
  bool subscribed = std::any_of(in.target.subscriptions.begin(), in.target.subscriptions.end(),
                                [&](const catalog::Subscription& s) { return s.name == options.subscription; });
  if (!nonempty.empty() && subscribed) {
    out.push_back({Severity::info, "target-rows-replicated", "target",
                   fmt::format("{} replicated table(s) hold rows on the target, copied there by subscription "
                               "'{}' (already syncing)",
                               nonempty.size(), options.subscription),
                   cap_list(nonempty), "pgshift sync status shows the copy and the lag"});
  } else if (!nonempty.empty()) {
    out.push_back({Severity::error, "target-not-empty", "target",
                   fmt::format("{} replicated table(s) already hold rows on the target; the initial copy "
                               "would collide with them (duplicate keys) or duplicate them",
                               nonempty.size()),
                   cap_list(nonempty),
                   "truncate them on the target, or run pgshift sync start --truncate-target"});
  }
}

void check_leftovers(const Inputs& in, const Options& options, std::vector<Hazard>& out) {
  std::vector<std::string> unlogged, excluded, partitions;
  for (const auto& lo : in.selection.left_out) {
    if (lo.reason == catalog::LeftOutReason::unlogged) unlogged.push_back(lo.table.display());
    if (lo.reason == catalog::LeftOutReason::excluded) {
      excluded.push_back(fmt::format("{} (--exclude {})", lo.table.display(), lo.detail));
    }
    if (lo.reason == catalog::LeftOutReason::via_root) {
      partitions.push_back(fmt::format("{} via {}", lo.table.display(), lo.detail));
    }
  }
  if (!unlogged.empty()) {
    out.push_back({Severity::warning, "unlogged-tables", "source",
                   fmt::format("{} unlogged table(s) are not written to WAL and will not be replicated; their "
                               "rows stay on the source",
                               unlogged.size()),
                   cap_list(unlogged), "ALTER TABLE ... SET LOGGED to migrate them, or copy them separately"});
  }
  if (!excluded.empty()) {
    out.push_back({Severity::info, "excluded-tables", "source",
                   fmt::format("{} table(s) are excluded: not replicated, and rows written to them on the "
                               "source stay there; drain them before cutover (cutover --drain-query)",
                               excluded.size()),
                   cap_list(excluded), ""});
  }
  if (!partitions.empty()) {
    out.push_back({Severity::info, "partitions-via-root", "source",
                   fmt::format("{} partition(s) are replicated through their partitioned root "
                               "(publish_via_partition_root), so the target may partition differently",
                               partitions.size()),
                   cap_list(partitions), ""});
  }
  if (!in.materialized_views.empty()) {
    std::vector<std::string> views;
    for (const auto& m : in.materialized_views) {
      views.push_back(fmt::format("{} ({}{})", m.ref.display(), util::format_bytes(m.size_bytes),
                                  !m.on_target             ? ", missing on the target"
                                  : !m.populated_on_target ? ", not populated on the target"
                                                           : ""));
    }
    out.push_back({Severity::info, "materialized-views", "both",
                   fmt::format("{} materialized view(s): logical replication does not carry their contents; on the "
                               "target they stay as created (unpopulated after a schema-only copy) until refreshed",
                               in.materialized_views.size()),
                   cap_list(views),
                   "pgshift cutover --refresh-matviews refreshes them on the target after the switch (outside the "
                   "pause)"});
  }
  if (in.source.large_objects > 0) {
    out.push_back({Severity::warning, "large-objects", "source",
                   fmt::format("{} large object(s) on the source are not carried by logical replication",
                               in.source.large_objects),
                   {"pg_largeobject"},
                   "move them with pg_dump --large-objects --data-only, or store them as bytea"});
  }

  // Replication objects already there: pgshift's own (a re-run) or someone else's slots holding WAL.
  for (const auto& p : in.source.publications) {
    if (p.name == options.publication) {
      out.push_back({Severity::info, "publication-exists", "source",
                     fmt::format("publication '{}' already exists on the source (from an earlier sync start)",
                                 p.name),
                     {p.name}, "pgshift sync start reuses it when the plan matches; sync stop removes it"});
    }
  }
  for (const auto& s : in.target.subscriptions) {
    if (s.name == options.subscription) {
      out.push_back({Severity::info, "subscription-exists", "target",
                     fmt::format("subscription '{}' already exists on the target", s.name), {s.name},
                     "pgshift sync status shows its progress; sync stop removes it"});
    }
  }
  // Slots are server-wide: a slot with one of this migration's names that is not this
  // migration's (another database's, or one with no subscription of ours behind it) would make
  // sync start or cutover fail, and undoing around it must never drop it.
  std::vector<std::string> clashes;
  bool ours_syncing = std::any_of(in.target.subscriptions.begin(), in.target.subscriptions.end(),
                                  [&](const catalog::Subscription& s) { return s.name == options.subscription; });
  for (const auto& slot : in.source.slots) {
    if (slot.name == options.subscription && (slot.database != in.source.server.database || !ours_syncing)) {
      clashes.push_back(fmt::format("source slot {} (database {})", slot.name, slot.database.empty() ? "none" : slot.database));
    }
  }
  const std::string reverse = options.subscription + "_reverse";
  bool ours_back = std::any_of(in.source.subscriptions.begin(), in.source.subscriptions.end(),
                               [&](const catalog::Subscription& s) { return s.name == reverse; });
  for (const auto& slot : in.target.slots) {
    if (slot.name == reverse && (slot.database != in.target.server.database || !ours_back)) {
      clashes.push_back(fmt::format("target slot {} (database {})", slot.name, slot.database.empty() ? "none" : slot.database));
    }
  }
  if (!clashes.empty()) {
    out.push_back({Severity::error, "slot-name-clash", "both",
                   fmt::format("{} replication slot(s) on these servers already have a name this migration needs "
                               "(slot names are server-wide: another migration's or consumer's)",
                               clashes.size()),
                   clashes,
                   "choose other names (subscription: in the plan); the default names are unique to each "
                   "migration"});
  }
  std::vector<std::string> idle_slots, lost_slots;
  for (const auto& slot : in.source.slots) {
    if (slot.name == options.subscription) continue;
    if (slot.wal_status == "lost") {
      lost_slots.push_back(slot.name);
    } else if (!slot.active && slot.retained_bytes) {
      idle_slots.push_back(fmt::format("{} ({} of WAL retained)", slot.name, util::format_bytes(*slot.retained_bytes)));
    }
  }
  if (!idle_slots.empty()) {
    out.push_back({Severity::warning, "inactive-slots", "source",
                   fmt::format("{} inactive replication slot(s) on the source retain WAL and use slot capacity",
                               idle_slots.size()),
                   cap_list(idle_slots), "SELECT pg_drop_replication_slot('...') for slots nobody uses"});
  }
  if (!lost_slots.empty()) {
    out.push_back({Severity::warning, "lost-slots", "source",
                   fmt::format("{} replication slot(s) on the source are invalidated (wal_status lost)",
                               lost_slots.size()),
                   lost_slots, "drop them; their consumers must resynchronize"});
  }
}

// An extension's configuration table (pg_partman's part_config, pg_cron's job) is left out with
// the extension's other tables, but its rows are the user's settings: without them the target's
// extension does nothing (no partition made, no job run).
void check_extension_config(const Inputs& in, std::vector<Hazard>& out) {
  std::vector<std::string> tables;
  for (const auto& t : in.source.tables) {
    if (!t.extension_config || t.row_estimate == 0) continue;
    tables.push_back(t.row_estimate > 0 ? fmt::format("{} (~{} rows)", t.ref.display(), t.row_estimate)
                                        : t.ref.display());
  }
  if (tables.empty()) return;
  out.push_back({Severity::warning, "extension-config-rows", "source",
                 fmt::format("{} extension configuration table(s) may hold the application's settings for the "
                             "extension; they belong to the extension and are not replicated",
                             tables.size()),
                 cap_list(tables),
                 "copy their rows to the target just before cutover (pg_dump --data-only --table=NAME on the "
                 "source | psql on the target), after stopping the extension's maintenance there"});
}

}  // namespace

void check_tables(const Inputs& in, const Options& options, std::vector<Hazard>& out) {
  check_identity(in, out);
  check_target_keys(in, options, out);
  check_target_rows(in, options, out);
  check_leftovers(in, options, out);
  check_extension_config(in, out);
}

}  // namespace pgshift::preflight
