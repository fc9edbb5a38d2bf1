// The diagnostics behind the console's tabs (/api/overview, /api/tables, ...), the MCP server's
// `health`, `top_queries` and `migration_status` tools, and the database gauges of /metrics.
//
// Every function here takes an open connection to the inspected database and returns a
// stats::Report (stats/report.hpp). Contract common to all of them:
//   - Fixed SQL only: each diagnostic is one named constexpr query (with its one-line
//     explanation), values bound; no request text ever reaches the SQL.
//   - Each query runs in its own BEGIN READ ONLY transaction with a short statement_timeout
//     (Options::statement_timeout), TimeZone UTC and DateStyle ISO set LOCAL, then ROLLBACK:
//     nothing is written, nothing is cancelled or terminated, no session state is left behind.
//   - Queries are chosen by server_version_num (PostgreSQL 13–17; tested on 15). Below 13 the
//     report holds one critical finding `unsupported-version` and no sections; above 17 the 17
//     queries run and an info finding `untested-version` is added.
//   - A restricted role (at best a pg_monitor member) still gets a report: a view or function it
//     may not read (SQLSTATE 42501), a statement timeout (57014), or a missing object becomes a
//     finding `insufficient-privilege` / `query-timeout` / `query-failed` naming the section and
//     the missing privilege, and the other sections are still filled. These functions throw only
//     when the server cannot be queried at all (pg::SqlError for a broken connection,
//     pg::ConnectError when a reset fails); gauges() never throws.
//   - Row values are JSON: integers as numbers up to 2^53 (larger int8/numeric values as
//     strings), floats and fractional numerics as numbers, booleans, json/jsonb embedded,
//     timestamps as ISO-8601 text in UTC ("2026-12-01T19:41:39.123Z"), LSNs as text, SQL NULL as
//     null. Column types (SectionColumn::type) follow the column names: *_bytes "bytes",
//     *_seconds "seconds", *_ratio "ratio", timestamp columns "timestamp", pg_lsn "lsn",
//     boolean "bool", json "json", other integers "count", the rest "text".
//   - Report::findings holds every finding (sections' included), most severe first.
//
// Report ids, sections and finding codes (also in docs/diagnostics.md):
//   overview     facts: server_version, uptime_seconds, database, database_size_bytes,
//                max_connections, in_recovery, connections, cache_hit_ratio, commits, rollbacks,
//                deadlocks, temp_bytes, stats_reset_at, oldest_xact_seconds, xid_age; sections:
//                connections, databases (wraparound per database), sequences. Findings:
//                cache-hit-ratio, connections-near-max, deadlocks (info), long-transaction,
//                xid-wraparound, sequence-exhaustion.
//   tables       section tables (schema, name separate columns). Findings: dead-tuples,
//                table-bloat, table-locked (another session locks a table ACCESS EXCLUSIVE: its
//                sizes are pg_class estimates, stats/locked_tables.hpp).
//   indexes      facts index_count, index_bytes, unused_index_max_scans, stats_age_seconds;
//                sections indexes, unused, duplicate, invalid, missing. Findings: unused-index
//                (only once the statistics are Options::unused_index_min_stats_seconds old;
//                before, one stats-too-young info), duplicate-index (INCLUDE columns, collations,
//                NULLS NOT DISTINCT and constraints considered), invalid-index, missing-index
//                (info), table-locked (a locked table's indexes are left out).
//   A section whose query stopped at its LIMIT carries total_rows (stats/report.hpp).
//   activity     sections sessions, blocking, idle_in_transaction, long_running. Findings:
//                blocked-query, idle-in-transaction, long-running-query, insufficient-privilege
//                (info: other roles' statements hidden).
//   replication  sections standbys, slots, subscriptions, subscription_stats (15+). Findings:
//                replication-lag, slot-inactive, slot-wal-lost, slot-wal-unreserved,
//                slot-retained-wal, subscription-disabled, subscription-worker-down,
//                subscription-errors.
//   archiver     the console's Backups tab (top half); fact verdict (ok/off/failing/stale/idle/
//                standby), section archiver. Findings: archiver-failing (critical),
//                archiver-stale (warning), archive-mode-off, archiver-idle, archiver-standby (info).
//   migration    from schema pgshift (state::Journal readers). Facts: migration_id, phase,
//                direction, source, target (redacted), subscription, lag_seconds (syncing) or
//                lag_bytes (cut over, reverse slot), soak_state, soak_seconds, last_verify
//                ("passed"/"failed"; hint: summary, when, command, mode), last_verify_at;
//                sections: subscription (its tables), journal (newest first, at most
//                Options::journal_limit rows). Findings: no-migration (info, the only content
//                when nothing is recorded), migration-step-failed, soak-failed, verify-failed,
//                subscription-disabled, subscription-worker-down, subscription-errors,
//                slot-inactive.
//   health       the findings of the checks below from overview, tables, indexes, activity,
//                replication and archiver; facts critical, warning, info, status; section checks:
//                one row per check (cache-hit, connections, wraparound, sequences,
//                long-transactions, bloat, unused-indexes, duplicate-indexes, invalid-indexes,
//                long-running-queries, blocked-queries, idle-in-transaction, replication,
//                archiver) with its status ok/info/warning/critical/unknown.
//   top_queries  section queries from pg_stat_statements (see top_queries() below); finding
//                pg-stat-statements-missing and a section setup (what to run) when the
//                extension is not installed in the database or not loaded.
//   settings     stats/settings.hpp.
// Any report may also carry insufficient-privilege, query-timeout, query-failed,
// unsupported-version or untested-version findings (see above).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pg/connection.hpp"
#include "stats/report.hpp"
#include "util/duration.hpp"

