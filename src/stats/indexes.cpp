// indexes(): sizes and scans, unused, duplicate/redundant, invalid, missing-index candidates
// (the console's Indexes tab).
#include <fmt/format.h>

#include "stats/checks.hpp"
#include "stats/diagnostics.hpp"
#include "pg/quote.hpp"
#include "stats/inspector.hpp"
#include "stats/locked_tables.hpp"
#include "stats/values.hpp"

namespace pgshift::stats {
namespace {

using detail::NamedQuery;

// Every index query leaves out the indexes of a table another session locks ACCESS EXCLUSIVE
// ($n::oid[] from locked_relations()): pg_get_indexdef and the size functions would wait for it.
constexpr NamedQuery kIndexes{
    "indexes", "Indexes", "User indexes by size, with their scans since the statistics were reset.",
    R"sql(
SELECT s.schemaname AS schema, s.relname AS "table", s.indexrelname AS index,
       pg_relation_size(s.indexrelid) AS index_bytes, s.idx_scan AS scans, s.idx_tup_read AS tuples_read,
       i.indisunique AS "unique", i.indisprimary AS "primary", i.indisvalid AS valid,
       pg_get_indexdef(s.indexrelid) AS definition, count(*) OVER () AS total_rows
  FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
 WHERE s.schemaname !~ $1 AND NOT (i.indrelid = ANY($2::oid[]) OR i.indexrelid = ANY($2::oid[]))
 ORDER BY pg_relation_size(s.indexrelid) DESC, 1, 2, 3
 LIMIT 2000
)sql"};

// Unique and primary-key indexes enforce constraints, and exclusion constraints too: never unused.
constexpr NamedQuery kUnused{
    "unused", "Unused indexes", "",
    R"sql(
SELECT s.schemaname AS schema, s.relname AS "table", s.indexrelname AS index,
       pg_relation_size(s.indexrelid) AS index_bytes, s.idx_scan AS scans,
       pg_get_indexdef(s.indexrelid) AS definition, count(*) OVER () AS total_rows
  FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
 WHERE s.schemaname !~ $1 AND s.idx_scan <= $2 AND i.indisvalid
   AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = s.indexrelid)
   AND NOT (i.indrelid = ANY($3::oid[]) OR i.indexrelid = ANY($3::oid[]))
 ORDER BY pg_relation_size(s.indexrelid) DESC, 1, 2, 3
 LIMIT 200
)sql"};

// Since when the scans count: the database's last statistics reset, else the server's start
// (PostgreSQL 15+ keeps statistics over a clean restart, so they may be older; a database
// created or restored later counts from then).
constexpr NamedQuery kStatsSince{"unused", "Unused indexes", "", R"sql(
SELECT d.stats_reset AS stats_reset_at, pg_postmaster_start_time() AS server_started_at,
       extract(epoch FROM clock_timestamp() - coalesce(d.stats_reset, pg_postmaster_start_time()))::float8
         AS stats_age_seconds,
       pg_is_in_recovery() AS in_recovery
  FROM pg_stat_database d WHERE d.datname = current_database()
)sql"};

// a is redundant with b when b serves every query a serves, index-only scans included: same
// table, access method, index expressions and predicate (partial indexes: the same WHERE); a's
// key columns, with their operator classes, collations and sort options, are a prefix of b's;
// and each of a's INCLUDE columns is among b's columns (key or INCLUDE), so an index-only scan
// of a can be one of b. A unique a enforces something: it is redundant only with a unique b on
// the same key columns that treats NULLs at least as strictly (NULLS NOT DISTINCT, 15+). A
// primary key is never reported. Of two indexes redundant with each other (identical), the
// newer one (higher OID) is reported. ($2: locked tables, left out.)
constexpr NamedQuery kDuplicate{
    "duplicate", "Duplicate and redundant indexes",
    "Indexes whose key columns are a prefix of (or equal to) another index's on the same table, with their "
    "INCLUDE columns in it too: the other one serves all their queries, index-only scans included.",
    R"sql(
WITH x AS (
  SELECT i.indexrelid, i.indrelid, c.relam, n.nspname, c.relname AS index_name, t.relname AS table_name,
         i.indisunique, i.indisprimary,
         coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::boolean, false) AS nulls_not_distinct,
         (string_to_array(i.indkey::text, ' '))[1:i.indnkeyatts] AS keys,
         (string_to_array(i.indkey::text, ' '))[i.indnkeyatts + 1:i.indnatts] AS included,
         string_to_array(i.indkey::text, ' ') AS all_columns,
         i.indclass::text AS classes, i.indcollation::text AS collations, i.indoption::text AS options,
         coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS exprs,
         coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS pred,
         k.conname AS constraint_name,
         EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid) AS foreign_keys_use_it
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')
   WHERE n.nspname !~ $1 AND i.indisvalid
     AND NOT (i.indrelid = ANY($2::oid[]) OR i.indexrelid = ANY($2::oid[]))
), pairs AS (
  SELECT a.*, b.index_name AS covered_by, b.indexrelid AS covered_by_oid
    FROM x a JOIN x b ON a.indrelid = b.indrelid AND a.indexrelid <> b.indexrelid AND a.relam = b.relam
     AND a.exprs = b.exprs AND a.pred = b.pred
     AND b.keys[1:cardinality(a.keys)] = a.keys
     AND (b.classes = a.classes OR b.classes LIKE a.classes || ' %')
     AND (b.collations = a.collations OR b.collations LIKE a.collations || ' %')
     AND (b.options = a.options OR b.options LIKE a.options || ' %')
     AND a.included <@ b.all_columns
   WHERE NOT a.indisprimary
     AND (NOT a.indisunique
          OR (b.indisunique AND b.keys = a.keys AND (b.nulls_not_distinct OR NOT a.nulls_not_distinct)))
     AND NOT (b.keys = a.keys AND b.classes = a.classes AND b.collations = a.collations AND b.options = a.options
              AND b.included <@ a.all_columns AND a.indisunique = b.indisunique
              AND a.nulls_not_distinct = b.nulls_not_distinct AND a.indisprimary = b.indisprimary
              AND a.indexrelid < b.indexrelid)
)
SELECT nspname AS schema, table_name AS "table", index_name AS index,
       string_agg(covered_by, ', ' ORDER BY covered_by) AS covered_by,
       pg_relation_size(indexrelid) AS index_bytes, constraint_name AS "constraint", foreign_keys_use_it,
       pg_get_indexdef(indexrelid) AS definition,
       (array_agg(pg_get_indexdef(covered_by_oid) ORDER BY covered_by))[1] AS covered_by_definition,
       count(*) OVER () AS total_rows
  FROM pairs
 GROUP BY indexrelid, nspname, table_name, index_name, constraint_name, foreign_keys_use_it
 ORDER BY pg_relation_size(indexrelid) DESC, 1, 2, 3
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
 WHERE NOT i.indisvalid AND n.nspname !~ $1 AND NOT (i.indrelid = ANY($2::oid[]) OR i.indexrelid = ANY($2::oid[]))
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
   AND s.seq_tup_read / nullif(s.seq_scan, 0) >= $2 AND NOT s.relid = ANY($4::oid[])
 ORDER BY s.seq_tup_read DESC, 1, 2
 LIMIT 50
)sql"};

