// The drill's check of the restored data itself, after the logical checks: pg_amcheck (from the
// restored server's own binaries) on the restored server, as its bootstrap superuser over the
// private socket, in the drilled database:
//
//   pass 1, always: every heap table (its TOAST too) and every B-tree index, system catalogs
//     included (verify_heapam + bt_index_check). Each page is read through the buffer manager, so
//     where the cluster has data checksums every page read is also checksum-verified.
//   pass 2, within a time budget: bt_index_check(heapallindexed) on the B-tree indexes of the
//     tables whose predicted cost fits, smallest first (the prediction uses pass 1's bytes/s).
//
// Each compared table (DrillReport::tables) records what was checked ("heap", "btree",
// "heapallindexed") and what pg_amcheck found; findings outside those tables (catalogs, a table
// live does not have) and a pg_amcheck that could not run go to DrillReport::integrity.problems.
// pg_amcheck needs PostgreSQL 14 or later on the restored server: older majors get a note.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "backup/drill.hpp"
#include "pg/conninfo.hpp"

namespace pgshift::backup {

struct IntegrityOptions {
  std::string bindir;     // the restored server's binaries (pg_amcheck)
  int major = 0;
  pg::ConnInfo superuser;  // the drilled database on the restored server, as its bootstrap superuser
  std::string log_dir;     // where pg_amcheck's output goes
  util::Millis heapallindexed_budget{5 * 60 * 1000};
  std::chrono::steady_clock::time_point deadline;
};

// Runs both passes and fills report.integrity and each table's checked/corruption. Throws
// DrillFailed when interrupted or at the deadline.
void check_integrity(const IntegrityOptions& options, DrillReport& report);

// ---- pieces, for the unit tests --------------------------------------------------------------

// One finding from pg_amcheck's standard output: `heap table "db.s.t", block 2, offset 86, attribute 2:`
// followed by indented message lines. relation is "schema.name" (the database prefix removed);
// kind is "heap table", "btree index" or "toast table"; where is ", block 2, offset 86, ..." or "".
struct AmcheckFinding {
  std::string kind, relation, where, message;
};
std::vector<AmcheckFinding> parse_amcheck_output(const std::string& out, const std::string& dbname);

// A restored heap table and its B-tree indexes, sizes in bytes.
struct HeapPlan {
  std::string schema, name;
  int64_t heap_bytes = 0;
  std::vector<std::string> btree_indexes;  // index names (same schema)
  int64_t btree_bytes = 0;
};

// The tables (indexes into plans) whose heapallindexed check is predicted to fit budget_s at
// bytes_per_s, smallest first. Each index of a table costs one read of the table and of itself.
std::vector<size_t> choose_heapallindexed(const std::vector<HeapPlan>& plans, double bytes_per_s, double budget_s);

// A psql-style pattern that matches exactly schema.name ("s"."n", embedded quotes doubled).
std::string exact_pattern(const std::string& schema, const std::string& name);

}  // namespace pgshift::backup
