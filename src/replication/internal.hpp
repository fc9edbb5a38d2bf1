// Internal to the replication room: the statements that create and drop replication objects,
// replica identities, and the pieces start/stop/status share. Not for other rooms.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalog.hpp"
#include "pg/connection.hpp"
#include "replication/replication.hpp"
#include "state/journal.hpp"
#include "state/plan.hpp"

namespace pgshift::replication::detail {

// Journal steps (pgshift.event.step) written by the sync commands.
inline constexpr std::string_view kStepStart = "start";
inline constexpr std::string_view kStepIdentity = "replica-identity";
inline constexpr std::string_view kStepPublication = "publication";
inline constexpr std::string_view kStepTruncate = "truncate-target";
inline constexpr std::string_view kStepFence = "fence";
inline constexpr std::string_view kStepSubscription = "subscription";
inline constexpr std::string_view kStepSoak = "soak";
inline constexpr std::string_view kStepStop = "stop";

// Runs one DDL statement in its own transaction with a lock timeout, so it never queues behind a
// long transaction on a busy table (and blocks everyone queued behind it).
void exec_ddl(pg::Connection& conn, const std::string& sql);

// Refuses (ProblemsFound) when the source cannot take one more logical slot and WAL sender, or
// wal_level is not logical. Reads the live server, not a snapshot: this runs right before
// anything is created.
void check_source_capacity(pg::Connection& source);

void create_publication(pg::Connection& source, const std::string& name,
                        const std::vector<catalog::TableRef>& tables);
bool drop_publication(pg::Connection& source, const std::string& name);  // false when absent
bool publication_exists(pg::Connection& source, const std::string& name);

// CREATE SUBSCRIPTION with the source's full connection string (password included). The
// statement text is never logged, and the session keeps the server from logging it.
void create_subscription(pg::Connection& target, const state::Plan& plan);

struct DroppedSubscription {
  bool dropped = false;
  std::optional<uint32_t> oid;     // of the subscription, when there was one
  std::vector<std::string> slots;  // slots removed on the source (by the server or by us)
};
// Drops the subscription and its slots (the main slot and table-sync slots), also when the
// target cannot reach the source any more.
DroppedSubscription drop_subscription(pg::Connection& source, pg::Connection& target, const std::string& name);

// Slots on the source that belong to subscription `name` (its slot and pg_<oid>_sync_* ones).
std::vector<std::string> subscription_slots(pg::Connection& source, const std::string& name,
                                            std::optional<uint32_t> subscription_oid);
bool slot_exists(pg::Connection& source, const std::string& name);

// Sets each identity on its side, recording a compensation before each change.
void apply_identity_changes(pg::Connection& source, pg::Connection& target, state::Journal& journal,
                            int64_t migration_id, const std::vector<IdentityChange>& changes);
// Restores every identity change recorded and not yet settled; settles each.
std::vector<IdentityChange> restore_identities(pg::Connection& source, pg::Connection& target,
                                               state::Journal& journal, int64_t migration_id);

// "left out (N)" lines with the reason for each table, and the same as JSON.
std::string render_left_out(const std::vector<catalog::LeftOut>& left_out);
nlohmann::json left_out_json(const std::vector<catalog::LeftOut>& left_out);

// The message on the target fence: where to write instead.
std::string target_fence_reason(const state::Plan& plan);

}  // namespace pgshift::replication::detail
