// Internal to the stats room: the relations another session holds, or waits for, in ACCESS
// EXCLUSIVE mode (LOCK TABLE, ALTER TABLE, TRUNCATE, VACUUM FULL, DROP, REINDEX, ...).
//
// Why: a size function (pg_relation_size, pg_total_relation_size, pg_indexes_size) and
// pg_get_indexdef/pg_get_expr take an AccessShareLock on the relation, which waits behind such a
// lock, granted or merely requested (a request queues behind a waiting ACCESS EXCLUSIVE one).
// One locked table would then time the whole query out and blank its section. The catalogs
// (pg_class, pg_index, pg_stat_*) and pg_locks are read without relation locks, so the Tables and
// Indexes reports ask here first, then estimate (pg_class.relpages) or leave out what is locked,
// and say so with one finding `table-locked` per report. A lock taken between this read and the
// section's query still ends in the Inspector's lock_timeout (finding query-timeout).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "stats/inspector.hpp"

namespace pgshift::stats::detail {

struct LockedRelation {
  std::string schema;
  std::string name;
  std::string how;  // "held by pid 123", "requested by pid 456", joined with ", "
};

struct LockedRelations {
  std::vector<LockedRelation> relations;  // those in user schemas (not kInternalSchemas), by name
  std::string oids = "{}";                // every locked relation's oid, for a `$n::oid[]` parameter
};

// Reads pg_locks (readable by every role). Empty when the read fails (the failure is a finding).
LockedRelations locked_relations(Inspector& in);

// One warning `table-locked` on section_id naming each locked relation and what the report did
// with it (`consequence`, e.g. "sizes estimated from pg_class"). Nothing when none is locked.
void add_locked_finding(Inspector& in, const LockedRelations& locked, std::string_view consequence,
                        std::string_view section_id);

}  // namespace pgshift::stats::detail