std::string index_name(const pg::Row& row) { return row.text("schema") + "." + row.text("index"); }

// "3 days" past two days, else "4h05m", "12m30s".
std::string age_text(double seconds) {
  if (seconds >= 2 * 86'400) return fmt::format("{} days", static_cast<long long>(seconds / 86'400));
  return util::format_duration(util::Millis(static_cast<long long>(seconds * 1000)));
}

// Since when the scans count, and for how long.
struct StatsAge {
  std::string since = "the statistics were reset";  // "2026-12-01T19:41:39.123Z (the last statistics reset)"
  double seconds = 0;
  bool known = false;
  bool standby = false;
};

StatsAge stats_age(detail::Inspector& in) {
  StatsAge out;
  auto s = in.query(kStatsSince);
  if (!s || s->rows() != 1) return out;
  auto row = s->row(0);
  out.known = true;
  out.seconds = row.float64("stats_age_seconds");
  out.standby = row.boolean("in_recovery");
  out.since = row.is_null("stats_reset_at")
                  ? iso_timestamp(row.view("server_started_at")) + " (the server's start; no statistics reset recorded)"
                  : iso_timestamp(row.view("stats_reset_at")) + " (the last statistics reset)";
  return out;
}

void unused_section(detail::Inspector& in, const Options& options, const std::string& locked_oids) {
  StatsAge age = stats_age(in);
  bool old_enough = age.known && age.seconds >= options.unused_index_min_stats_seconds;
  std::string since = age.known ? age.since + ", " + age_text(age.seconds) + " ago" : age.since;
  in.fact({"unused_index_max_scans", "Unused threshold", options.unused_index_max_scans, "count",
           "an index scanned at most this many times is unused"});
  in.fact({"stats_age_seconds", "Statistics age", age.known ? nlohmann::json(age.seconds) : nlohmann::json(nullptr),
           "seconds", "scans count since " + age.since});
  std::string unused_explanation = fmt::format(
      "Indexes scanned at most {} time(s) since {} (not unique, primary-key or constraint indexes): they cost "
      "writes, vacuum and cache for nothing.",
      options.unused_index_max_scans, since);
  auto r = in.section(kUnused, {detail::kInternalSchemas, options.unused_index_max_scans, locked_oids},
                      unused_explanation);
  if (!r || r->rows() == 0) return;
  if (!old_enough) {
    // Minutes of statistics say nothing about the weekly report or the month-end job.
    const Section* listed = in.find_section(kUnused.id);
    int64_t count = listed && listed->total_rows >= 0 ? listed->total_rows : r->rows();
    in.finding({Severity::info, "stats-too-young", "unused indexes",
                fmt::format("{} index(es) had at most {} scan(s), but the statistics count only since {}: too short to "
                            "call an index unused (the minimum is {})",
                            count, options.unused_index_max_scans, since,
                            age_text(options.unused_index_min_stats_seconds)),
                "no DROP advice yet: look again once the statistics cover a full business cycle (pg_stat_reset() "
                "restarts the count)"},
               kUnused.id);
    return;
  }
  for (int i = 0; i < r->rows(); ++i) {
    auto row = r->row(i);
    in.finding({Severity::warning, "unused-index", index_name(row),
                fmt::format("index {} on {} ({}) was scanned {} time(s) since {} (threshold {})", index_name(row),
                            row.text("table"), util::format_bytes(row.int64("index_bytes")), row.int64("scans"), since,
                            options.unused_index_max_scans),
                fmt::format("DROP INDEX CONCURRENTLY {} once you are sure{}", pg::qualified_name(row.view("schema"), row.view("index")),
                            age.standby ? "" : " no standby's queries use it (their scans are counted there)")},
               kUnused.id);
  }
}

