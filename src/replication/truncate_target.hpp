// Emptying the replicated tables on the target (sync start --truncate-target, and a copy that
// restarts from scratch). Internal to the replication room.
//
// Contract: the whole replicated set is emptied by one TRUNCATE, so foreign keys among its
// tables never make TRUNCATE refuse (0A000 "cannot truncate a table referenced in a foreign key
// constraint" when an empty table references a full one). A table outside the set that
// references one inside would make it refuse too: refuse_outside_references() names those
// before anything is created, and the set is never widened (no CASCADE into other tables).
#pragma once

#include <vector>

#include "catalog/model.hpp"
#include "pg/connection.hpp"

namespace pgshift::replication::detail {

// ProblemsFound naming each "referencing -> referenced" foreign key from a target table outside
// `tables` (and their partitions) into one of them. target_snapshot gives the tables' oids.
void refuse_outside_references(pg::Connection& target, const catalog::Snapshot& target_snapshot,
                               const std::vector<catalog::TableRef>& tables);

// TRUNCATE of all `tables` in one statement (partitioned roots empty their partitions).
void truncate_all(pg::Connection& target, const std::vector<catalog::TableRef>& tables);

}  // namespace pgshift::replication::detail
