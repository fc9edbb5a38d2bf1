// The write fence: on a fenced database nothing but logical replication may write to the fenced
// tables. sync start fences the TARGET (a client pointed at it by mistake must not write rows
// that replication would then collide with); cutover fences the SOURCE the same way before it
// switches traffic.
//
// How: a trigger function pgshift.fence_reject() in the fenced database, and on each fenced
// table a BEFORE INSERT OR UPDATE OR DELETE row trigger `pgshift_fence` plus a BEFORE TRUNCATE
// statement trigger `pgshift_fence_truncate` (partitions of a fenced partitioned table get the
// row trigger by inheritance and their own truncate trigger). The function has two bodies:
//   armed  raises SQLSTATE 25006 (read_only_sql_transaction) with a message that names the
//          table and says, in the caller's words (`reason`), where to write instead;
//   inert  lets the row through (one PL/pgSQL call per written row, nothing else).
// The triggers are per table and take a lock on each table to create (prepare(), O(tables),
// one short transaction per table, done before any pause); turning the fence on or off is one
// CREATE OR REPLACE FUNCTION (arm()/disarm(), O(1) statements, whatever the table count).
//
// Why it holds: the triggers are ordinary (ENABLE ORIGIN) triggers. Those fire for every client
// session, whatever it sets — SET default_transaction_read_only = off or SET TRANSACTION READ
// WRITE change nothing — but not in the logical replication apply and table-sync workers, which
// run with session_replication_role = replica. So replication keeps applying while every client
// write fails. The body is found through the system catalogs, not the writer's snapshot: a
// REPEATABLE READ transaction that began before arm() sees the armed body as soon as it locks a
// fenced table. A transaction that already held a write lock on a fenced table when the fence
// was armed may still run the inert body, so arm() waits until every such transaction has ended:
// when arm() returns, no client commit that wrote to a fenced table can follow it in the WAL.
//
// The one bypass: a superuser may SET session_replication_role = replica in its own session,
// which disables ENABLE ORIGIN triggers for that session (that is what the apply worker does).
// Only superusers can set it; it is a deliberate act, never a mistake.
//
// The pass, for pgshift's own apply of the replication back (cutover --replicate-back pgshift,
// `pgshift sync apply-back`) when its role is not a superuser: the armed body (SECURITY DEFINER,
// so it runs as the fence's owner) lets a row through when the session's setting
// pgshift.fence_pass holds a token whose sha256 is in pgshift.fence_pass, a table only its owner
// (and superusers) can read or write. The apply makes a random token per run and stores only its
// hash (open_pass); a client that can read the table learns no token, and one that can write it
// is the owner acting on purpose, like the superuser above.
//
// All functions are idempotent. The fence function lives in schema pgshift, which the catalog
// never reads or publishes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog/model.hpp"
#include "pg/connection.hpp"
#include "util/duration.hpp"

namespace pgshift::fence {

inline constexpr std::string_view kRowTrigger = "pgshift_fence";
inline constexpr std::string_view kTruncateTrigger = "pgshift_fence_truncate";

// The two reasons a migration fences a database, worded for the client that hits the fence.
// source/target are redacted endpoints.
std::string reason_replication_target(const std::string& source);  // fenced until cutover
std::string reason_migrated_away(const std::string& target);        // fenced after cutover

// What prepare() leaves for arm(): every fenced relation (listed tables and their partitions)
// by oid, so that arm() reads no catalog per table.
struct Prepared {
  std::vector<std::string> relids;  // distinct, as text
};

// Puts the triggers on the tables (regular or partitioned, and every partition) that lack them,
// one short transaction per table, and creates the function inert when it does not exist (an
// armed fence stays armed, and then also covers the new tables at once). Per-table work: call
// it before a pause. Throws pg::SqlError when a table is missing.
Prepared prepare(pg::Connection& conn, const std::vector<catalog::TableRef>& tables);

// Turns the fence on with one statement, then waits (up to `wait`) until every client
// transaction that held a write lock on a fenced table before has ended; RuntimeError when one
// does not (the fence stays armed: lift or disarm it). A constant number of statements whatever
// the table count. RuntimeError when a prepared relation lost its triggers (or was dropped)
// since prepare(); the fence is then not armed.
void arm(pg::Connection& conn, const Prepared& prepared, const std::string& reason,
         util::Millis wait = util::Millis(10'000));

// prepare() then arm(): the tables are fenced when it returns.
void fence(pg::Connection& conn, const std::vector<catalog::TableRef>& tables, const std::string& reason);

// Lets every write through again with one statement; the triggers stay, inert, so that arm()
// can fence again just as fast. Returns how many tables were fenced before.
size_t disarm(pg::Connection& conn);

// Removes every pgshift fence trigger of the database and the fence function (disarming first,
// so writes flow even while the drop waits for locks). Returns how many tables were fenced
// before. Nothing to do is not an error.
size_t lift(pg::Connection& conn);

// The pass (see above). ensure_pass_table creates pgshift.fence_pass (owner only) when missing;
// arm() calls it. open_pass stores the hash of a new random token and sets pgshift.fence_pass in
// this session to it; nullopt (nothing done) when the database has no fence function.
// close_pass removes that token's hash; revoke_passes every hash (the table stays).
void ensure_pass_table(pg::Connection& conn);
std::optional<std::string> open_pass(pg::Connection& conn);
void close_pass(pg::Connection& conn, const std::string& token);
void revoke_passes(pg::Connection& conn);

// Tables that carry a fence trigger of their own (not inherited by a partition) while the fence
// is armed, sorted; empty when it is inert.
std::vector<catalog::TableRef> fenced_tables(pg::Connection& conn);
bool is_fenced(pg::Connection& conn);
// Tables carrying the triggers whether armed or not (what lift() removes).
std::vector<catalog::TableRef> prepared_tables(pg::Connection& conn);

}  // namespace pgshift::fence