// The advice for a redundant index: a constraint's index goes with its constraint.
std::string duplicate_advice(const pg::Row& row) {
  std::string index = pg::qualified_name(row.view("schema"), row.view("index"));
  std::string advice =
      row.is_null("constraint")
          ? fmt::format("DROP INDEX CONCURRENTLY {}", index)
          : fmt::format("ALTER TABLE {} DROP CONSTRAINT {} (the index belongs to that constraint)",
                        pg::qualified_name(row.view("schema"), row.view("table")), pg::quote_ident(row.view("constraint")));
  if (row.boolean("foreign_keys_use_it")) {
    advice += "; foreign keys reference it: recreate them on " + row.text("covered_by") + " first";
  }
  return advice;
}

}  // namespace

Report indexes(pg::Connection& conn, const Options& options) {
  detail::Inspector in(conn, options, "indexes", "Indexes");
  if (!in.supported()) return in.finish();
  detail::LockedRelations locked = detail::locked_relations(in);
  const pg::Params schemas{detail::kInternalSchemas, locked.oids};

  if (auto r = in.section(kIndexes, schemas)) {
    int64_t total = 0;
    for (int i = 0; i < r->rows(); ++i) total += r->row(i).int64("index_bytes");
    const Section* listed = in.find_section(kIndexes.id);
    bool cut = listed && listed->total_rows >= 0;
    in.fact({"index_count", "Indexes", cut ? listed->total_rows : static_cast<int64_t>(r->rows()), "count",
             cut ? fmt::format("the {} largest are listed", r->rows()) : ""});
    in.fact({"index_bytes", cut ? "Size of the listed indexes" : "Size of the indexes", total, "bytes", ""});
  }
  detail::add_locked_finding(in, locked, "their indexes are left out of every section of this tab", kIndexes.id);

  unused_section(in, options, locked.oids);

  if (auto r = in.section(kDuplicate, schemas)) {
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      in.finding({Severity::warning, "duplicate-index", index_name(row),
                  fmt::format("index {} ({}) is covered by {} on the same table", index_name(row),
                              util::format_bytes(row.int64("index_bytes")), row.text("covered_by")),
                  duplicate_advice(row)},
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
  if (auto r = in.section(kMissing, {detail::kInternalSchemas, options.missing_index_min_rows, options.missing_index_min_seq_scans,
                                     locked.oids},
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
