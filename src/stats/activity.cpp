// activity(): sessions with their waits and durations, the blocking tree, idle-in-transaction
// and long-running statements (the console's Activity tab). Read-only: nothing is cancelled.
#include <fmt/format.h>

#include "stats/checks.hpp"
#include "stats/diagnostics.hpp"
#include "stats/inspector.hpp"

namespace pgshift::stats {
namespace {

using detail::NamedQuery;

inline constexpr std::string_view kHiddenQuery = "<insufficient privilege>";

// The report's own session is left out everywhere.
constexpr NamedQuery kSessions{
    "sessions", "Sessions",
    "Every server process with what it waits for and for how long; blocked_by lists the pids holding the lock it "
    "waits for.",
    R"sql(
SELECT pid, usename AS role, datname AS database, application_name, client_addr::text AS client_addr, backend_type,
       state, wait_event_type, wait_event,
       extract(epoch FROM clock_timestamp() - backend_start)::float8 AS connected_seconds,
       extract(epoch FROM clock_timestamp() - xact_start)::float8 AS xact_seconds,
       extract(epoch FROM clock_timestamp() - query_start)::float8 AS query_seconds,
       extract(epoch FROM clock_timestamp() - state_change)::float8 AS state_seconds,
       to_json(pg_blocking_pids(pid)) AS blocked_by,
       left(query, 2000) AS query
  FROM pg_stat_activity
 WHERE pid <> pg_backend_pid()
 ORDER BY backend_type <> 'client backend', xact_start NULLS LAST, pid
 LIMIT 500
)sql"};

// Each root holds locks others wait for without waiting itself; depth 1 waits for the root,
// depth 2 for a depth-1 session, and so on (blocked_by is the session it waits for).
constexpr NamedQuery kBlocking{
    "blocking", "Blocking tree",
    "Sessions waiting for locks, under the session that blocks them; the root is the one to look at.",
    R"sql(
WITH RECURSIVE edges AS (
  SELECT a.pid AS blocked, b.pid AS blocker
    FROM pg_stat_activity a CROSS JOIN LATERAL unnest(pg_blocking_pids(a.pid)) AS b(pid)
   WHERE a.pid <> pg_backend_pid()
), tree AS (
  SELECT DISTINCT e.blocker AS root_pid, e.blocker AS pid, NULL::int AS blocked_by, 0 AS depth, ARRAY[e.blocker] AS path
    FROM edges e WHERE e.blocker NOT IN (SELECT blocked FROM edges)
  UNION ALL
  SELECT t.root_pid, e.blocked, e.blocker, t.depth + 1, t.path || e.blocked
    FROM tree t JOIN edges e ON e.blocker = t.pid
   WHERE NOT e.blocked = ANY (t.path)
)
SELECT t.root_pid, t.depth, t.pid, t.blocked_by, a.usename AS role, a.application_name, a.state,
       a.wait_event_type, a.wait_event,
       extract(epoch FROM clock_timestamp() - a.xact_start)::float8 AS xact_seconds,
       extract(epoch FROM clock_timestamp() - a.state_change)::float8 AS state_seconds,
       left(a.query, 2000) AS query
  FROM tree t LEFT JOIN pg_stat_activity a ON a.pid = t.pid
 ORDER BY t.root_pid, t.path
 LIMIT 500
)sql"};

constexpr NamedQuery kIdleInTransaction{
    "idle_in_transaction", "Idle in transaction",
    "Sessions that opened a transaction and sit idle: they hold locks and hold back vacuum.",
    R"sql(
SELECT pid, usename AS role, datname AS database, application_name, client_addr::text AS client_addr, state,
       extract(epoch FROM clock_timestamp() - state_change)::float8 AS idle_seconds,
       extract(epoch FROM clock_timestamp() - xact_start)::float8 AS xact_seconds,
       age(backend_xmin) AS xmin_age, left(query, 2000) AS last_query
  FROM pg_stat_activity
 WHERE state IN ('idle in transaction', 'idle in transaction (aborted)') AND pid <> pg_backend_pid()
 ORDER BY state_change
 LIMIT 200
)sql"};

constexpr NamedQuery kLongRunning{
    "long_running", "Long-running statements", "",
    R"sql(
SELECT pid, usename AS role, datname AS database, application_name, wait_event_type, wait_event,
       extract(epoch FROM clock_timestamp() - query_start)::float8 AS query_seconds,
       extract(epoch FROM clock_timestamp() - xact_start)::float8 AS xact_seconds,
       left(query, 2000) AS query
  FROM pg_stat_activity
 WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
   AND clock_timestamp() - query_start > make_interval(secs => $1::float8)
 ORDER BY query_start
 LIMIT 200
)sql"};

std::string pid_object(int64_t pid) { return fmt::format("pid {}", pid); }

}  // namespace

Report activity(pg::Connection& conn, const Options& options) {
  detail::Inspector in(conn, options, "activity", "Activity");
  if (!in.supported()) return in.finish();

  if (auto r = in.section(kSessions)) {
    int64_t client = 0, active = 0, waiting = 0, hidden = 0;
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      if (row.view("query") == kHiddenQuery) ++hidden;  // backend_type is hidden too then
      if (row.view("backend_type") != "client backend") continue;
      ++client;
      if (row.view("state") == "active") ++active;
      if (!row.is_null("wait_event_type") && row.view("wait_event_type") == "Lock") ++waiting;
    }
    in.fact({"client_sessions", "Client sessions", client, "count", "besides this one"});
    in.fact({"active_sessions", "Active", active, "count", ""});
    in.fact({"lock_waits", "Waiting for a lock", waiting, "count", ""});
    if (hidden > 0) {
      in.finding({Severity::info, "insufficient-privilege", "sessions",
                  fmt::format("the statements of {} session(s) of other roles are hidden from this role", hidden),
                  "grant the role pg_read_all_stats (part of pg_monitor)"},
                 "sessions");
    }
  }

