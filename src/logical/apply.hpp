// pgshift's own apply of a logical slot: for the replication back into a source that cannot
// CREATE SUBSCRIPTION (Supabase gives no role that can). It reads the reverse slot on the
// target over a replication connection (pgoutput, protocol version 1, the reverse publication)
// and applies each transaction to the source as an ordinary role, in commit order, exactly once.
//
// Exactly once: each applied transaction stores its commit's end LSN in
// pgshift.apply_progress (one row per slot) on the SOURCE, in the same source transaction as its
// changes. The migration's state otherwise lives in schema pgshift on the target (DESIGN.md); this
// one table is on the source because only a write in the same transaction as the changes makes
// "applied" and "recorded as applied" one atomic fact. On start the stored LSN is read, streaming
// starts there, and a transaction whose commit LSN is before it is skipped (the slot may replay
// what it sent before a crash). The slot is confirmed (standby status update, flush LSN) only up
// to what the source has durably committed (synchronous_commit = on in the apply session).
//
// Statements: INSERT/UPDATE/DELETE/TRUNCATE with quoted identifiers and every value a bound text
// parameter cast to its column's type name (format_type on the target, schema-qualified, without
// type modifier so the column's own modifier checks the value); UPDATE and DELETE find the row by
// the replica identity columns (the old tuple's when sent, else the new tuple's); unchanged TOAST
// columns are left out of SET. With REPLICA IDENTITY FULL one matching row is changed (by ctid),
// as the native apply does. A transaction's statements are prepared once per session and sent in
// libpq's pipeline mode (apply_pipeline.hpp), checked before COMMIT is sent.
//
// Conflicts: a unique violation, an UPDATE or DELETE that finds no row, or any other error stops
// the apply with an ApplyConflict naming the transaction (xid, commit LSN), the table and the key;
// nothing is ever skipped, the source transaction is rolled back and the progress row keeps the
// previous transaction's LSN.
//
// Triggers: the native apply runs with session_replication_role = replica, so the application's
// triggers (and foreign-key checks) do not fire for replicated changes. The apply session tries
// the same; that needs a superuser. When the role may not, start refuses (ProblemsFound, listing
// them) while a replicated table on the source has an enabled user trigger, unless
// allow_triggers is set (the operator accepts that they fire again, or disabled them).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "logical/pgoutput.hpp"
#include "pg/connection.hpp"
#include "pg/lsn.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"

namespace pgshift::logical {

// ---- statements (pure) ----------------------------------------------------------------------

// A relation as the apply uses it: the relation message plus each column's type name as the
// publisher spells it schema-qualified (format_type(oid, NULL) under an empty search_path).
struct ApplyTable {
  pgoutput::Relation relation;
  std::vector<std::string> type_names;  // one per relation.columns
  std::string display() const;          // schema.name for messages
};

struct ApplyStatement {
  std::string sql;
  pg::Params params;
  std::string key;  // "(id)=(42)": the row's identity for messages ("" for INSERT/TRUNCATE)
};

ApplyStatement insert_statement(const ApplyTable& table, const pgoutput::Insert& change);
// pgshift.ddl_log, the followed schema changes' log (ddl.hpp).
bool is_ddl_log(const ApplyTable& table);
// The insert of a ddl_log row that also applies the entry (pgshift.ddl_apply_entry, what its
// ENABLE REPLICA trigger runs), for an apply that may not run as replica.
ApplyStatement ddl_log_insert_statement(const ApplyTable& table, const pgoutput::Insert& change);
ApplyStatement update_statement(const ApplyTable& table, const pgoutput::Update& change);
ApplyStatement delete_statement(const ApplyTable& table, const pgoutput::Delete& change);
// TRUNCATE of the listed tables together (RESTART IDENTITY when the message asks; never CASCADE,
// as the native apply: a table that references them and is not replicated stops it).
ApplyStatement truncate_statement(const std::vector<const ApplyTable*>& tables, const pgoutput::Truncate& change);

// ---- the apply ------------------------------------------------------------------------------

struct ApplyOptions {
  std::string slot;         // the logical slot on the publisher (pgoutput)
  std::string publication;  // its publication
  bool allow_triggers = false;
  util::Millis status_interval{10'000};  // standby status at least this often
  std::function<bool()> stop_requested;  // polled between messages: stop after the current transaction
  std::function<void()> on_streaming;    // called once START_REPLICATION holds the slot (this run owns it)
};

struct ApplyProgress {
  pg::Lsn start_lsn;      // stored on the subscriber when the apply started (0/0: none)
  pg::Lsn applied_lsn;    // end LSN of the last transaction committed on the subscriber
  pg::Lsn confirmed_lsn;  // flush LSN last reported to the slot
  pg::Lsn server_wal_end; // the publisher's WAL end as last reported
  int64_t transactions = 0;  // applied (with changes) in this run
  int64_t skipped = 0;       // replayed transactions already applied before
  int64_t changes = 0;       // rows inserted, updated, deleted; tables truncated
  std::string trigger_mode;  // "replica" (session_replication_role) or "origin"
  bool stopped = false;      // ended by stop_requested
};

// A change the subscriber refused. Exit 3: the apply stops and must be resolved by hand.
class ApplyConflict : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

// Runs the apply until options.stop_requested() (after finishing the transaction in flight) or
// an error. publisher: the database the slot belongs to (a replication connection and an
// ordinary one are opened to it); subscriber: where changes are applied (this call sets its
// session's synchronous_commit and tries session_replication_role). on_commit (may be empty) is
// called after each applied or skipped transaction.
ApplyProgress run_apply(const pg::ConnInfo& publisher, pg::Connection& subscriber, const ApplyOptions& options,
                        const std::function<void(const ApplyProgress&)>& on_commit = {});

// The LSN stored for `slot` on the subscriber (0/0 when none or no progress table yet).
pg::Lsn stored_apply_lsn(pg::Connection& subscriber, const std::string& slot);

// The user triggers on `tables` (quoted schema.name) that fire for an ordinary session (ENABLE
// ORIGIN or ALWAYS; pgshift's fence aside), as "table (t1, t2); ...", or "" when none.
std::string firing_user_triggers(pg::Connection& subscriber, const std::vector<std::string>& tables);

// Removes `slot`'s row from pgshift.apply_progress, and the table when no row is left (a new slot
// of that name must not skip what an earlier one applied). false when there was no table.
bool forget_apply_progress(pg::Connection& subscriber, const std::string& slot);

}  // namespace pgshift::logical
