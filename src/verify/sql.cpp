#include "verify/sql.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace pgshift::verify {
namespace {

// Collects bound parameters and hands out their placeholders.
class Binder {
 public:
  Binder() = default;
  // For a query that contains the side's hash terms: their parameters come first.
  explicit Binder(pg::Params params) : params_(std::move(params)) {}
  std::string bind(const std::string& value, const std::string& type) {
    params_.emplace_back(value);
    return fmt::format("${}::{}", params_.size(), type);
  }
  pg::Params take() { return std::move(params_); }

 private:
  pg::Params params_;
};

std::string tuple(const std::vector<std::string>& parts) {
  return parts.size() == 1 ? parts[0] : "(" + fmt::format("{}", fmt::join(parts, ", ")) + ")";
}

std::string order_tuple(const SideSql& side) {
  std::vector<std::string> parts;
  for (const auto& k : side.key) parts.push_back(k.order_expr);
  return tuple(parts);
}

std::string bound_tuple(const SideSql& side, const Key& key, Binder& b) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < side.key.size(); ++i) parts.push_back(b.bind(key.at(i), side.key[i].bound_type));
  return tuple(parts);
}

bool index_served(const SideSql& side, const Range& range) {
  if (range.whole() || !side.has_key_index) return false;
  for (const auto& k : side.key) {
    if (!k.index_order) return false;
  }
  return true;
}

std::string range_predicate(const SideSql& side, const Range& range, Binder& b) {
  std::vector<std::string> conds;
  if (range.lo) conds.push_back(order_tuple(side) + " >= " + bound_tuple(side, *range.lo, b));
  if (range.hi) conds.push_back(order_tuple(side) + " < " + bound_tuple(side, *range.hi, b));
  return conds.empty() ? "TRUE" : fmt::format("{}", fmt::join(conds, " AND "));
}

// Bucket numbers lo..hi for the bounds with indexes lo..hi-1.
std::string bucket_tree(const SideSql& side, const std::vector<Key>& bounds, size_t lo, size_t hi, Binder& b) {
  if (lo == hi) return std::to_string(lo);
  size_t mid = (lo + hi) / 2;
  std::string cond = order_tuple(side) + " < " + bound_tuple(side, bounds[mid], b);
  std::string below = bucket_tree(side, bounds, lo, mid, b);
  std::string above = bucket_tree(side, bounds, mid + 1, hi, b);
  return fmt::format("CASE WHEN {} THEN {} ELSE {} END", cond, below, above);
}

std::string key_texts(const SideSql& side) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < side.key.size(); ++i) parts.push_back(fmt::format("{} AS k{}", side.key[i].text_expr, i));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string sum_expr(const SideSql& side) {
  return side.row_hash.empty() ? "'0'" : fmt::format("coalesce(sum({}), 0)::text", side.row_hash);
}

