// The catalog check of query::run(): after connecting and before running anything, every
// function an accepted statement reaches (sqlgate::Verdict::references: calls in every
// position, FROM included; attribute notation; TABLESAMPLE handlers; operators' functions and
// their selectivity estimators; the input function of every type named and the casts into it)
// is resolved against the connected database's pg_proc and judged by
// sqlgate::judge_function(); every relation named is resolved through the search path and
// refused when it is a foreign table not in options.allow_foreign_tables.
//
// Resolution is conservative: a name is matched against every function of that name in the
// schema given (or in every schema of current_schemas(true) when unqualified) whose argument
// count (with defaults and VARIADIC) fits the call, and the statement is refused when any
// candidate is refused. When no candidate fits the count, every function of that name is
// judged. A name with no function at all is left to the server (it fails with 42883).
//
// The lookup is one query, inside the statement's own read-only transaction, just before the
// statement, so a function created or altered a moment ago is judged as it is now. Its answer
// (for the same names) is reused only while the catalog provably did not change: when `state`,
// the transaction's CatalogState, has the same context and snapshot as the transaction that
// computed it (query/snapshot_cache.hpp; an empty state never reuses). Its plan is kept: the
// lookup is a statement prepared once per session (pg::Connection::exec_prepared; planning it
// took ~2 ms a call, more than running it), which session hygiene leaves in place. Throws query::Rejected with a Verdict like the gate's
// (rule, reason, position); pg::SqlError when the lookup itself fails.
#pragma once

#include "pg/connection.hpp"
#include "query/query.hpp"
#include "query/read_only_transaction.hpp"

namespace pgshift::query {

void check_policy(pg::Connection& conn, const sqlgate::Verdict& verdict, const Options& options,
                  const CatalogState& state = {});

// The lookup's prepared statement: its name and exact text (what pg_prepared_statements shows),
// the one prepared statement a clean pooled session may hold.
struct KeptStatement {
  std::string_view name, text;
};
KeptStatement policy_lookup_statement();

}  // namespace pgshift::query
