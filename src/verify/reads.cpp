#include "verify/reads.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace pgshift::verify {
namespace {

Key key_of(const pg::Result& r, int row, size_t key_size) {
  Key k;
  k.reserve(key_size);
  for (size_t i = 0; i < key_size; ++i) k.emplace_back(r.view(row, static_cast<int>(i)));
  return k;
}

// A database's default collation orders like "C". datlocprovider exists from PostgreSQL 15;
// 'b' (builtin, 17+) orders by code point, which is byte order in UTF-8.
std::string default_is_c(int server_version) {
  if (server_version >= 150000) {
    return "(d.datlocprovider = 'b' OR (d.datlocprovider = 'c' AND d.datcollate IN ('C', 'POSIX')))";
  }
  return "d.datcollate IN ('C', 'POSIX')";
}

constexpr std::string_view kLinguisticSql = R"sql(
SELECT a.attrelid::bigint AS table_oid, a.attname AS name
  FROM pg_attribute a
  JOIN pg_collation co ON co.oid = a.attcollation
  CROSS JOIN (SELECT {default_is_c} AS c_order FROM pg_database d WHERE d.datname = current_database()) db
 WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
   AND NOT CASE WHEN co.collprovider = 'd' THEN db.c_order
                WHEN co.collprovider = 'b' THEN true
                ELSE co.collprovider = 'c' AND coalesce(co.collcollate IN ('C', 'POSIX'), false) END
)sql";

// Heap pages, over the partitions of a partitioned table (pg_partition_tree lists nothing for a
// plain table).
constexpr std::string_view kPagesSql = R"sql(
SELECT (CASE WHEN c.relkind = 'p'
             THEN (SELECT coalesce(sum(pg_relation_size(t.relid)), 0) FROM pg_partition_tree(c.oid) t)
             ELSE pg_relation_size(c.oid) END / current_setting('block_size')::bigint)::bigint
  FROM pg_class c
 WHERE c.oid = $1::regclass
)sql";

}  // namespace

std::vector<Agg> read_buckets(Session& s, const Query& q, size_t buckets) {
  std::vector<Agg> out(buckets);
  pg::Result r = s.run(q);
  for (int i = 0; i < r.rows(); ++i) {
    pg::Row row = r.row(i);
    int64_t b = row.int64("bucket");
    if (b < 0 || static_cast<size_t>(b) >= buckets) {
      throw RuntimeError(fmt::format("{}: bucket {} out of range", s.conn().endpoint(), b));
    }
    out[b] = Agg{row.int64("rows"), row.text("sum")};
  }
  return out;
}

std::vector<Key> read_bounds(Session& s, const Query& q, size_t key_size) {
  pg::Result r = s.run(q);
  std::vector<Key> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) out.push_back(key_of(r, i, key_size));
  return out;
}

RowHashes read_rows(Session& s, const Query& q, size_t key_size) {
  pg::Result r = s.run(q);
  RowHashes out;
  int h = r.column_index("h");
  for (int i = 0; i < r.rows(); ++i) out[key_of(r, i, key_size)].emplace_back(r.view(i, h));
  return out;
}

RowTerms read_terms(Session& s, const Query& q, size_t key_size, size_t terms) {
  pg::Result r = s.run(q);
  RowTerms out;
  for (int i = 0; i < r.rows(); ++i) {
    std::vector<std::string> t;
    t.reserve(terms);
    for (size_t j = 0; j < terms; ++j) t.emplace_back(r.view(i, static_cast<int>(key_size + j)));
    out[key_of(r, i, key_size)].push_back(std::move(t));
  }
  return out;
}

KeylessRows read_keyless_rows(Session& s, const Query& q) {
  pg::Result r = s.run(q);
  KeylessRows out;
  for (int i = 0; i < r.rows(); ++i) {
    pg::Row row = r.row(i);
    out[row.text("h")] = KeylessRow{row.int64("copies"), row.text("row")};
  }
  return out;
}

std::map<uint32_t, std::set<std::string>> linguistic_columns(pg::Connection& conn,
                                                             const std::vector<uint32_t>& table_oids) {
  std::map<uint32_t, std::set<std::string>> out;
  if (table_oids.empty()) return out;
  std::vector<std::string> oids;
  for (uint32_t o : table_oids) oids.push_back(std::to_string(o));
  std::string sql = fmt::format(fmt::runtime(kLinguisticSql), fmt::arg("default_is_c", default_is_c(conn.server_version())));
  pg::Result r = conn.exec(sql, {array_literal(oids)});
  for (int i = 0; i < r.rows(); ++i) {
    out[static_cast<uint32_t>(r.row(i).int64("table_oid"))].insert(r.row(i).text("name"));
  }
  return out;
}

SizeEstimate estimate_size(pg::Connection& conn, const std::string& relation) {
  SizeEstimate e;
  // The planner's row estimate scales reltuples to the table's current size, and guesses from
  // the page count when the table was never analyzed.
  pg::Result plan = conn.exec("EXPLAIN (FORMAT JSON) SELECT 1 FROM " + relation);
  std::string text;
  for (int i = 0; i < plan.rows(); ++i) text += plan.view(i, 0);
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_discarded() && doc.is_array() && !doc.empty()) {
    e.rows = static_cast<int64_t>(doc[0]["Plan"].value("Plan Rows", 0.0));
  }
  e.pages = conn.exec(kPagesSql, {relation}).scalar_int64();
  return e;
}

}  // namespace pgshift::verify
