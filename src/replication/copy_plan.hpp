// The work list of a parallel initial copy (sync start --copy parallel): which relation each
// unit reads, which block range of it, in which COPY format, and the order workers take them.
// Pure: sizes come in, units come out; nothing here talks to a server.
//
// Contract:
//   - Every leaf relation (a plain table, or a leaf partition of a published partitioned table)
//     is covered exactly once: either one unit for the whole relation, or consecutive ctid block
//     ranges [first, last) whose last one is open-ended (last = nullopt), so a relation that
//     grew after its size was read is still read whole.
//   - A relation is split only when ranges are allowed (the source can scan a TID range: 14+)
//     and it is larger than twice the target unit size; the target unit size is about
//     total / (4 * jobs), at least min_unit_bytes, so one huge table keeps every worker busy and
//     small tables stay one unit each (the queue packs them onto whichever worker is free).
//   - Units are ordered largest first (longest-processing-time scheduling); ids are dense from 0
//     and stable for the same input, and key() names a unit across runs ("public.t[0,1024)").
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "catalog/model.hpp"

namespace pgshift::replication {

// One relation to copy: read from `leaf` on the source, written into `target` (the published
// table: a partitioned root receives its leaves' rows and routes them itself).
struct CopyRelation {
  catalog::TableRef leaf;
  catalog::TableRef target;
  int64_t bytes = 0;                  // main fork size on the source
  int64_t blocks = 0;                 // bytes / block size (plan_copy computes it when 0)
  std::vector<std::string> columns;   // copied columns (generated ones left out), unquoted
  bool binary = true;                 // COPY (FORMAT binary); text when a column's binary form
                                      // carries a type oid the target does not share
};

struct CopyUnit {
  int id = 0;
  size_t relation = 0;                // index into the plan's relations
  int64_t first_block = 0;
  std::optional<int64_t> end_block;   // exclusive; nullopt: to the end of the relation
  bool whole = true;                  // no ctid condition at all
  int64_t estimated_bytes = 0;
  std::string key;                    // stable name: "public.t" or "public.t[0,1024)"
};

struct CopyPlan {
  std::vector<CopyRelation> relations;
  std::vector<CopyUnit> units;        // largest first
  int64_t total_bytes = 0;
  nlohmann::json to_json() const;     // relations (table, into, bytes, binary), units (key, relation,
                                      // bytes, first_block, end_block, whole)
};

struct CopyPlanOptions {
  int jobs = 1;
  bool ranges_allowed = true;
  int64_t block_size = 8192;
  int64_t min_unit_bytes = 64ll << 20;
};

CopyPlan plan_copy(std::vector<CopyRelation> relations, const CopyPlanOptions& options);

// The plan an interrupted run recorded (CopyPlan::to_json), for a resume on the same snapshot:
// the same units with the same block ranges whatever the tables' sizes or --jobs are now, so a
// finished unit is never read again under another range. `relations` are read now (columns,
// format) and matched by leaf name; one absent from the record becomes one whole unit. nullopt
// when the record lacks the ranges (written by an older version) or names a relation that is
// not in `relations`: the caller plans afresh.
std::optional<CopyPlan> plan_from_record(const nlohmann::json& recorded, std::vector<CopyRelation> relations);

// The tables (leaves and the tables they are copied into, by display name) whose every unit is
// in `done`.
std::set<std::string> tables_copied(const CopyPlan& plan, const std::set<std::string>& done);

// Whether a column's values can travel in COPY's binary format between two databases: its
// binary form must not embed a type oid only the source has (arrays and composites of user
// types), and user types are read through their text form (an extension type may lack binary
// I/O). Builtin scalars, their arrays, enums and domains over builtins travel binary.
bool binary_safe(const catalog::Column& column);

// The copied columns of a table: every column but generated ones.
std::vector<std::string> copied_columns(const catalog::Table& table);

}  // namespace pgshift::replication
