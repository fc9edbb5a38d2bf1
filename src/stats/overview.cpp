// overview(): the server and database at a glance (the console's Overview tab).
#include <fmt/format.h>

#include "stats/checks.hpp"
#include "stats/diagnostics.hpp"
#include "stats/inspector.hpp"
#include "stats/values.hpp"

namespace pgshift::stats {
namespace {

using detail::NamedQuery;

constexpr NamedQuery kServer{
    "server", "Server", "Version, uptime and size of this database.",
    R"sql(
SELECT current_setting('server_version') AS server_version,
       current_setting('server_version_num')::int AS server_version_num,
       pg_postmaster_start_time() AS started_at,
       extract(epoch FROM clock_timestamp() - pg_postmaster_start_time())::float8 AS uptime_seconds,
       current_database() AS database,
       pg_database_size(current_database()) AS database_size_bytes,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS reserved_connections,
       pg_is_in_recovery() AS in_recovery
)sql"};

constexpr NamedQuery kDatabaseStats{
    "database_stats", "Database statistics",
    "Commits, rollbacks, deadlocks, temporary files and the buffer cache hit ratio since the statistics were reset.",
    R"sql(
SELECT (SELECT sum(numbackends) FROM pg_stat_database)::bigint AS connections,
       xact_commit AS commits, xact_rollback AS rollbacks, deadlocks, temp_files, temp_bytes,
       blks_hit + blks_read AS blocks,
       CASE WHEN blks_hit + blks_read > 0 THEN blks_hit::float8 / (blks_hit + blks_read) END AS cache_hit_ratio,
       stats_reset AS stats_reset_at
  FROM pg_stat_database WHERE datname = current_database()
)sql"};

constexpr NamedQuery kConnections{
    "connections", "Connections by state",
    "Sessions by backend type and state; client backends count against max_connections.",
    R"sql(
SELECT backend_type, coalesce(state, '') AS state, count(*) AS sessions,
       max(extract(epoch FROM clock_timestamp() - state_change))::float8 AS longest_in_state_seconds
  FROM pg_stat_activity
 GROUP BY 1, 2
 ORDER BY backend_type <> 'client backend', count(*) DESC
)sql"};

// Excludes this session, which is inside the report's own transaction.
constexpr NamedQuery kOldestXact{
    "oldest_transaction", "Oldest transaction",
    "The longest-open transaction holds back vacuum for every table.",
    R"sql(
SELECT pid, usename AS role, datname AS database, application_name, state,
       extract(epoch FROM clock_timestamp() - xact_start)::float8 AS xact_seconds, age(backend_xmin) AS xmin_age
  FROM pg_stat_activity
 WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()
 ORDER BY xact_start LIMIT 1
)sql"};

constexpr NamedQuery kDatabases{
    "databases", "Transaction ID wraparound",
    "Age of each database's oldest unfrozen transaction ID; at 2^31 the server stops accepting writes.",
    R"sql(
SELECT datname AS database, age(datfrozenxid) AS xid_age, mxid_age(datminmxid) AS mxid_age,
       (age(datfrozenxid) / 2147483648.0)::float8 AS wraparound_ratio,
       current_setting('autovacuum_freeze_max_age')::bigint AS autovacuum_freeze_max_age
  FROM pg_database
 ORDER BY age(datfrozenxid) DESC
)sql"};

// The owning column's type caps a sequence too (a bigint sequence behind an integer column).
// last_value needs SELECT or USAGE on the sequence; it is NULL otherwise (as in pg_sequences).
constexpr NamedQuery kSequences{
    "sequences", "Sequences near exhaustion",
    "Sequences by the share of their range (or their column's type) already used.",
    R"sql(
WITH s AS (
  SELECT n.nspname AS schema, c.relname AS name, format_type(q.seqtypid, NULL) AS data_type, q.seqincrement,
         q.seqcycle AS cycles, q.seqmin, q.seqmax,
         CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE') THEN pg_sequence_last_value(c.oid) END AS last_value,
         col.owned_by, col.column_type, col.column_max
    FROM pg_sequence q
    JOIN pg_class c ON c.oid = q.seqrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN LATERAL (
      SELECT format('%s.%s.%s', tn.nspname, t.relname, a.attname) AS owned_by,
             format_type(a.atttypid, NULL) AS column_type,
             CASE a.atttypid WHEN 21 THEN 32767 WHEN 23 THEN 2147483647 END AS column_max
        FROM pg_depend d
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        JOIN pg_class t ON t.oid = a.attrelid
        JOIN pg_namespace tn ON tn.oid = t.relnamespace
       WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
         AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
       LIMIT 1) col ON true
   WHERE n.nspname !~ $1
), r AS (
  SELECT *, CASE WHEN seqincrement > 0 THEN least(seqmax, coalesce(column_max, seqmax)) ELSE seqmax END AS effective_max
    FROM s
)
SELECT schema, name, data_type, owned_by, column_type, last_value, seqmin AS min_value, effective_max AS max_value,
       seqincrement AS increment_by, cycles,
       CASE WHEN seqincrement > 0 THEN effective_max::numeric - coalesce(last_value, seqmin)
            ELSE coalesce(last_value, seqmax)::numeric - seqmin END AS remaining,
       CASE WHEN effective_max::numeric = seqmin THEN 1
            WHEN seqincrement > 0 THEN ((coalesce(last_value, seqmin)::numeric - seqmin) / (effective_max::numeric - seqmin))::float8
            ELSE ((seqmax::numeric - coalesce(last_value, seqmax)) / (seqmax::numeric - seqmin))::float8 END AS used_ratio
  FROM r
 ORDER BY used_ratio DESC, schema, name
 LIMIT 50
)sql"};

}  // namespace

Report overview(pg::Connection& conn, const Options& options) {
  detail::Inspector in(conn, options, "overview", "Overview");
  if (!in.supported()) return in.finish();

  int64_t max_connections = 0;
  if (auto r = in.query(kServer); r && r->rows() == 1) {
    auto row = r->row(0);
    max_connections = row.int64("max_connections");
    in.fact({"server_version", "PostgreSQL", row.text("server_version"), "", ""});
    in.fact({"uptime_seconds", "Uptime", row.float64("uptime_seconds"), "seconds", "since " + iso_timestamp(row.view("started_at"))});
    in.fact({"database", "Database", row.text("database"), "", ""});
    in.fact({"database_size_bytes", "Database size", row.int64("database_size_bytes"), "bytes", ""});
    in.fact({"max_connections", "max_connections", row.int64("max_connections"), "count",
             fmt::format("{} reserved for superusers", row.int64("reserved_connections"))});
    in.fact({"in_recovery", "Standby", row.boolean("in_recovery"), "", "true on a standby (read-only replica)"});
  }

  if (auto r = in.query(kDatabaseStats); r && r->rows() == 1) {
    auto row = r->row(0);
    in.fact({"connections", "Connections", row.int64("connections"), "count",
             "sessions connected to a database (pg_stat_database.numbackends), this one included"});
    if (auto c = connections_check(row.int64("connections"), max_connections, options)) in.finding(*c, "connections");
    nlohmann::json ratio = row.is_null("cache_hit_ratio") ? nlohmann::json(nullptr) : nlohmann::json(row.float64("cache_hit_ratio"));
    in.fact({"cache_hit_ratio", "Cache hit ratio", ratio, "ratio", "share of block reads served from shared_buffers; aim for 0.99"});
    in.fact({"commits", "Commits", row.int64("commits"), "count", ""});
    in.fact({"rollbacks", "Rollbacks", row.int64("rollbacks"), "count", ""});
    in.fact({"deadlocks", "Deadlocks", row.int64("deadlocks"), "count", ""});
    in.fact({"temp_bytes", "Temporary files written", row.int64("temp_bytes"), "bytes",
             fmt::format("{} files; queries that spill to disk want more work_mem", row.int64("temp_files"))});
    in.fact({"stats_reset_at", "Statistics since",
             row.is_null("stats_reset_at") ? nlohmann::json(nullptr) : nlohmann::json(iso_timestamp(row.view("stats_reset_at"))),
             "", "null: never reset since the cluster was created"});
    if (!row.is_null("cache_hit_ratio")) {
      if (auto f = cache_hit_check(row.float64("cache_hit_ratio"), row.int64("blocks"), options)) in.finding(*f);
    }
    if (row.int64("deadlocks") > 0) {
      in.finding({Severity::info, "deadlocks", "",
                  fmt::format("{} deadlock(s) since the statistics were reset", row.int64("deadlocks")),
                  "the server log names the statements (log_lock_waits = on helps): take locks in one order"});
    }
  }

  in.section(kConnections);

  if (auto r = in.query(kOldestXact)) {
    if (r->rows() == 1) {
      auto row = r->row(0);
      in.fact({"oldest_xact_seconds", "Oldest transaction", row.float64("xact_seconds"), "seconds",
               fmt::format("pid {} ({}, {})", row.int64("pid"), row.text("role"), row.text("state"))});
      if (auto f = long_transaction_check(static_cast<int>(row.int64("pid")), row.float64("xact_seconds"), options)) {
        in.finding(*f);
      }
    } else {
      in.fact({"oldest_xact_seconds", "Oldest transaction", nullptr, "seconds", "no other transaction is open"});
    }
  }

  if (auto r = in.section(kDatabases)) {
    int64_t max_age = 0;
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      max_age = std::max(max_age, row.int64("xid_age"));
      if (auto f = wraparound_check(row.view("database"), row.int64("xid_age"), options)) in.finding(*f, "databases");
    }
    in.fact({"xid_age", "XID age (oldest database)", max_age, "count", "transaction IDs since the oldest unfrozen one; limit 2^31"});
  }

  if (auto r = in.section(kSequences, {detail::kInternalSchemas})) {
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      if (row.is_null("used_ratio")) continue;
      std::string name = row.text("schema") + "." + row.text("name");
      if (auto f = sequence_check(name, row.float64("used_ratio"), row.boolean("cycles"), row.view("remaining"), options)) {
        in.finding(*f, "sequences");
      }
    }
  }
  return in.finish();
}

}  // namespace pgshift::stats
