// indexes(): sizes and scans, unused, duplicate/redundant, invalid, missing-index candidates
// (the console's Indexes tab).
#include <fmt/format.h>

#include "stats/checks.hpp"
#include "stats/diagnostics.hpp"
#include "pg/quote.hpp"
#include "stats/inspector.hpp"
#include "stats/values.hpp"

namespace pgshift::stats {
namespace {

using detail::NamedQuery;

constexpr NamedQuery kIndexes{
    "indexes", "Indexes", "User indexes by size, with their scans since the statistics were reset.",
    R"sql(
SELECT s.schemaname AS schema, s.relname AS "table", s.indexrelname AS index,
       pg_relation_size(s.indexrelid) AS index_bytes, s.idx_scan AS scans, s.idx_tup_read AS tuples_read,
       i.indisunique AS "unique", i.indisprimary AS "primary", i.indisvalid AS valid,
       pg_get_indexdef(s.indexrelid) AS definition
  FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
 WHERE s.schemaname !~ $1
 ORDER BY pg_relation_size(s.indexrelid) DESC, 1, 2, 3
 LIMIT 2000
)sql"};

// Unique and primary-key indexes enforce constraints, and exclusion constraints too: never unused.
constexpr NamedQuery kUnused{
    "unused", "Unused indexes", "",
    R"sql(
SELECT s.schemaname AS schema, s.relname AS "table", s.indexrelname AS index,
       pg_relation_size(s.indexrelid) AS index_bytes, s.idx_scan AS scans,
       pg_get_indexdef(s.indexrelid) AS definition
  FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
 WHERE s.schemaname !~ $1 AND s.idx_scan <= $2 AND i.indisvalid
   AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = s.indexrelid)
 ORDER BY pg_relation_size(s.indexrelid) DESC, 1, 2, 3
 LIMIT 200
)sql"};

constexpr NamedQuery kStatsSince{"unused", "Unused indexes", "", R"sql(
SELECT stats_reset AS stats_reset_at, pg_is_in_recovery() AS in_recovery
  FROM pg_stat_database WHERE datname = current_database()
)sql"};

// a is redundant with b: same table, access method, expressions and predicate, and a's key
// columns (with their operator classes and sort options) are a prefix of b's. A unique a is
// redundant only with a unique b on the same columns. Of two identical indexes, the newer one
// (higher OID) is reported.
constexpr NamedQuery kDuplicate{
    "duplicate", "Duplicate and redundant indexes",
    "Indexes whose columns are a prefix of (or equal to) another index's on the same table: the other one serves "
    "their queries.",
    R"sql(
WITH x AS (
  SELECT i.indexrelid, i.indrelid, c.relam, n.nspname, c.relname AS index_name, t.relname AS table_name,
         i.indisunique, i.indisprimary,
         (string_to_array(i.indkey::text, ' '))[1:i.indnkeyatts] AS keys,
         i.indclass::text AS classes, i.indoption::text AS options,
         coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS exprs,
         coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS pred
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname !~ $1 AND i.indisvalid
)
SELECT a.nspname AS schema, a.table_name AS "table", a.index_name AS index, b.index_name AS covered_by,
       pg_relation_size(a.indexrelid) AS index_bytes,
       pg_get_indexdef(a.indexrelid) AS definition, pg_get_indexdef(b.indexrelid) AS covered_by_definition
  FROM x a JOIN x b ON a.indrelid = b.indrelid AND a.indexrelid <> b.indexrelid AND a.relam = b.relam
   AND a.exprs = b.exprs AND a.pred = b.pred
   AND b.keys[1:cardinality(a.keys)] = a.keys
   AND (b.classes = a.classes OR b.classes LIKE a.classes || ' %')
   AND (b.options = a.options OR b.options LIKE a.options || ' %')
 WHERE NOT a.indisprimary
   AND (NOT a.indisunique OR (b.indisunique AND b.keys = a.keys))
   AND NOT (b.keys = a.keys AND b.classes = a.classes AND b.options = a.options
            AND a.indisunique = b.indisunique AND a.indisprimary = b.indisprimary AND a.indexrelid < b.indexrelid)
 ORDER BY pg_relation_size(a.indexrelid) DESC, 1, 2, 3
 LIMIT 200
)sql"};

constexpr NamedQuery kInvalid{
    "invalid", "Invalid indexes",
    "Indexes left invalid by a failed CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY: writes maintain them, "
    "queries never use them.",
    R"sql(
SELECT n.nspname AS schema, t.relname AS "table", c.relname AS index, pg_relation_size(c.oid) AS index_bytes,
       i.indisready AS ready, pg_get_indexdef(c.oid) AS definition
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT i.indisvalid AND n.nspname !~ $1
 ORDER BY 1, 2, 3
)sql"};

constexpr NamedQuery kMissing{
    "missing", "Missing-index candidates", "",
    R"sql(
SELECT s.schemaname AS schema, s.relname AS name, s.seq_scan, s.seq_tup_read,
       (s.seq_tup_read / nullif(s.seq_scan, 0)) AS rows_per_seq_scan, coalesce(s.idx_scan, 0) AS idx_scan,
       greatest(s.n_live_tup, c.reltuples::bigint) AS estimated_rows,
       CASE WHEN s.seq_scan + coalesce(s.idx_scan, 0) > 0
            THEN (coalesce(s.idx_scan, 0)::float8 / (s.seq_scan + coalesce(s.idx_scan, 0))) END AS index_use_ratio,
       pg_relation_size(s.relid) AS table_bytes
  FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
 WHERE s.schemaname !~ $1 AND s.seq_scan >= $3 AND s.seq_scan > coalesce(s.idx_scan, 0)
   AND s.seq_tup_read / nullif(s.seq_scan, 0) >= $2
 ORDER BY s.seq_tup_read DESC, 1, 2
 LIMIT 50
)sql"};

std::string index_name(const pg::Row& row) { return row.text("schema") + "." + row.text("index"); }

}  // namespace

