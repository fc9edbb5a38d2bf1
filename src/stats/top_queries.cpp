// top_queries(): the statements that cost most, from pg_stat_statements (MCP `top_queries`, the
// console's Queries tab), with PgHero's advice, or what to run when the extension is missing.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "pg/quote.hpp"
#include "stats/checks.hpp"
#include "stats/diagnostics.hpp"
#include "stats/inspector.hpp"
#include "stats/values.hpp"
#include "util/error.hpp"

namespace pgshift::stats {
namespace {

using detail::NamedQuery;

constexpr NamedQuery kExtension{"queries", "Top queries", "", R"sql(
SELECT (SELECT e.extversion FROM pg_extension e WHERE e.extname = 'pg_stat_statements') AS version,
       (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_stat_statements') AS schema,
       (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS preload,
       current_database() AS database
)sql"};

// {schema} is the extension's schema, quoted; {order} one of the fixed ORDER BY columns below,
// {dir} ASC or DESC. Rows are this database's statements but the diagnostics' savepoints ($2);
// other roles' texts need pg_read_all_stats.
constexpr std::string_view kQueriesSql = R"sql(
SELECT left(s.query, 4000) AS query, s.calls,
       (s.total_exec_time / 1000)::float8 AS total_seconds, (s.mean_exec_time / 1000)::float8 AS mean_seconds,
       (s.max_exec_time / 1000)::float8 AS max_seconds, s.rows, s.shared_blks_hit, s.shared_blks_read,
       CASE WHEN s.shared_blks_hit + s.shared_blks_read > 0
            THEN (s.shared_blks_hit::float8 / (s.shared_blks_hit + s.shared_blks_read)) END AS cache_hit_ratio,
       (s.total_exec_time / nullif(sum(s.total_exec_time) OVER (), 0))::float8 AS time_share_ratio,
       r.rolname AS role, s.queryid::text AS queryid, count(*) OVER () AS total_rows
  FROM {schema}.pg_stat_statements s
  LEFT JOIN pg_roles r ON r.oid = s.userid
 WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.query NOT LIKE $2
 ORDER BY {order} {dir}, s.queryid
 LIMIT $1
)sql";

// PgHero's two questions: which statement is slowest per call (among those run often enough to
// matter), and which reads most blocks from outside shared buffers (disk or the OS cache).
constexpr std::string_view kAdviceSql = R"sql(
WITH s AS (
  SELECT s.queryid, regexp_replace(left(s.query, 300), '\s+', ' ', 'g') AS query, s.calls, s.mean_exec_time,
         s.shared_blks_read, sum(s.shared_blks_read) OVER () AS all_read
    FROM {schema}.pg_stat_statements s
   WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.query NOT LIKE $1
)
(SELECT 'slowest' AS kind, queryid::text AS queryid, query, calls, (mean_exec_time / 1000)::float8 AS mean_seconds,
        shared_blks_read, NULL::float8 AS read_share
   FROM s WHERE calls >= $2 AND mean_exec_time >= $3::float8 * 1000
  ORDER BY mean_exec_time DESC LIMIT 1)
UNION ALL
(SELECT 'most_read', queryid::text, query, calls, (mean_exec_time / 1000)::float8, shared_blks_read,
        (shared_blks_read::float8 / nullif(all_read, 0))::float8
   FROM s WHERE shared_blks_read >= $4
  ORDER BY shared_blks_read DESC LIMIT 1)
)sql";

// pg_stat_statements_info (extension 1.9, PostgreSQL 14+): when the statistics were last reset.
constexpr std::string_view kSinceSql = "SELECT stats_reset AS stats_since FROM {schema}.pg_stat_statements_info";

constexpr std::string_view kLibrary = "pg_stat_statements";

std::string_view order_column(QueryOrder order) {
  switch (order) {
    case QueryOrder::total_time: return "s.total_exec_time";
    case QueryOrder::mean_time: return "s.mean_exec_time";
    case QueryOrder::max_time: return "s.max_exec_time";
    case QueryOrder::calls: return "s.calls";
    case QueryOrder::rows: return "s.rows";
    case QueryOrder::shared_blks_hit: return "s.shared_blks_hit";
    case QueryOrder::shared_blks_read: return "s.shared_blks_read";
  }
  return "s.total_exec_time";
}

// Is pg_stat_statements in a shared_preload_libraries value ("a, 'b', $libdir/pg_stat_statements")?
bool preloads(std::string_view list) {
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = std::min(list.find(',', pos), list.size());
    std::string_view item = list.substr(pos, end - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '"' || item.front() == '\'')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '"' || item.back() == '\'')) item.remove_suffix(1);
    if (item == kLibrary || item.ends_with("/pg_stat_statements")) return true;
    pos = end + 1;
  }
  return false;
}

