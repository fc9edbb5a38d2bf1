// The logical room: the mechanics of native logical replication that sync and cutover share.
// Pure planning (which tables a publication covers, which replica identities must change on
// either side, drift since a plan was made) and the statements that create, alter and drop
// publications, subscriptions, slots and replica identities.
//
// "source" and "target" below mean the publishing and the subscribing side of one replication
// direction: for sync that is the migration's source and target; for cutover's reverse
// replication it is the other way round.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "catalog/catalog.hpp"
#include "pg/connection.hpp"
#include "state/journal.hpp"
#include "util/duration.hpp"

namespace pgshift::logical {

// ---- planning (pure) ----------------------------------------------------------------------

// A replica identity pgshift sets so UPDATE and DELETE can be published (on the source) and
// applied (on the target: the subscriber finds the row by its own primary key or replica
// identity index, whose columns must be part of what the source sends), and what it was before
// (to restore it on stop).
struct IdentityChange {
  enum class Side { source, target };
  Side side = Side::source;
  catalog::TableRef table;
  catalog::ReplicaIdentity from = catalog::ReplicaIdentity::default_key;
  std::string from_index;
  catalog::ReplicaIdentity to = catalog::ReplicaIdentity::full;
  std::string to_index;
  std::string why;
  // Set for the replication back (target publishes, source subscribes): `side` names the sides
  // of that replication, so Side::source is then the migration's target.
  bool reversed = false;
  // "source" or "target" as the migration names the database the change is on.
  std::string database_role() const {
    return (side == Side::source) != reversed ? "source" : "target";
  }

