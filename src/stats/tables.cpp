// tables(): every user table with its sizes, scans, dead tuples, maintenance and estimated bloat
// (the console's Tables tab; schema and name are separate columns for its table browser links).
#include <fmt/format.h>

#include "stats/checks.hpp"
#include "stats/diagnostics.hpp"
#include "stats/inspector.hpp"
#include "stats/locked_tables.hpp"

namespace pgshift::stats {
namespace {

using detail::NamedQuery;

inline constexpr int kTableLimit = 2'000;

// Bloat is estimated the way the common "table bloat" queries do: the pages the live rows need
// (24-byte header + average width from pg_stats, MAXALIGNed, + a 4-byte line pointer, under the
// fillfactor) against the pages the table has (relpages, as of its last VACUUM/ANALYZE). It is
// NULL when the table was never analyzed or its columns are not readable by this role (pg_stats
// shows only readable columns).
//
// Sizes come from the size functions, except for a table that another session locks ACCESS
// EXCLUSIVE (itself, its TOAST table or one of its indexes; $3, from locked_relations()): a
// size function would wait for that lock, so its sizes are relpages x block size from pg_class
// (as of its last VACUUM/ANALYZE), which takes no lock.
constexpr NamedQuery kTables{
    "tables", "Tables",
    "User tables by total size: table, index and TOAST bytes, row estimates, sequential vs index scans, dead "
    "tuples, last (auto)vacuum and analyze, estimated bloat.",
    R"sql(
WITH w AS (
  SELECT schemaname, tablename, sum((1 - coalesce(null_frac, 0)) * coalesce(avg_width, 0)) AS width
    FROM pg_stats WHERE NOT inherited AND schemaname !~ $1 GROUP BY 1, 2
), t AS (
  SELECT s.*, c.relpages, c.reltuples, c.reltoastrelid, w.width,
         current_setting('block_size')::int AS block,
         coalesce((SELECT option_value::int FROM pg_options_to_table(c.reloptions) WHERE option_name = 'fillfactor'), 100) AS ff,
         (s.relid = ANY($3::oid[]) OR c.reltoastrelid = ANY($3::oid[])
          OR EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = s.relid AND x.indexrelid = ANY($3::oid[]))) AS locked
    FROM pg_stat_user_tables s
    JOIN pg_class c ON c.oid = s.relid
    LEFT JOIN w ON w.schemaname = s.schemaname AND w.tablename = s.relname
   WHERE s.schemaname !~ $1
), e AS (
  SELECT t.*,
         CASE WHEN width IS NOT NULL AND reltuples >= 0 AND relpages > 0 THEN
           ceil(reltuples / greatest(floor((block - 24) * ff / 100.0 / (24 + ceil(width / 8) * 8 + 4)), 1))
         END AS expected_pages,
         CASE WHEN locked THEN
           (SELECT coalesce(sum(ic.relpages), 0) FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
             WHERE x.indrelid = t.relid)::bigint * block END AS index_pages_bytes,
         CASE WHEN locked THEN
           (SELECT coalesce(sum(tc.relpages), 0) FROM pg_class tc
             WHERE tc.oid = t.reltoastrelid
                OR tc.oid IN (SELECT x.indexrelid FROM pg_index x WHERE x.indrelid = t.reltoastrelid))::bigint * block
         END AS toast_pages_bytes
    FROM t
), z AS (
  SELECT e.*,
         CASE WHEN locked THEN relpages::bigint * block ELSE pg_relation_size(relid) END AS table_bytes,
         CASE WHEN locked THEN index_pages_bytes ELSE pg_indexes_size(relid) END AS index_bytes,
         CASE WHEN reltoastrelid = 0 THEN 0 WHEN locked THEN toast_pages_bytes
              ELSE pg_total_relation_size(reltoastrelid) END AS toast_bytes,
         CASE WHEN locked THEN relpages::bigint * block + index_pages_bytes + toast_pages_bytes
              ELSE pg_total_relation_size(relid) END AS total_bytes
    FROM e
)
SELECT schemaname AS schema, relname AS name,
       total_bytes, table_bytes, index_bytes, toast_bytes,
       greatest(reltuples, 0)::bigint AS estimated_rows,
       seq_scan, seq_tup_read, idx_scan, n_live_tup AS live_tuples, n_dead_tup AS dead_tuples,
       n_mod_since_analyze AS modified_since_analyze,
       last_vacuum AS last_vacuum_at, last_autovacuum AS last_autovacuum_at,
       last_analyze AS last_analyze_at, last_autoanalyze AS last_autoanalyze_at,
       (greatest(relpages - expected_pages, 0) * block)::bigint AS bloat_bytes,
       CASE WHEN expected_pages IS NOT NULL THEN (greatest(relpages - expected_pages, 0) / relpages)::float8 END
         AS bloat_ratio,
       count(*) OVER () AS total_rows
  FROM z
 ORDER BY total_bytes DESC, schemaname, relname
 LIMIT $2
)sql"};

constexpr NamedQuery kTableCount{"tables", "Tables", "", R"sql(
SELECT count(*) AS tables FROM pg_stat_user_tables WHERE schemaname !~ $1
)sql"};

}  // namespace

Report tables(pg::Connection& conn, const Options& options) {
  detail::Inspector in(conn, options, "tables", "Tables");
  if (!in.supported()) return in.finish();
  const pg::Params schemas{detail::kInternalSchemas};
  if (auto n = in.query(kTableCount, schemas)) {
    int64_t count = n->scalar_int64();
    in.fact({"table_count", "Tables", count, "count",
             count > kTableLimit ? fmt::format("the {} largest are listed", kTableLimit) : ""});
  }
  detail::LockedRelations locked = detail::locked_relations(in);
  auto r = in.section(kTables, {detail::kInternalSchemas, kTableLimit, locked.oids});
  detail::add_locked_finding(in, locked,
                             "their sizes are estimated from pg_class (relpages at their last VACUUM or ANALYZE)",
                             kTables.id);
  if (!r) return in.finish();
  int64_t total = 0, dead = 0;
  for (int i = 0; i < r->rows(); ++i) {
    auto row = r->row(i);
    std::string name = row.text("schema") + "." + row.text("name");
    total += row.int64("total_bytes");
    dead += row.int64("dead_tuples");
    if (auto f = dead_tuples_check(name, row.int64("live_tuples"), row.int64("dead_tuples"), options)) {
      in.finding(*f, "tables");
    }
    if (!row.is_null("bloat_ratio")) {
      if (auto f = bloat_check(name, row.int64("bloat_bytes"), row.float64("bloat_ratio"), options)) in.finding(*f, "tables");
    }
  }
  in.fact({"total_bytes", "Size of the listed tables", total, "bytes", "with indexes and TOAST"});
  in.fact({"dead_tuples", "Dead tuples", dead, "count", "removed by VACUUM"});
  return in.finish();
}

}  // namespace pgshift::stats