// SELECT o0, o1, ... and the ORDER BY list for the window functions of split and sample.
std::string order_columns(const SideSql& side) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < side.key.size(); ++i) parts.push_back(fmt::format("{} AS o{}", side.key[i].order_expr, i));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string order_texts(const SideSql& side) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < side.key.size(); ++i) parts.push_back(fmt::format("(o{0})::text AS k{0}", i));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string order_list(const SideSql& side) {
  std::vector<std::string> parts;
  for (const auto& k : side.key) parts.push_back(k.order_expr);
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

Query hash_query(const SideSql& side, const Range& range, const std::vector<Key>& bounds) {
  Binder b(side.row_params());
  std::string where = range_predicate(side, range, b);
  if (bounds.empty()) {
    return {fmt::format("SELECT 0 AS bucket, count(*) AS rows, {} AS sum FROM {} WHERE {}", sum_expr(side),
                        side.relation, where),
            b.take(), index_served(side, range)};
  }
  std::string bucket = bucket_tree(side, bounds, 0, bounds.size(), b);
  return {fmt::format("SELECT {} AS bucket, count(*) AS rows, {} AS sum FROM {} WHERE {} GROUP BY 1", bucket,
                      sum_expr(side), side.relation, where),
          b.take(), index_served(side, range)};
}

Query rows_query(const SideSql& side, const Range& range, const std::vector<Key>& bounds,
                 const std::vector<int>& wanted) {
  Binder b(side.row_params());
  std::string where = range_predicate(side, range, b);
  if (!bounds.empty() && !wanted.empty()) {
    std::vector<std::string> ids;
    for (int w : wanted) ids.push_back(std::to_string(w));
    std::string bucket = bucket_tree(side, bounds, 0, bounds.size(), b);
    where += fmt::format(" AND ({}) = ANY({})", bucket, b.bind("{" + fmt::format("{}", fmt::join(ids, ",")) + "}", "int[]"));
  }
  std::string hash = side.row_hash.empty() ? "'0'" : "(" + side.row_hash + ")::text";
  return {fmt::format("SELECT {}, {} AS h FROM {} WHERE {}", key_texts(side), hash, side.relation, where), b.take(),
          index_served(side, range)};
}

Query split_query(const SideSql& side, const Range& range, int64_t rows, int parts) {
  Binder b;
  std::string where = range_predicate(side, range, b);
  int64_t step = std::max<int64_t>(1, (rows + parts - 1) / parts);
  std::string step_param = b.bind(std::to_string(step), "bigint");
  return {fmt::format("SELECT {} FROM (SELECT {}, row_number() OVER (ORDER BY {}) AS rn FROM {} WHERE {}) s "
                      "WHERE rn % {} = 0 ORDER BY rn",
                      order_texts(side), order_columns(side), order_list(side), side.relation, where, step_param),
          b.take(), index_served(side, range)};
}

Query sample_query(const SideSql& side, double percent, int64_t chunks) {
  Binder b;
  std::string pct = b.bind(fmt::format("{}", percent), "real");
  std::string c = b.bind(std::to_string(chunks), "bigint");
  // Bound i (1..chunks-1) is the first sampled row whose rank crosses i * n / chunks.
  return {fmt::format("SELECT {} FROM (SELECT {}, row_number() OVER (ORDER BY {}) AS rn, count(*) OVER () AS n "
                      "FROM {} TABLESAMPLE SYSTEM ({}) REPEATABLE (0)) s "
                      "WHERE rn > 1 AND ((rn - 1) * {}) / n <> ((rn - 2) * {}) / n ORDER BY rn",
                      order_texts(side), order_columns(side), order_list(side), side.relation, pct, c, c),
          b.take()};
}

Query keys_query(const SideSql& side, const std::vector<Key>& keys) {
  Binder b(side.term_params);
  std::vector<std::string> terms;
  for (size_t i = 0; i < side.terms.size(); ++i) terms.push_back(fmt::format("({})::text AS t{}", side.terms[i], i));
  std::string select = key_texts(side) + (terms.empty() ? "" : ", " + fmt::format("{}", fmt::join(terms, ", ")));
  std::vector<std::string> arrays;
  for (size_t i = 0; i < side.key.size(); ++i) {
    std::vector<std::string> values;
    for (const auto& k : keys) values.push_back(k.at(i));
    arrays.push_back(b.bind(array_literal(values), side.key[i].lookup_type + "[]"));
  }
  std::string where;
  if (side.key.size() == 1) {
    where = fmt::format("{} = ANY({})", side.key[0].lookup_expr, arrays[0]);
  } else {
    std::vector<std::string> lookups;
    for (const auto& k : side.key) lookups.push_back(k.lookup_expr);
    where = fmt::format("({}) IN (SELECT * FROM unnest({}))", fmt::join(lookups, ", "), fmt::join(arrays, ", "));
  }
  return {fmt::format("SELECT {} FROM {} WHERE {}", select, side.relation, where), b.take()};
}

Query keyless_buckets_query(const SideSql& side) {
  return {fmt::format("SELECT (h & {})::int AS bucket, count(*) AS rows, sum(h)::text AS sum "
                      "FROM (SELECT {} AS h FROM {}) s GROUP BY 1",
                      kKeylessBuckets - 1, side.row_hash, side.relation),
          side.term_params};
}

namespace {

Query keyless_rows(const SideSql& side, const std::string& filter, const std::string& array, const std::string& type) {
  Binder b(side.term_params);
  std::string wanted = b.bind(array, type);
  return {fmt::format("SELECT h::text AS h, count(*) AS copies, min(r COLLATE \"C\") AS row "
                      "FROM (SELECT {} AS h, pgshift_row::text AS r FROM {} AS pgshift_row) s "
                      "WHERE {} = ANY({}) GROUP BY h",
                      side.row_hash, side.relation, filter, wanted),
          b.take()};
}

}  // namespace

Query keyless_rows_query(const SideSql& side, const std::vector<int>& buckets) {
  std::vector<std::string> ids;
  for (int w : buckets) ids.push_back(std::to_string(w));
  return keyless_rows(side, fmt::format("(h & {})::int", kKeylessBuckets - 1),
                      "{" + fmt::format("{}", fmt::join(ids, ",")) + "}", "int[]");
}

Query keyless_rows_query(const SideSql& side, const std::vector<std::string>& row_hashes) {
  return keyless_rows(side, "h", array_literal(row_hashes), "bigint[]");
}

std::string array_literal(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace pgshift::verify
