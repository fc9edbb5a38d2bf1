// Internal to the replication room: the statements that create and drop replication objects,
// replica identities, and the pieces start/stop/status share. Not for other rooms.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalog.hpp"
#include "pg/connection.hpp"
#include "logical/logical.hpp"
#include "replication/replication.hpp"
#include "state/journal.hpp"
#include "state/plan.hpp"

namespace pgshift::replication::detail {

// Journal steps (pgshift.event.step) written by the sync commands.
inline constexpr std::string_view kStepStart = state::kSyncStartStep;
inline constexpr std::string_view kStepIdentity = state::kReplicaIdentityStep;
inline constexpr std::string_view kStepPublication = "publication";
inline constexpr std::string_view kStepTruncate = "truncate-target";
inline constexpr std::string_view kStepFence = "fence";
inline constexpr std::string_view kStepSubscription = "subscription";
inline constexpr std::string_view kStepSoak = state::kSoakStep;
inline constexpr std::string_view kStepStop = "stop";
// The compensations of the replica identities cutover set for the replication back (the cutover
// room writes them as "cutover:" + its kReverseIdentity; finalize restores them). Tables that
// join the replication back record theirs under the same step.
inline constexpr std::string_view kStepReverseIdentity = "cutover:reverse-identity";

// "left out (N)" lines with the reason for each table, and the same as JSON.
std::string render_left_out(const std::vector<catalog::LeftOut>& left_out);
nlohmann::json left_out_json(const std::vector<catalog::LeftOut>& left_out);

// Display names ("public.orders") as a JSON array, for journal details and --json output.
nlohmann::json table_names_json(const std::vector<catalog::TableRef>& tables);

// The tables of `tables` holding at least one row on `conn` (one cheap probe each).
std::vector<catalog::TableRef> tables_with_rows(pg::Connection& conn, const std::vector<catalog::TableRef>& tables);

// The message on the target fence: where to write instead.
std::string target_fence_reason(const state::Plan& plan);

}  // namespace pgshift::replication::detail
