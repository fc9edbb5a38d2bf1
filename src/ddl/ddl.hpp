// The ddl room: schema changes during a migration, followed in stream order in both directions.
//
// The mechanism (installed on both databases of a migration, in schema pgshift):
//   pgshift.ddl_log      one row per DDL command run on the writer by a client: the client's whole
//                        statement text, the role, search_path, the tables it touches, and what
//                        the other side must do with it (its verdict). The table is published with
//                        the replicated tables, so its rows travel in the change stream at the
//                        exact point where the DDL committed.
//   capture              event triggers (ddl_command_end, sql_drop; ordinary ENABLE, so they never
//                        fire in a replication apply session) that write pgshift.ddl_log. They
//                        need a superuser to be created; without one the side has no capture and
//                        schema changes are found by comparing catalogs (drift), held, with the
//                        statement to run printed.
//   apply                a row trigger on pgshift.ddl_log, ENABLE REPLICA: it fires only in the
//                        logical replication apply worker, inside the transaction that carries
//                        the row, and runs the DDL there (as the recorded role when it exists on
//                        this side, with the recorded search_path). A change that must not be
//                        followed blindly (--ddl hold, a statement text that also changes rows,
//                        a DDL run inside a function or DO block) raises an error instead: the
//                        apply worker stops at that point of the stream and retries until the
//                        operator decides (`pgshift sync ddl apply|skip ID`), so rows written
//                        after it never apply against the old shape. What is applied, skipped
//                        or not applied is recorded in pgshift.ddl_outcome on the applying side.
//
// pgshift's own sessions (application_name pgshift/...) and replication objects (publications,
// subscriptions) are never captured.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "catalog/catalog.hpp"
#include "pg/connection.hpp"

namespace pgshift::ddl {

enum class Policy { follow, hold };
std::string to_string(Policy policy);
Policy policy_from_string(const std::string& text);  // throws UsageError naming --ddl

// The replicated log table: published with the migration's tables.
catalog::TableRef log_table();

// Whether DDL on this database is captured, and why not. Event triggers need a superuser in
// PostgreSQL; some providers let their admin role create them (RDS's rds_superuser, Supabase's
// postgres through supautils), others do not: install() tries and says.
struct Capability {
  bool capture = false;
  std::string why_not;  // the server's refusal, e.g. "permission denied to create event trigger ..."
};

struct Settings {
  Policy policy = Policy::follow;
  std::vector<catalog::TablePattern> excludes;  // DDL only on excluded tables is not applied
};

// Creates (or updates) the log, the apply trigger and the settings on this database, and tries
// to create the capture event triggers when `capture` is asked (a refusal is not an error: it is
// returned). `fresh` empties the log, outcomes and decisions (a new migration). Idempotent; one
// transaction.
Capability install(pg::Connection& conn, const Settings& settings, bool capture, bool fresh);

// Updates the policy and excludes where the mechanism is installed (no-op otherwise).
void update_settings(pg::Connection& conn, const Settings& settings);

// Drops the event triggers, functions and tables of this mechanism. Nothing there: no-op.
void uninstall(pg::Connection& conn);

bool installed(pg::Connection& conn);
bool capturing(pg::Connection& conn);  // the capture event trigger exists and is enabled

// One captured DDL command, as the writer recorded it.
struct Entry {
  std::string id;
  int64_t seq = 0;
  std::string captured_at;
  std::string lsn;
  std::string role;
  std::string search_path;
  std::string tag;
  std::vector<std::string> tables;
  std::string statement;                // the client's text
  int part = 1;                         // >1: a later command of a text the first part applies whole
  std::string verdict;                  // follow, hold, skip
  std::string reason;
  std::vector<std::string> statements;  // what the other side runs
  // From the applying side: applied, covered, skipped, not-applied; empty while pending or held.
  std::string outcome;
  std::string outcome_detail;
  std::string outcome_at;
};

// The writer's log (newest last by capture time, at most `limit`), each with its outcome where it
// was applied: on the replica, or on the writer for a change it applied while it was the replica.
std::vector<Entry> entries(pg::Connection& writer, pg::Connection& replica, int limit = 100);

// Entries not applied yet on the replica (pending in the stream, or held there).
std::vector<Entry> pending(const std::vector<Entry>& all);

// The policy recorded on this database ("follow"/"hold"); "" when the mechanism is not there.
std::string recorded_policy(pg::Connection& conn);

// An entry the replica's apply stops at until the operator decides (sync ddl apply|skip):
// not applied yet, and held by its verdict or by the replica's policy (`policy`).
bool held(const Entry& entry, const std::string& policy);

nlohmann::json to_json(const Entry& entry);

// The operator's decision on a held entry, recorded on the applying side; the apply worker's
// next retry acts on it. `id` may be a unique prefix. Throws UsageError when no entry or several
// match.
enum class Decision { apply, skip };
Entry decide(pg::Connection& writer, pg::Connection& replica, const std::string& id, Decision decision);

// A statement on one line (runs of white space folded), cut at `max` characters with "…".
std::string one_line(const std::string& statement, size_t max);

// Converts a shell wildcard (fnmatch: * ? [...]) to an anchored POSIX regular expression.
std::string glob_to_regex(const std::string& glob);

}  // namespace pgshift::ddl
