// One user statement from a surface of the read-only window (console SQL tab, table browser,
// exports; MCP query/explain tools), end to end, the same way everywhere:
//   1. the gate (query::Rejected before anything else: no connection is taken);
//   2. a lease from the pool for the caller's identity (PoolBusy when none comes in time);
//   3. query::run() with application_name = pgshift/<surface>/<correlation id>, so the server
//      log (%a in log_line_prefix, pgaudit) and pg_stat_activity join to the audit line;
//   4. one audit record, whatever happened: ok, rejected (rule), error (SQLSTATE; 53300 for a
//      busy pool), timeout, cancelled;
//   5. the lease returned before this returns: query::run() leaves its read-only transaction
//      open (Options::leave_to_pool) and the pool rolls it back and resets the session in the
//      background (one round trip), so the caller answers its client without waiting for it.
// A CancelSignal (may be null) lets another thread cancel the statement (a client that went
// away, notifications/cancelled). Exceptions are those of query::run() plus PoolBusy and
// pg::ConnectError, rethrown after the audit record is written.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "audit/audit.hpp"
#include "query/pool.hpp"
#include "query/query.hpp"

namespace pgshift::query {

// Who runs the statement and from where; copied into the audit record.
struct Caller {
  std::string surface = "console";  // "console", "mcp"
  std::string identity;
  std::string client_address;
  std::string session_id;
  std::string correlation_id;       // audit::new_correlation_id() when empty
  nlohmann::json extra = nlohmann::json::object();  // the record's `extra` (MCP: tool, clientInfo)
};

// params: values for $1..$n in sql (the table browser's filters); none for user SQL.
Result run_audited(Pool& pool, audit::Log& log, const Caller& caller, std::string_view sql, Options options,
                   CancelSignal* cancel = nullptr, const pg::Params& params = {});

// Value bytes of a result's rows (the audit record's `bytes`).
long long result_bytes(const Result& result);

}  // namespace pgshift::query
