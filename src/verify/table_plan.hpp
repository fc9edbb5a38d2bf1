// How one table is verified, decided from the two catalogs before any row is read (pure).
//
// Key: the source's primary key, else its best unique NOT NULL index; none means the table is
// hashed whole. Key ranges are compared in one order on both sides, never a collation's:
//   - types with a collation-free, stable order (integers, numeric, floats, uuid, dates and
//     times, bytea, boolean) compare natively;
//   - text keys compare byte-wise: the column itself when its collation already orders like
//     "C" (then the btree index serves the range), COLLATE "C" otherwise;
//   - anything else (enums, whose order depends on label creation order; citext; arrays;
//     types that differ between sides) compares by its text form COLLATE "C".
// Strategy:
//   key_ranges  every key part is index-ordered on both sides and both sides have a unique
//               index on the key: each chunk is an index range scan, chunks run in parallel;
//   key_scan    a range predicate could not use an index (a linguistic collation, an enum
//               key): one sequential scan per side assigns each row to its chunk;
//   whole       no key: the table is hashed whole (duplicates counted, never cancelled).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "catalog/model.hpp"
#include "verify/column_hash.hpp"
#include "verify/types.hpp"

namespace pgshift::verify {

enum class Strategy { key_ranges, key_scan, whole };
std::string to_string(Strategy strategy);  // "key-ranges", "key-scan", "whole-table"

struct KeyPart {
  std::string column;
  std::string order_expr;   // SQL in range predicates and ORDER BY
  std::string bound_type;   // type a bound parameter is cast to
  std::string text_expr;    // the key value as text (what Key holds)
  std::string lookup_expr;  // compared with a looked-up key
  std::string lookup_type;  // element type of the lookup array parameter
  bool index_order = true;  // order_expr is the bare column, ordered as a btree index orders it
};

// The SQL pieces of one side.
struct SideSql {
  std::string relation;            // "schema"."name"
  std::vector<KeyPart> key;        // empty for whole-table hashing
  std::vector<std::string> terms;  // per compared column: a never-NULL bigint hash
  pg::Params term_params;          // parameters $1..$n the terms use (enum labels)
  std::string row_hash;            // XOR of the terms; in counts mode "", or the key columns' terms
                                   // when a side has no unique index on the key (duplicates)
  bool has_key_index = false;      // a unique index on exactly the key columns, in order
  bool row_hash_binds_terms = true;  // row_hash uses term_params (false: a key-set hash)
  // The parameters a query over row_hash binds first.
  pg::Params row_params() const { return row_hash.empty() || !row_hash_binds_terms ? pg::Params{} : term_params; }
};

struct CompareColumn {
  std::string name;
  HashMethod method;
};

struct TablePlan {
  catalog::TableRef table;
  Strategy strategy = Strategy::whole;
  std::vector<std::string> key_columns;
  std::vector<CompareColumn> columns;  // compared columns, source order
  SideSql source;
  SideSql target;
  std::vector<std::string> missing_on_target;  // source columns the target lacks: a mismatch
  std::vector<std::string> excluded_columns;   // left out by --exclude-column, source order
  std::vector<std::string> notes;              // extra target columns, why not key ranges, ...
};

// Enum type (schema-qualified, as catalog::Column::type) -> its labels on one side.
using EnumLabels = std::map<std::string, std::vector<std::string>>;
EnumLabels enum_labels(const catalog::Snapshot& snapshot);

// linguistic_*: the table's text columns on that side whose collation does not order like
// "C" (reads.hpp). Throws nothing; a table without common columns still gets a plan.
TablePlan plan_table(const catalog::Table& source, const catalog::Table& target,
                     const std::set<std::string>& linguistic_source, const std::set<std::string>& linguistic_target,
                     Mode mode, const EnumLabels& source_enums = {}, const EnumLabels& target_enums = {},
                     const std::set<std::string>& excluded_columns = {});

}  // namespace pgshift::verify