// "1.10" >= "1.9"
bool version_at_least(std::string_view version, int major, int minor) {
  int a = 0, b = 0;
  if (std::sscanf(std::string(version).c_str(), "%d.%d", &a, &b) < 1) return false;
  return a > major || (a == major && b >= minor);
}

// What is missing, and the statements that fix it, as a section a page shows as it is.
void setup_advice(detail::Inspector& in, bool installed, std::optional<std::string> preload, const std::string& database) {
  const bool loaded_known = preload.has_value();
  const bool loaded = loaded_known && preloads(*preload);
  std::string state = installed ? "not_loaded" : (loaded_known && !loaded) ? "missing" : "not_installed";
  in.fact({"state", "pg_stat_statements", state, "", ""});
  Section s;
  s.id = "setup";
  s.title = "Enable pg_stat_statements";
  s.explanation = "Run these as a superuser (on a managed service: its parameter group or cluster manifest for "
                  "shared_preload_libraries; on CloudNativePG, list the extension and it is loaded for you).";
  s.columns = {{"step", "count"}, {"run", "text"}, {"why", "text"}};
  int step = 0;
  if (!loaded) {
    std::string list = preload && !preload->empty() ? *preload + "," + std::string(kLibrary) : std::string(kLibrary);
    s.rows.push_back({++step, "ALTER SYSTEM SET shared_preload_libraries = " + pg::quote_literal(list) + ";",
                      loaded_known ? "the library is not in shared_preload_libraries"
                                   : "shared_preload_libraries is not readable by this role (pg_read_all_settings): "
                                     "skip this step when it already lists pg_stat_statements"});
    s.rows.push_back({++step, "-- restart the server (pg_ctl restart, or a rolling restart of the cluster)",
                      "shared_preload_libraries is read at server start only"});
  }
  if (!installed) {
    s.rows.push_back({++step, "CREATE EXTENSION pg_stat_statements;",
                      "in database " + database + ": the views are per database"});
  }
  std::string message = installed ? "pg_stat_statements is installed but not loaded (shared_preload_libraries)"
                        : state == "missing"
                            ? "pg_stat_statements is neither loaded (shared_preload_libraries) nor installed in this "
                              "database, so statement statistics are not available"
                            : "pg_stat_statements is not installed in this database, so statement statistics are not "
                              "available";
  std::string advice;
  for (const auto& row : s.rows) {
    std::string run = row[1].get<std::string>();
    if (!run.starts_with("--")) advice += (advice.empty() ? "" : " then ") + run;
    else advice += " then restart the server;";
  }
  in.finding({Severity::info, "pg-stat-statements-missing", "", message, "run: " + advice});
  in.report().sections.push_back(std::move(s));
}

void advice(detail::Inspector& in, const std::string& schema, const Options& options) {
  const std::string sql = fmt::format(fmt::runtime(kAdviceSql), fmt::arg("schema", schema));
  NamedQuery q{"queries", "Top queries", "", sql};
  auto r = in.query(q, {detail::kOwnStatementsPattern, options.slow_query_min_calls,
                        detail::seconds_param(options.slow_query_mean_seconds), options.blocks_read_min});
  if (!r) return;
  for (int i = 0; i < r->rows(); ++i) {
    auto row = r->row(i);
    std::string object = "queryid " + row.text("queryid");
    if (row.view("kind") == "slowest") {
      in.finding({Severity::info, "slowest-query", object,
                  fmt::format("the slowest statement per call: {} on average over {} calls (threshold {} over {} "
                              "calls): {}",
                              human_seconds(row.float64("mean_seconds")), row.int64("calls"),
                              human_seconds(options.slow_query_mean_seconds), options.slow_query_min_calls,
                              row.view("query")),
                  "EXPLAIN (ANALYZE, BUFFERS) it with typical parameters: a sequential scan on a large table, a "
                  "sort spilling to disk or a nested loop over many rows is the usual cause"},
                 "queries");
    } else {
      in.finding({Severity::info, "most-blocks-read", object,
                  fmt::format("reads the most blocks from outside shared buffers: {} blocks ({:.0f}% of all "
                              "statements' reads; threshold {}): {}",
                              row.int64("shared_blks_read"), row.float64("read_share") * 100, options.blocks_read_min,
                              row.view("query")),
                  "an index for its filter would let it read a few blocks instead of scanning; if it must scan, "
                  "shared_buffers smaller than its working set makes every run read again"},
                 "queries");
    }
  }
}

}  // namespace

