// Runs one user-written statement safely: the engine behind `pgshift query`, the console's SQL
// page and the MCP server's query tool. All three call run() and render the Result with
// query/format.hpp, so they accept, refuse and print exactly the same things.
//
// run() gives these guarantees, in this order (docs/query.md, "Defence layers"):
//   1. The text passes sqlgate::check() or run() throws Rejected (nothing is sent).
//   1b. Inside the transaction of 2, before the statement: every function the statement
//      reaches and every relation it names pass the catalog check (query/policy_check.hpp,
//      sqlgate/function_policy.hpp), or run() throws Rejected (the statement is not sent).
//   2. It runs in a transaction that is READ ONLY and always rolled back, with SET LOCAL
//      statement_timeout, lock_timeout and idle_in_transaction_session_timeout (set through
//      set_config with bound values; that first query also takes the snapshot, after which the
//      transaction can no longer be switched to read-write). standard_conforming_strings is
//      forced on for the transaction, so the server splits the text into tokens exactly as the
//      gate's parser did; bytea_output is hex and client_encoding UTF8 (but on SQL_ASCII);
//      application_name is Options::application_name when set.
//   3. The statement is sent with the extended protocol (PQexecParams), which refuses a second
//      statement in the text whatever the gate thought.
//   4. A query (SELECT / VALUES / TABLE / WITH) runs through a server-side cursor: DECLARE
//      ... NO SCROLL CURSOR, then FETCH FORWARD until limit + 1 rows or max_bytes of values,
//      so memory is bounded by the limit whatever the table's size; `truncated` says there was
//      more. DECLARE and the first FETCH travel in one round trip (query/pipeline.hpp). EXPLAIN
//      and SHOW run directly in the same transaction (their output is small).
//   4b. A query with variable-length columns is described first (prepare + describe, one round
//      trip) and read through a wrapper that cuts every value longer than max_bytes / 2
//      characters on the server (query/value_cap.hpp), so one huge value costs half the budget,
//      not its size (and the rest of its row still fits);
//      Result::server_cuts lists the cuts with each value's full size.
//   5. On a timeout, a cancel (call conn.cancel() from another thread) or any error, the
//      transaction is rolled back; a connection that broke is re-established (pg::Connection::
//      reset). When run() returns or throws, the connection is idle and usable, unless
//      re-connecting failed too (then conn.is_ok() is false).
// Not thread-safe per connection: one run() at a time on a given pg::Connection.
#pragma once

#include <libpq-fe.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/connection.hpp"
#include "sqlgate/sqlgate.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"

namespace pgshift::query {

inline constexpr long long kMaxLimit = 1'000'000;

struct Options {
  long long limit = 1000;                 // rows returned at most, 1..kMaxLimit
  util::Millis timeout{5'000};            // statement_timeout: the whole run, fetches included
  util::Millis lock_timeout{1'000};       // waiting for a lock (capped at timeout)
  util::Millis idle_timeout{10'000};      // idle_in_transaction_session_timeout (a client that froze)
  long long max_bytes = 64LL << 20;       // value bytes kept at most; beyond, the result is truncated
  // The catalog check's allow-lists (--allow-function / --allow-foreign-table, config keys
  // allow-function / allow-foreign-table): "schema.name" entries, exact catalog names;
  // allow_functions also takes "schema.*". A function of a denied family cannot be allowed.
  std::vector<std::string> allow_functions;
  std::vector<std::string> allow_foreign_tables;
  // application_name for the transaction (SET LOCAL), so the server's log (%a) and
  // pg_stat_activity name the request: "pgshift/console/<correlation id>". "": unchanged.
  std::string application_name;
  // The connection is pooled (query/pool.hpp): when the statement succeeds, run() returns with
  // its read-only transaction still open (it has read everything; it only holds a snapshot) and
  // the lease's release rolls it back and resets the session (clean_session()) off the caller's
  // path, before the connection serves anyone else. A failed statement is rolled back at once.
  bool leave_to_pool = false;
};

struct Column {
  std::string name;
  Oid type_oid = 0;
  int type_modifier = -1;
  std::string type_name;  // format_type(): "integer", "numeric(12,2)", "timestamp with time zone"
};

using Value = std::optional<std::string>;  // text as the server sent it; nullopt is SQL NULL
using Row = std::vector<Value>;

enum class Truncation { none, limit, bytes };

// A value the server cut before sending it (query/value_cap.hpp): rows[row][column] holds its
// first max_bytes / 2 characters; bytes is its whole size (octet_length of its text).
struct ServerCut {
  size_t row = 0;
  size_t column = 0;
  long long bytes = 0;
};

struct Result {
  sqlgate::Verdict verdict;  // the accepted verdict: kind, statement, fingerprint, normalized text
  std::vector<Column> columns;
  std::vector<Row> rows;
  bool truncated = false;    // there were more rows than returned
  Truncation truncated_by = Truncation::none;
  long long limit = 0;       // the row limit in force
  util::Millis elapsed{0};   // BEGIN to ROLLBACK
  // Values cut on the server, in row order (a query's variable-length values longer than
  // Options::max_bytes / 2 characters). fit_to_budget() (query/format_budget.hpp) lists them.
  std::vector<ServerCut> server_cuts;
};

// The gate refused the text (sqlgate::check(), or the catalog check after connecting). Exit code 1 (a check found a problem); verdict() has the rule,
// reason, position and the fingerprint for the audit log.
class Rejected : public ProblemsFound {
 public:
  explicit Rejected(sqlgate::Verdict verdict);
  const sqlgate::Verdict& verdict() const { return verdict_; }

 private:
  sqlgate::Verdict verdict_;
};

// The statement ran out of time (statement_timeout or lock_timeout). Exit code 3.
class Timeout : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

// Someone called conn.cancel() while the statement ran. Exit code 3.
class Cancelled : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

// The session ended while the statement ran (a terminated backend, a server restart, the
// network). run() has already re-connected when it could; the message says whether. Exit code 3.
class ConnectionLost : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

// Throws UsageError when options are out of range or an allow-list entry is not schema.name or
// names a denied function (run() calls it; surfaces call it early to refuse bad settings).
void validate(const Options& options);

// Checks, runs and rolls back. Throws Rejected, Timeout, Cancelled, ConnectionLost,
// pg::SqlError (the server refused the statement), UsageError (options out of range, an
// allow-list entry that is not schema.name or names a denied function).
Result run(pg::Connection& conn, std::string_view sql, const Options& options = {});

// The same with bound parameters for $1..$n in the text (the console's table browser builds its
// SELECT from quoted identifiers and binds the filter values). The gate sees the text as written.
Result run(pg::Connection& conn, std::string_view sql, const pg::Params& params, const Options& options);

// The same for a text the caller has already put through sqlgate::check() (run_audited does, to
// refuse before taking a connection): runs verdict.statement, the text the gate accepted, and
// throws Rejected when the verdict is not an acceptance. Steps 1b to 5 are run()'s. sql is the
// text the verdict was made from (a server error's position is given in it).
Result run_checked(pg::Connection& conn, std::string_view sql, sqlgate::Verdict verdict, const pg::Params& params,
                   const Options& options);

}  // namespace pgshift::query
