// Internal to the replication room: the initial copy of `sync start --copy parallel`, between the
// fence and the subscription (start.cpp runs it; see replication.hpp for the options and the
// summary). Steps, each journaled on the target:
//   copy-slot      the slot, created with an exported snapshot by the snapshot keeper, with its
//                  consistent point; the snapshot name is the copy's "generation"
//   copy-deferred  compensations: the indexes and constraints dropped until the copy is done
//   copy-plan      the relations and units
//   copy-unit      one per finished unit, committed with the unit's rows
// Run again after an interruption (start.cpp's resume) it adopts the recorded snapshot when it
// still lives and skips finished units; when it is gone it drops the slot, empties the tables and
// starts over with a new slot. Every exit path leaves the dropped objects restored, except a stop
// asked for by `sync stop` (which restores them itself).
#pragma once

#include <vector>

#include "catalog/catalog.hpp"
#include "pg/connection.hpp"
#include "replication/replication.hpp"
#include "state/journal.hpp"
#include "state/plan.hpp"

namespace pgshift::replication::detail {

inline constexpr std::string_view kStepCopy = "copy";
inline constexpr std::string_view kStepCopySlot = "copy-slot";
inline constexpr std::string_view kStepCopyPlan = "copy-plan";
inline constexpr std::string_view kStepCopyStopRequested = "copy-stop-requested";

// Throws CopyInterrupted (resumable: the slot is kept) once the slot exists; before that, any
// error as it comes (nothing was created).
CopySummary parallel_copy(pg::Connection& source, pg::Connection& target, const state::Plan& plan,
                          state::Journal& journal, int64_t migration_id, const std::vector<catalog::TableRef>& tables,
                          const ParallelCopyOptions& options);

// Whether the migration's journal shows a parallel copy begun and its subscription not created.
bool parallel_copy_pending(state::Journal& journal, int64_t migration_id);

// The copy's progress for sync status, with per-table states folded into `tables` ("copying",
// "copied", "waiting"); nullopt when the migration has no parallel copy pending.
std::optional<CopyStatus> read_copy_status(pg::Connection& target, state::Journal& journal, int64_t migration_id,
                                           std::vector<TableStatus>& tables);

// For sync stop of an unfinished copy: empties the tables it wrote into (they held no rows before
// sync start, which refuses otherwise), so the constraints it dropped are valid again once
// rebuilt. Returns them.
std::vector<catalog::TableRef> empty_unfinished_copy(const pg::ConnInfo& target_info, state::Journal& journal,
                                                     int64_t migration_id);

// For sync stop: ends the snapshot keeper recorded in the journal, if it still runs.
void end_recorded_keeper(pg::Connection& source, state::Journal& journal, int64_t migration_id);

}  // namespace pgshift::replication::detail