  std::string describe() const;  // "source public.coupons: REPLICA IDENTITY USING INDEX coupons_code (...)"
  nlohmann::json to_json() const;
  static IdentityChange from_json(const nlohmann::json& doc);
};

// "FULL", "DEFAULT", "NOTHING", "USING INDEX name": the SQL clause.
std::string identity_clause(catalog::ReplicaIdentity identity, const std::string& index);

struct PublicationPlan {
  std::vector<catalog::TableRef> tables;          // sorted; partitioned tables by their root
  std::vector<catalog::LeftOut> left_out;         // with the reason for each
  std::vector<IdentityChange> identity_changes;   // source tables (partitions: each leaf), and
                                                  // target tables that need an identity index
  std::vector<std::string> accepted_differences;  // column differences already there at start
  std::vector<std::string> key_problems;          // tables whose UPDATE/DELETE the target could
                                                  // not apply: start refuses while any is listed
};

// What a publication needs for this pair of databases. A source table without a usable
// identity gets USING INDEX (a unique index on NOT NULL columns that the target can match) or
// FULL; REPLICA IDENTITY NOTHING becomes DEFAULT when there is a primary key. A target table
// without a primary key gets USING INDEX on a unique index within the source's key columns.
PublicationPlan plan_publication(const catalog::Snapshot& source, const catalog::Snapshot& target,
                                 const std::vector<catalog::TablePattern>& excludes);

// "+ public.x" for tables planned but not published, "− public.y" the other way. Empty: same.
std::vector<std::string> diff_tables(const std::vector<catalog::TableRef>& published,
                                     const std::vector<catalog::TableRef>& planned);

// A published table whose columns differ between the sides in a way that was not there when
// replication started (DDL is not replicated: drift is the operator's signal to apply it).
struct Drift {
  catalog::TableRef table;
  std::string column;  // empty when the whole table is gone on one side
  std::string kind;    // missing_on_target, extra_on_target, type_mismatch, generated_mismatch,
                       // table_missing_on_source, table_missing_on_target, partition_missing_on_target,
                       // partition_missing_on_source (both sides partitioned, a leaf on one only)
  std::string description;
  std::string source_fingerprint;  // catalog::fingerprint of each side ("" when absent)
  std::string target_fingerprint;
  // What to run, and where ("target" or "source"), to remove the difference; "" when pgshift
  // cannot write it (a partition's bounds: create the partition as on the other side).
  std::string statement;
  std::string run_on;
};

// Enum labels on one side only (kinds enum_labels_missing_on_target / _on_source; `table` names
// the type), each with the ALTER TYPE ... ADD VALUE to run on the other side. Pure.
std::vector<Drift> enum_drift(const catalog::Snapshot& source, const catalog::Snapshot& target);

std::vector<Drift> find_drift(const catalog::Snapshot& source, const catalog::Snapshot& target,
                              const std::vector<catalog::TableRef>& published,
                              const std::vector<std::string>& accepted_differences);

// Whether a role may CREATE SUBSCRIPTION on its server, as PostgreSQL and the managed providers
// document it: a superuser; on PostgreSQL 16+ a member of pg_create_subscription; RDS/Aurora a
// member of rds_superuser; Cloud SQL a member of cloudsqlsuperuser with REPLICATION; Azure a
// member of azure_pg_admin with REPLICATION. Supabase gives no role that can. One rule for
// `check`, `sync start` and cutover's preconditions. `advice` says which role on this provider
// can (and how to hand it to cutover: --source-subscriber), or that none can.
struct SubscribeCapability {
  bool can = false;
  std::string provider;  // "rds", "cloudsql", "azure", "supabase" or "postgres"
  std::string how;       // when it can: "superuser", "member of rds_superuser", ...
  std::string advice;    // when it cannot: what to do, naming this provider's role
};
// provider: read_provider() of that server.
SubscribeCapability subscribe_capability(const catalog::ServerInfo& server, const std::string& provider);
// The provider a server's roles reveal, whether or not the connected role is a member of them:
// supabase_admin -> "supabase", rds_superuser -> "rds", cloudsqlsuperuser -> "cloudsql",
// azure_pg_admin -> "azure", none -> "postgres".
std::string read_provider(pg::Connection& conn);

// ---- statements ---------------------------------------------------------------------------

// Runs one DDL statement in its own transaction with a lock timeout, so it never queues behind a
// long transaction on a busy table (and blocks everyone queued behind it).
void exec_ddl(pg::Connection& conn, const std::string& sql);

// Refuses (ProblemsFound) when the source cannot take one more logical slot and WAL sender, or
// wal_level is not logical. Reads the live server, not a snapshot: this runs right before
// anything is created.
void check_publisher_capacity(pg::Connection& publisher);

void create_publication(pg::Connection& source, const std::string& name,
                        const std::vector<catalog::TableRef>& tables);
bool drop_publication(pg::Connection& source, const std::string& name);  // false when absent
// ALTER PUBLICATION ... ADD TABLE (tables joining a running replication).
void add_publication_tables(pg::Connection& publisher, const std::string& name,
                            const std::vector<catalog::TableRef>& tables);
// ALTER PUBLICATION ... SET TABLE: exactly these tables (a rollback rebuilds the forward
// publication from the tables of now). create_publication and this add pgshift.ddl_log when the
// publisher has it (schema changes followed, ddl.hpp).
void set_publication_tables(pg::Connection& publisher, const std::string& name,
                            const std::vector<catalog::TableRef>& tables);
// ALTER SUBSCRIPTION ... REFRESH PUBLICATION WITH (copy_data = true): tables new to the
// publication are copied (only they), then streamed.
void refresh_subscription(pg::Connection& subscriber, const std::string& name);
bool publication_exists(pg::Connection& source, const std::string& name);

// What CREATE SUBSCRIPTION is given. The slot has the subscription's name.
struct SubscriptionSpec {
  std::string name;
  pg::ConnInfo publisher;    // as the subscriber's server reaches the publisher (password included)
  std::string publication;
  bool copy_data = true;     // false: start from the slot's creation, copy nothing
  bool enabled = true;
  bool create_slot = true;   // false: the slot (named like the subscription) is made later by
                             // create_logical_slot, before the subscription is enabled
};

// Creates a pgoutput logical slot on the publisher (what CREATE SUBSCRIPTION would create):
// replication through it starts at this moment. Waits for transactions running there to end.
void create_logical_slot(pg::Connection& publisher, const std::string& name);
// Drops a slot by name on the publisher once inactive (at most timeout). Only for a slot the
// caller has proof it created.
void drop_slot(pg::Connection& publisher, const std::string& name, util::Millis timeout = util::Millis(15'000));
// Detaches the subscription from its slot (slot_name = NONE) and drops it: for a subscription
// whose slot is handled on its own (create_slot = false). Disables it first.
void drop_detached_subscription(pg::Connection& subscriber, const std::string& name);

// CREATE SUBSCRIPTION with the publisher's full connection string (password included). The
// statement text is never logged, and the session keeps the server from logging it.
void create_subscription(pg::Connection& subscriber, const SubscriptionSpec& spec);

// ALTER SUBSCRIPTION ... ENABLE / DISABLE. Disabling waits (up to timeout) until the apply
// worker has exited, so nothing is applied after it returns.
void set_subscription_enabled(pg::Connection& subscriber, const std::string& name, bool enabled,
                              util::Millis timeout = util::Millis(15'000));

struct DroppedSubscription {
  bool dropped = false;
  std::optional<uint32_t> oid;     // of the subscription, when there was one
  std::vector<std::string> slots;  // slots removed on the source (by the server or by us)
};
// Drops the subscription and its slots (the main slot and table-sync slots), also when the
// target cannot reach the source any more.
DroppedSubscription drop_subscription(pg::Connection& source, pg::Connection& target, const std::string& name);

// Slots on the source that belong to subscription `name` (its slot and pg_<oid>_sync_* ones) in
// the connection's database: a slot of that name in another database is never touched.
std::vector<std::string> subscription_slots(pg::Connection& source, const std::string& name,
                                            std::optional<uint32_t> subscription_oid);
bool slot_exists(pg::Connection& source, const std::string& name);
// The database a slot of that name belongs to (slots are server-wide); nullopt when none.
std::optional<std::string> slot_database(pg::Connection& server, const std::string& name);

// Sets each identity on its side, recording a compensation (journal step `step`) before each
// change. source/target are the publishing and subscribing side of this replication.
void apply_identity_changes(pg::Connection& source, pg::Connection& target, state::Journal& journal,
                            int64_t migration_id, const std::vector<IdentityChange>& changes,
                            std::string_view step);
// Restores every identity change recorded under `step` and not yet settled; settles each.
std::vector<IdentityChange> restore_identities(pg::Connection& source, pg::Connection& target,
                                               state::Journal& journal, int64_t migration_id,
                                               std::string_view step);

}  // namespace pgshift::logical