Report indexes(pg::Connection& conn, const Options& options) {
  detail::Inspector in(conn, options, "indexes", "Indexes");
  if (!in.supported()) return in.finish();
  const pg::Params schemas{detail::kInternalSchemas};

  if (auto r = in.section(kIndexes, schemas)) {
    int64_t total = 0;
    for (int i = 0; i < r->rows(); ++i) total += r->row(i).int64("index_bytes");
    in.fact({"index_count", "Indexes", static_cast<int64_t>(r->rows()), "count", ""});
    in.fact({"index_bytes", "Size of the indexes", total, "bytes", ""});
  }

  std::string since = "the statistics were reset";
  bool standby = false;
  if (auto s = in.query(kStatsSince); s && s->rows() == 1) {
    if (!s->row(0).is_null("stats_reset_at")) since = iso_timestamp(s->row(0).view("stats_reset_at"));
    standby = s->row(0).boolean("in_recovery");
  }
  in.fact({"unused_index_max_scans", "Unused threshold", options.unused_index_max_scans, "count",
           "an index scanned at most this many times since " + since + " is unused"});
  std::string unused_explanation = fmt::format(
      "Indexes scanned at most {} time(s) since {} (not unique, primary-key or constraint indexes): they cost "
      "writes, vacuum and cache for nothing.",
      options.unused_index_max_scans, since);
  if (auto r = in.section(kUnused, {detail::kInternalSchemas, options.unused_index_max_scans}, unused_explanation)) {
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      in.finding({Severity::warning, "unused-index", index_name(row),
                  fmt::format("index {} on {} ({}) was scanned {} time(s) since {} (threshold {})", index_name(row),
                              row.text("table"), util::format_bytes(row.int64("index_bytes")), row.int64("scans"), since,
                              options.unused_index_max_scans),
                  fmt::format("DROP INDEX CONCURRENTLY {} once you are sure{}", pg::qualified_name(row.view("schema"), row.view("index")),
                              standby ? "" : " no standby's queries use it (their scans are counted there)")},
                 "unused");
    }
  }

  if (auto r = in.section(kDuplicate, schemas)) {
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      in.finding({Severity::warning, "duplicate-index", index_name(row),
                  fmt::format("index {} ({}) is covered by {} on the same table", index_name(row),
                              util::format_bytes(row.int64("index_bytes")), row.text("covered_by")),
                  fmt::format("DROP INDEX CONCURRENTLY {}", pg::qualified_name(row.view("schema"), row.view("index")))},
                 "duplicate");
    }
  }

  if (auto r = in.section(kInvalid, schemas)) {
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      in.finding({Severity::warning, "invalid-index", index_name(row),
                  fmt::format("index {} on {} is invalid (a failed concurrent build): it slows writes and is never used",
                              index_name(row), row.text("table")),
                  fmt::format("DROP INDEX CONCURRENTLY {} and build it again, or REINDEX INDEX CONCURRENTLY it",
                              pg::qualified_name(row.view("schema"), row.view("index")))},
                 "invalid");
    }
  }

  std::string missing_explanation = fmt::format(
      "Tables read by at least {} sequential scans of at least {} rows each, more often than through an index: "
      "a WHERE clause there may want an index.",
      options.missing_index_min_seq_scans, options.missing_index_min_rows);
  if (auto r = in.section(kMissing, {detail::kInternalSchemas, options.missing_index_min_rows, options.missing_index_min_seq_scans},
                          missing_explanation)) {
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      std::string name = row.text("schema") + "." + row.text("name");
      in.finding({Severity::info, "missing-index", name,
                  fmt::format("{} had {} sequential scans reading {} rows each on average ({} index scans)", name,
                              row.int64("seq_scan"), row.int64("rows_per_seq_scan"), row.int64("idx_scan")),
                  "find its frequent queries (top_queries) and EXPLAIN them; index the columns they filter on"},
                 "missing");
    }
  }
  return in.finish();
}

}  // namespace pgshift::stats