namespace pgshift::stats {

// Thresholds and limits. Defaults are what the console and MCP use; tests lower some of them to
// provoke findings quickly. Every finding's message states the threshold it crossed.
struct Options {
  util::Millis statement_timeout{3'000};      // per diagnostic query

  // overview
  double cache_hit_warning = 0.99;             // heap+index hit ratio below this: warning
  double cache_hit_min_reads = 10'000;         // ... once this many blocks were read at all
  double connections_warning_ratio = 0.8;      // used / max_connections
  int64_t xid_age_warning = 1'000'000'000;     // age(datfrozenxid); wraparound stops writes at ~2^31
  int64_t xid_age_critical = 1'500'000'000;
  double sequence_warning_ratio = 0.8;         // fraction of the sequence's range used
  double sequence_critical_ratio = 0.95;

  // tables
  int64_t dead_tuples_min = 1'000;             // dead tuples ...
  double dead_tuples_ratio = 0.2;              // ... and dead / (live + dead) above this
  double bloat_warning_ratio = 0.5;            // estimated wasted fraction of a table/index ...
  int64_t bloat_min_bytes = 10ll << 20;        // ... that wastes at least this much

  // indexes
  int64_t unused_index_max_scans = 0;          // idx_scan <= this since the stats reset: unused
                                               // (unique and primary-key indexes are never unused)
  double unused_index_min_stats_seconds = 7 * 86'400;  // no unused-index finding (DROP advice) before
                                               // the statistics are this old: stats-too-young instead
  int64_t missing_index_min_rows = 10'000;     // tables with at least this many rows ...
  int64_t missing_index_min_seq_scans = 100;   // ... read by this many sequential scans ...
                                               // ... more often than by an index

  // activity
  double long_running_seconds = 60;            // active statement running longer: warning
  double idle_in_transaction_seconds = 60;     // idle in transaction longer: warning
  double long_transaction_seconds = 3'600;     // oldest open transaction older: warning

  // replication
  int64_t lag_warning_bytes = 256ll << 20;     // standby replay / slot / subscription lag
  double lag_warning_seconds = 300;
  int64_t slot_retained_warning_bytes = 1ll << 30;

  // archiver
  double archiver_stale_seconds = 1'800;       // last archived segment older (while WAL is written)

  // migration
  int journal_limit = 50;                      // journal entries shown, newest first

  // top_queries advice
  double slow_query_mean_seconds = 0.1;        // slowest-query: mean time at least this ...
  int64_t slow_query_min_calls = 10;           // ... over at least this many calls
  int64_t blocks_read_min = 10'000;            // most-blocks-read: at least this many blocks read
};

Report overview(pg::Connection& conn, const Options& options = {});
Report tables(pg::Connection& conn, const Options& options = {});
Report indexes(pg::Connection& conn, const Options& options = {});
Report activity(pg::Connection& conn, const Options& options = {});
Report replication(pg::Connection& conn, const Options& options = {});
Report archiver(pg::Connection& conn, const Options& options = {});
// conn: the migration's target database (where schema pgshift lives).
Report migration(pg::Connection& conn, const Options& options = {});
Report health(pg::Connection& conn, const Options& options = {});

// pg_stat_statements, ordered by one of its figures (descending unless ascending).
enum class QueryOrder { total_time, mean_time, max_time, calls, rows, shared_blks_hit, shared_blks_read };
inline constexpr QueryOrder kQueryOrders[] = {QueryOrder::total_time, QueryOrder::mean_time,  QueryOrder::max_time,
                                              QueryOrder::calls,      QueryOrder::rows,       QueryOrder::shared_blks_hit,
                                              QueryOrder::shared_blks_read};
// The names above ("total_time", ...); throws UsageError naming the accepted values otherwise.
QueryOrder query_order_from_string(std::string_view text);
const char* query_order_name(QueryOrder order);
// The section column an order sorts ("total_seconds", "calls", ...), for sortable headers.
const char* query_order_column(QueryOrder order);
std::string query_order_names();  // "total_time, mean_time, ..." for messages
inline constexpr int kTopQueriesMaxLimit = 500;  // limit is clamped to [1, kTopQueriesMaxLimit]
// Section queries: query, calls, total_seconds, mean_seconds, max_seconds, rows,
// shared_blks_hit, shared_blks_read, cache_hit_ratio, time_share_ratio (share of all statements'
// time), role, queryid. Facts: state ("ready"; else "not_installed", "not_loaded" or "missing", with a
// section setup listing the statements to run), extension_version, order, dir, stats_since
// (pg_stat_statements_info.stats_reset on 14+, else null). Findings (info, PgHero's advice):
// slowest-query (highest mean time, Options::slow_query_*), most-blocks-read (reads most blocks
// from outside shared buffers, Options::blocks_read_min), pg-stat-statements-missing.
Report top_queries(pg::Connection& conn, QueryOrder order = QueryOrder::total_time, int limit = 20,
                   const Options& options = {}, bool ascending = false);

// One value for /metrics. type is "gauge" or "counter"; labels in order, values unescaped
// (the renderer in src/http escapes them).
struct Gauge {
  std::string name;
  std::string help;
  std::string type;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// The database gauges, read at scrape time. Never throws: when the database cannot be queried
// the list is just pgshift_pg_up 0. Otherwise:
//   pgshift_pg_up                                   gauge   1
//   pgshift_archiver_archived_count                 counter pg_stat_archiver.archived_count
//   pgshift_archiver_failed_count                   counter pg_stat_archiver.failed_count
//   pgshift_archiver_seconds_since_last_archival    gauge   now - last_archived_time (absent when never)
//   pgshift_archiver_seconds_since_last_failure     gauge   now - last_failed_time (absent when never)
//   pgshift_replication_slot_retained_wal_bytes     gauge   {slot} current WAL - restart_lsn
//   pgshift_replication_slot_active                 gauge   {slot} 1/0
//   pgshift_replication_slot_confirmed_lag_bytes    gauge   {slot} current WAL - confirmed_flush_lsn
//                                                           (logical slots: a subscription's or
//                                                           pgshift sync apply-back's lag)
//   pgshift_subscription_lag_bytes                  gauge   {subscription} received - reported
//   pgshift_subscription_lag_seconds                gauge   {subscription} since the last message
//   pgshift_migration_phase                         gauge   {phase} 1 for the current phase
//   pgshift_migration_soak_seconds                  gauge   clean soak time, while a soak runs
// (the archiver meanings match CNPG's cnpg_pg_stat_archiver_*; a gauge whose source is not
// readable by the role is left out.)
std::vector<Gauge> gauges(pg::Connection& conn, const Options& options = {});

}  // namespace pgshift::stats
