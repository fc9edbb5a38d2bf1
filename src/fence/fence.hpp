// The write fence: on a fenced database nothing but logical replication may write to the fenced
// tables. sync start fences the TARGET (a client pointed at it by mistake must not write rows
// that replication would then collide with); cutover fences the SOURCE the same way before it
// switches traffic.
//
// How: a trigger function pgshift.fence_reject() in the fenced database, and on each fenced
// table a BEFORE INSERT OR UPDATE OR DELETE row trigger `pgshift_fence` plus a BEFORE TRUNCATE
// statement trigger `pgshift_fence_truncate` (partitions of a fenced partitioned table get the
// row trigger by inheritance and their own truncate trigger). The function raises SQLSTATE
// 25006 (read_only_sql_transaction) with a message that names the table and says, in the
// caller's words (`reason`), where to write instead.
//
// Why it holds: the triggers are ordinary (ENABLE ORIGIN) triggers. Those fire for every client
// session, whatever it sets — SET default_transaction_read_only = off or SET TRANSACTION READ
// WRITE change nothing — but not in the logical replication apply and table-sync workers, which
// run with session_replication_role = replica. So replication keeps applying while every client
// write fails.
//
// The one bypass: a superuser may SET session_replication_role = replica in its own session,
// which disables ENABLE ORIGIN triggers for that session (that is what the apply worker does).
// Only superusers can set it; it is a deliberate act, never a mistake.
//
// All functions are idempotent and run as one transaction each. The fence function lives in
// schema pgshift, which the catalog never reads or publishes.
#pragma once

#include <string>
#include <vector>

#include "catalog/model.hpp"
#include "pg/connection.hpp"

namespace pgshift::fence {

inline constexpr std::string_view kRowTrigger = "pgshift_fence";
inline constexpr std::string_view kTruncateTrigger = "pgshift_fence_truncate";

// The two reasons a migration fences a database, worded for the client that hits the fence.
// source/target are redacted endpoints.
std::string reason_replication_target(const std::string& source);  // fenced until cutover
std::string reason_migrated_away(const std::string& target);        // fenced after cutover

// Fences the tables (regular or partitioned). reason completes "table X is fenced by a pgshift
// migration: <reason>", e.g. "this is the target of a migration from app@db1:5432/shop; write
// to the source until cutover". Tables already fenced keep their triggers; the reason of the
// function-wide message is updated. Throws pg::SqlError when a table is missing.
void fence(pg::Connection& conn, const std::vector<catalog::TableRef>& tables, const std::string& reason);

// Removes every pgshift fence trigger of the database and the fence function. Returns how many
// tables were fenced before. Nothing to do is not an error.
size_t lift(pg::Connection& conn);

// Tables that carry a fence trigger of their own (not inherited by a partition), sorted.
std::vector<catalog::TableRef> fenced_tables(pg::Connection& conn);
bool is_fenced(pg::Connection& conn);

}  // namespace pgshift::fence
