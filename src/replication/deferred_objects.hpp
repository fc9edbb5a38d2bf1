// The target's secondary indexes and constraints that a parallel copy drops before it copies and
// rebuilds after (maintaining them row by row is most of a native copy's time).
//
// What is deferred, on the replicated tables (and their leaf partitions) of the target:
//   - indexes other than the primary key and the replica identity index, and other than those an
//     index-backed constraint owns, children of a partitioned index (they go with it), invalid
//     ones (left as they are) and those a foreign key from a table outside the copy relies on;
//   - PRIMARY KEY, UNIQUE and EXCLUDE constraints (same exceptions: a REPLICA IDENTITY USING
//     INDEX one stays), FOREIGN KEY and CHECK constraints, local ones only (a partition's
//     inherited constraint goes with its parent's). The primary key too: nothing reads it before
//     the subscription exists (created after the rebuild), each unit commits once with its
//     journal record so no row can arrive twice, and a sorted build after the copy costs far
//     less than maintaining the btree row by row (the difference to pgcopydb, which does the same).
// Each object is journaled as a compensation (step "copy-deferred", its exact definition from
// pg_get_indexdef / pg_get_constraintdef) BEFORE it is dropped, so a crash, a failed copy or
// sync stop can always put it back: restore() rebuilds every open compensation and settles it.
//
// restore() rebuilds indexes and UNIQUE/EXCLUDE constraints first (on `jobs` connections at
// once, maintenance_work_mem per connection when given), then adds FOREIGN KEY and CHECK
// constraints NOT VALID and validates them in parallel (a partitioned table cannot take NOT
// VALID: added valid at once). A constraint that was NOT VALID before stays NOT VALID. A
// VALIDATE that fails (rows the copy brought in violate it: a referenced table that is not
// replicated) leaves the constraint NOT VALID and is reported, not thrown: the definition is
// back, the data is the source's.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "catalog/model.hpp"
#include "pg/connection.hpp"
#include "state/journal.hpp"

namespace pgshift::replication {

inline constexpr std::string_view kStepDeferred = "copy-deferred";

struct DeferredObject {
  enum class Kind { index, constraint };
  Kind kind = Kind::index;
  catalog::TableRef table;
  std::string name;
  std::string definition;     // CREATE INDEX ... (index) or the constraint's body (constraint)
  char constraint_type = 0;   // 'p', 'u', 'x', 'f', 'c' for constraints
  bool partitioned = false;   // on a partitioned table
  bool validated = true;      // the constraint was valid before

  bool builds_index() const {
    return kind == Kind::index || constraint_type == 'u' || constraint_type == 'x' || constraint_type == 'p';
  }
  std::string describe() const;  // "index public.t_email_idx on public.t"
  nlohmann::json to_json() const;
  static DeferredObject from_json(const nlohmann::json& doc);
};

// One dropped object not rebuilt yet, with its open compensations (settled together once it is
// rebuilt: normally one; a journal written by an older version may hold two for one object).
struct PendingObject {
  std::vector<state::Event> compensations;
  DeferredObject object;  // as first recorded (its definition before any drop)
  std::string key() const;  // kind, table and name: one object
};
// The open compensations of the migration, one entry per object, most recent first.
std::vector<PendingObject> pending_objects(state::Journal& journal, int64_t migration_id);

// Settles every compensation of `pending` on `journal`; run it in the transaction that rebuilt
// the object (on the same connection) so a kill leaves either both or neither.
void settle_pending(state::Journal& journal, int64_t migration_id, const PendingObject& pending,
                    const nlohmann::json& detail);

// Creates the object on conn (idle, not in a transaction) unless it exists already (a rebuild
// that crashed after CREATE and before its settle). A FOREIGN KEY or CHECK constraint that was
// valid is added NOT VALID when not_valid_first (the caller validates it after).
void rebuild(pg::Connection& conn, const DeferredObject& object, bool not_valid_first = false);

// What would be deferred now on the target (read-only).
std::vector<DeferredObject> read_deferrable(pg::Connection& target, const std::vector<catalog::TableRef>& tables);

// Journals and drops each object (foreign keys and checks first, then unique constraints, then
// indexes). An object that already has an open compensation (a run killed after journaling a
// drop and before making it) is dropped without a second record: each object is journaled once
// and so rebuilt once. Throws SqlError; what was dropped before the error stays journaled.
void drop_deferred(pg::Connection& target, state::Journal& journal, int64_t migration_id,
                   const std::vector<DeferredObject>& objects);

struct RestoreResult {
  int indexes = 0;
  int constraints = 0;
  std::vector<std::string> not_validated;  // "constraint fk on public.t: <error>"
  int64_t index_ms = 0;
  int64_t constraint_ms = 0;
};

struct RestoreOptions {
  int jobs = 1;
  std::string maintenance_work_mem;  // e.g. "1GB"; empty: the server's setting
  std::function<void(const std::string&)> on_done;  // after each object, with its description
  // false: indexes and UNIQUE/EXCLUDE constraints only; FOREIGN KEY and CHECK constraints stay
  // dropped (journaled) — after an interrupted copy the rows are partial and would leave them
  // NOT VALID for good.
  bool keys_too = true;
};

// Rebuilds every open "copy-deferred" compensation of the migration and settles each in the
// transaction that rebuilt it (on the build connection). `journal` reads the compensations;
// `info` opens the parallel build connections. Throws SqlError when an
// object cannot be created (it stays journaled: run again after fixing the cause).
RestoreResult restore_deferred(const pg::ConnInfo& info, state::Journal& journal,
                               int64_t migration_id, const RestoreOptions& options);

// How many objects are dropped and not restored yet.
size_t open_deferred(state::Journal& journal, int64_t migration_id);

}  // namespace pgshift::replication
