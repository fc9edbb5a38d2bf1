// The SQL verify runs, built for one side from its SideSql (pure: text and bound parameters).
// Identifiers come quoted from table_plan; every key value travels as a bound parameter cast to
// the key's bound type, so text keys with quotes or non-ASCII characters need no escaping.
//
// Buckets: given bounds b0 < b1 < ... (sorted by the server), a row's bucket is the number of
// bounds <= its key, computed by a balanced CASE tree (log2 comparisons per row). GROUP BY
// bucket turns one scan into per-range aggregates; a bucket with no rows is simply absent.
#pragma once

#include <string>
#include <vector>

#include "pg/connection.hpp"
#include "verify/table_plan.hpp"
#include "verify/types.hpp"

namespace pgshift::verify {

struct Query {
  std::string sql;
  pg::Params params;
  // The query reads one key range that the key's index can serve (key-ranges strategy): it is
  // run as a bitmap heap scan (session.hpp), never as a scan of the whole table.
  bool index_range = false;
};

// SELECT bucket, count(*), sum(row_hash) over rows in range, grouped by bucket over bounds
// (no bounds: one bucket 0). Columns: bucket, rows, sum.
Query hash_query(const SideSql& side, const Range& range, const std::vector<Key>& bounds);

// Rows in the buckets `wanted` (over bounds) within range: key texts then row hash.
// Columns: k0..kn, h ("0" in counts mode).
Query rows_query(const SideSql& side, const Range& range, const std::vector<Key>& bounds,
                 const std::vector<int>& wanted);

// Up to parts - 1 bounds that split the rows in range into parts of about equal size, in key
// order. rows is the number of rows in the range on the side the query runs on.
Query split_query(const SideSql& side, const Range& range, int64_t rows, int parts);

// chunks - 1 bounds from a block sample of the whole table (TABLESAMPLE SYSTEM percent,
// REPEATABLE so a plan is reproducible), at the sample's quantiles.
Query sample_query(const SideSql& side, double percent, int64_t chunks);

// The rows with these keys: key texts, then each column's hash term (t0..tm).
Query keys_query(const SideSql& side, const std::vector<Key>& keys);

// Whole-table hashing of a key-less table, bucketed by the low 12 bits of the row hash:
// columns bucket, rows, sum. And rows grouped by row hash, either those in some buckets or
// those with some row hashes: columns h, copies, row (the row's text, for the report).
Query keyless_buckets_query(const SideSql& side);
Query keyless_rows_query(const SideSql& side, const std::vector<int>& buckets);
Query keyless_rows_query(const SideSql& side, const std::vector<std::string>& row_hashes);
inline constexpr int kKeylessBuckets = 4096;

// A PostgreSQL array literal of text elements ("{"a","b\"c"}"), for one array parameter.
std::string array_literal(const std::vector<std::string>& values);

}  // namespace pgshift::verify
