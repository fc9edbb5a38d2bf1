// Runs the queries of sql.hpp on one side and turns their results into values. Also the two
// catalog facts verify needs beyond catalog::Snapshot: which text columns sort like "C", and
// how big a table is right now.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "pg/connection.hpp"
#include "verify/session.hpp"
#include "verify/sql.hpp"
#include "verify/types.hpp"

namespace pgshift::verify {

// Rows by key. A key normally has one row; a side without a unique index on the key (a target
// without a key, or with a wider one) can hold several copies, and each copy is kept.
using RowHashes = std::map<Key, std::vector<std::string>, KeyLess>;               // key -> row hash per copy
using RowTerms = std::map<Key, std::vector<std::vector<std::string>>, KeyLess>;  // key -> per-column hashes per copy
struct KeylessRow {
  int64_t copies = 0;
  std::string text;  // the row as text, for the report
};
using KeylessRows = std::map<std::string, KeylessRow>;      // row hash -> copies

// hash_query results as one Agg per bucket (buckets absent from the result hold no rows).
std::vector<Agg> read_buckets(Session& s, const Query& q, size_t buckets);
std::vector<Key> read_bounds(Session& s, const Query& q, size_t key_size);
RowHashes read_rows(Session& s, const Query& q, size_t key_size);
RowTerms read_terms(Session& s, const Query& q, size_t key_size, size_t terms);
KeylessRows read_keyless_rows(Session& s, const Query& q);

// Per table oid, the names of collatable columns whose collation does not order like "C"
// (libc "C"/"POSIX", the builtin provider, or a database default that is one of those).
std::map<uint32_t, std::set<std::string>> linguistic_columns(pg::Connection& conn,
                                                             const std::vector<uint32_t>& table_oids);

struct SizeEstimate {
  int64_t rows = 0;   // the planner's estimate for a full scan (works before ANALYZE too)
  int64_t pages = 0;  // heap pages, summed over partitions
};
SizeEstimate estimate_size(pg::Connection& conn, const std::string& relation);

}  // namespace pgshift::verify