  if (auto r = in.section(kBlocking)) {
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      if (row.int64("depth") == 0) continue;
      const int64_t root = row.int64("root_pid");
      std::string root_state;
      for (int k = 0; k < r->rows(); ++k) {
        if (r->row(k).int64("pid") == root && r->row(k).int64("depth") == 0) root_state = r->row(k).text("state");
      }
      in.finding({Severity::warning, "blocked-query", pid_object(row.int64("pid")),
                  fmt::format("pid {} has waited {} for a lock held by pid {} (blocking tree root pid {}, {})",
                              row.int64("pid"), human_seconds(row.float64("state_seconds")), row.int64("blocked_by"), root,
                              root_state.empty() ? "state unknown" : root_state),
                  root_state.rfind("idle in transaction", 0) == 0
                      ? "the root sits idle in a transaction: its application must commit or roll back "
                        "(idle_in_transaction_session_timeout bounds this)"
                      : "look at what the root session runs; an operator may end it with pg_cancel_backend(pid)"},
                 "blocking");
    }
  }

  if (auto r = in.section(kIdleInTransaction)) {
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      double idle = row.float64("idle_seconds");
      if (idle < options.idle_in_transaction_seconds) continue;
      in.finding({Severity::warning, "idle-in-transaction", pid_object(row.int64("pid")),
                  fmt::format("pid {} ({}, {}) has been idle in a transaction for {} (threshold {})", row.int64("pid"),
                              row.text("role"), row.text("application_name"), human_seconds(idle),
                              human_seconds(options.idle_in_transaction_seconds)),
                  "the application must commit or roll back; set idle_in_transaction_session_timeout to bound it"},
                 "idle_in_transaction");
    }
  }

  std::string long_explanation = fmt::format(
      "Client statements running for more than {}: they may hold locks, bloat tables and fill temp space.",
      human_seconds(options.long_running_seconds));
  if (auto r = in.section(kLongRunning, {detail::seconds_param(options.long_running_seconds)}, long_explanation)) {
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      in.finding({Severity::warning, "long-running-query", pid_object(row.int64("pid")),
                  fmt::format("pid {} ({}) has run one statement for {} (threshold {})", row.int64("pid"), row.text("role"),
                              human_seconds(row.float64("query_seconds")), human_seconds(options.long_running_seconds)),
                  "EXPLAIN it; if it must run long, give it a statement_timeout and run it off-peak"},
                 "long_running");
    }
  }
  return in.finish();
}

}  // namespace pgshift::stats
