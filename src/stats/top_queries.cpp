// top_queries(): the statements that cost most, from pg_stat_statements (MCP `top_queries`).
#include <fmt/format.h>

#include <algorithm>

#include "pg/quote.hpp"
#include "stats/diagnostics.hpp"
#include "stats/inspector.hpp"
#include "util/error.hpp"

namespace pgshift::stats {
namespace {

using detail::NamedQuery;

constexpr NamedQuery kExtension{"queries", "Top queries", "", R"sql(
SELECT e.extversion AS version, n.nspname AS schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'pg_stat_statements'
)sql"};

// {schema} is the extension's schema, quoted; {order} one of the fixed ORDER BY columns below.
// Rows are this database's statements but the diagnostics' savepoints ($2); other roles' texts
// need pg_read_all_stats.
constexpr std::string_view kQueriesSql = R"sql(
SELECT s.queryid::text AS queryid, left(s.query, 4000) AS query, s.calls,
       (s.total_exec_time / 1000)::float8 AS total_seconds, (s.mean_exec_time / 1000)::float8 AS mean_seconds,
       s.rows,
       CASE WHEN s.shared_blks_hit + s.shared_blks_read > 0
            THEN (s.shared_blks_hit::float8 / (s.shared_blks_hit + s.shared_blks_read)) END AS cache_hit_ratio,
       (s.total_exec_time / nullif(sum(s.total_exec_time) OVER (), 0))::float8 AS time_share_ratio,
       r.rolname AS role
  FROM {schema}.pg_stat_statements s
  LEFT JOIN pg_roles r ON r.oid = s.userid
 WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.query NOT LIKE $2
 ORDER BY {order} DESC, s.queryid
 LIMIT $1
)sql";

constexpr std::string_view kEnableAdvice =
    "add pg_stat_statements to shared_preload_libraries (restart the server; on CloudNativePG it is managed "
    "when the extension is listed), then CREATE EXTENSION pg_stat_statements in this database";

std::string_view order_column(QueryOrder order) {
  switch (order) {
    case QueryOrder::total_time: return "s.total_exec_time";
    case QueryOrder::mean_time: return "s.mean_exec_time";
    case QueryOrder::calls: return "s.calls";
  }
  return "s.total_exec_time";
}

}  // namespace

QueryOrder query_order_from_string(std::string_view text) {
  for (QueryOrder o : {QueryOrder::total_time, QueryOrder::mean_time, QueryOrder::calls}) {
    if (text == query_order_name(o)) return o;
  }
  throw UsageError(fmt::format("order '{}' is not one of total_time, mean_time, calls", text));
}

const char* query_order_name(QueryOrder order) {
  switch (order) {
    case QueryOrder::total_time: return "total_time";
    case QueryOrder::mean_time: return "mean_time";
    case QueryOrder::calls: return "calls";
  }
  return "total_time";
}

Report top_queries(pg::Connection& conn, QueryOrder order, int limit, const Options& options) {
  detail::Inspector in(conn, options, "top_queries", "Top queries");
  if (!in.supported()) return in.finish();
  limit = std::clamp(limit, 1, kTopQueriesMaxLimit);
  auto ext = in.query(kExtension);
  if (!ext) return in.finish();
  if (ext->rows() == 0) {
    in.finding({Severity::info, "pg-stat-statements-missing", "",
                "pg_stat_statements is not installed in this database, so statement statistics are not available",
                std::string(kEnableAdvice)});
    return in.finish();
  }
  in.fact({"extension_version", "pg_stat_statements", ext->row(0).text("version"), "", ""});
  in.fact({"order", "Ordered by", query_order_name(order), "", ""});
  std::string sql = fmt::format(fmt::runtime(kQueriesSql), fmt::arg("schema", pg::quote_ident(ext->row(0).view("schema"))),
                                fmt::arg("order", order_column(order)));
  NamedQuery q{"queries", "Top queries",
               "The statements of this database that took most time (or ran most often) since pg_stat_statements was "
               "reset; time_share_ratio is each one's share of all statement time.",
               sql, "pg_read_all_stats (part of pg_monitor) to see other roles' statements"};
  auto r = in.section(q, {limit, detail::kOwnStatementsPattern});
  if (!r) {
    // Installed but not preloaded: the view raises "must be loaded via shared_preload_libraries".
    Section* s = in.find_section("queries");
    if (s && !s->findings.empty() && s->findings.back().message.find("shared_preload_libraries") != std::string::npos) {
      s->findings.back() = {Severity::info, "pg-stat-statements-missing", "",
                            "pg_stat_statements is installed but not loaded (shared_preload_libraries)",
                            std::string(kEnableAdvice)};
    }
  }
  return in.finish();
}

}  // namespace pgshift::stats