QueryOrder query_order_from_string(std::string_view text) {
  for (QueryOrder o : kQueryOrders) {
    if (text == query_order_name(o)) return o;
  }
  throw UsageError(fmt::format("order '{}' is not one of {}", text, query_order_names()));
}

const char* query_order_name(QueryOrder order) {
  switch (order) {
    case QueryOrder::total_time: return "total_time";
    case QueryOrder::mean_time: return "mean_time";
    case QueryOrder::max_time: return "max_time";
    case QueryOrder::calls: return "calls";
    case QueryOrder::rows: return "rows";
    case QueryOrder::shared_blks_hit: return "shared_blks_hit";
    case QueryOrder::shared_blks_read: return "shared_blks_read";
  }
  return "total_time";
}

const char* query_order_column(QueryOrder order) {
  switch (order) {
    case QueryOrder::total_time: return "total_seconds";
    case QueryOrder::mean_time: return "mean_seconds";
    case QueryOrder::max_time: return "max_seconds";
    case QueryOrder::calls: return "calls";
    case QueryOrder::rows: return "rows";
    case QueryOrder::shared_blks_hit: return "shared_blks_hit";
    case QueryOrder::shared_blks_read: return "shared_blks_read";
  }
  return "total_seconds";
}

std::string query_order_names() {
  std::string out;
  for (QueryOrder o : kQueryOrders) out += (out.empty() ? "" : ", ") + std::string(query_order_name(o));
  return out;
}

Report top_queries(pg::Connection& conn, QueryOrder order, int limit, const Options& options, bool ascending) {
  detail::Inspector in(conn, options, "top_queries", "Top queries");
  if (!in.supported()) return in.finish();
  limit = std::clamp(limit, 1, kTopQueriesMaxLimit);
  auto ext = in.query(kExtension);
  if (!ext) return in.finish();
  auto info = ext->row(0);
  if (info.is_null("version")) {
    setup_advice(in, false, info.opt("preload"), info.text("database"));
    return in.finish();
  }
  if (auto preload = info.opt("preload"); preload && !preloads(*preload)) {
    setup_advice(in, true, preload, info.text("database"));
    return in.finish();
  }
  const std::string schema = pg::quote_ident(info.view("schema"));
  in.fact({"extension_version", "Extension version", info.text("version"), "", ""});
  in.fact({"order", "Ordered by", query_order_name(order), "", ""});
  in.fact({"dir", "Direction", ascending ? "asc" : "desc", "", ""});
  nlohmann::json since = nullptr;
  std::string since_hint = "pg_stat_statements_info needs PostgreSQL 14 and extension version 1.9";
  if (in.version() >= 140000 && version_at_least(info.view("version"), 1, 9)) {
    const std::string sql = fmt::format(fmt::runtime(kSinceSql), fmt::arg("schema", schema));
    NamedQuery q{"queries", "Top queries", "", sql};
    if (auto r = in.query(q); r && r->rows() == 1 && !r->row(0).is_null("stats_since")) {
      since = iso_timestamp(r->row(0).view("stats_since"));
      since_hint = "the figures count from this reset (pg_stat_statements_reset())";
    }
  }
  in.fact({"stats_since", "Counting since", since, "", since_hint});
  std::string sql = fmt::format(fmt::runtime(kQueriesSql), fmt::arg("schema", schema),
                                fmt::arg("order", order_column(order)), fmt::arg("dir", ascending ? "ASC" : "DESC"));
  NamedQuery q{"queries", "Top queries",
               "This database's statements since pg_stat_statements was reset, normalized ($1 for constants); "
               "time_share_ratio is each one's share of all statement time, shared_blks_read the blocks read from "
               "outside shared buffers.",
               sql, "pg_read_all_stats (part of pg_monitor) to see other roles' statements"};
  auto r = in.section(q, {limit, detail::kOwnStatementsPattern});
  if (!r) {
    // Loaded state unknown (shared_preload_libraries not readable) and not loaded: the view
    // raises "must be loaded via shared_preload_libraries".
    Section* s = in.find_section("queries");
    if (s && !s->findings.empty() && s->findings.back().message.find("shared_preload_libraries") != std::string::npos) {
      s->findings.pop_back();
      in.report().sections.clear();
      in.report().facts.clear();
      setup_advice(in, true, std::nullopt, info.text("database"));
    }
    return in.finish();
  }
  advice(in, schema, options);
  auto& facts = in.report().facts;
  facts.insert(facts.begin(), Fact{"state", "pg_stat_statements", "ready", "", ""});
  return in.finish();
}

}  // namespace pgshift::stats
