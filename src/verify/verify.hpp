// The verify room: does the target hold exactly what the source holds? Per table, row counts
// and checksums on both sides, per key-range chunk, in parallel; differences that survive the
// lag fence are narrowed down to the keys that differ.
//
//   verify::Options o;
//   o.source = plan.source; o.target = plan.target; o.excludes = plan.exclude_patterns();
//   o.slot = plan.subscription;      // fence on this slot when it exists on the source
//   verify::Report r = verify::run(o);
//   return r.exit_code();            // 0 match, 1 mismatch, 3 error
//
// Used by `pgshift verify` and by cutover's final gate (data frozen; also with source and
// target swapped for the rollback direction). Free of CLI concerns: progress goes to a callback.
//
// Tables: those the migration replicates (catalog::select_tables: on both sides, minus
// excludes, unlogged and extension tables; partitioned tables through their root, which reads
// every partition), then narrowed by `tables` patterns. Tables left out are reported as
// skipped with the reason, except a table on the source only that is not excluded: the
// migration would leave it behind, so it is a mismatch (unless allow_source_only). See column_hash.hpp for how values are hashed and why it is exact,
// table_plan.hpp for keys and strategies, resolve.hpp for what happens to a difference.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "pg/conninfo.hpp"
#include "util/duration.hpp"
#include "verify/report.hpp"
#include "verify/resolve.hpp"
#include "verify/types.hpp"

namespace pgshift::verify {

struct Progress {
  size_t tables_total = 0;
  size_t tables_done = 0;
  size_t chunks_total = 0;  // chunks planned so far (tables not yet planned count one each)
  size_t chunks_done = 0;
  int64_t rows_done = 0;      // source rows compared
  int64_t rows_estimate = 0;  // source rows expected in all tables
  double elapsed_seconds = 0;
};
using ProgressFn = std::function<void(const Progress&)>;

struct Options {
  pg::ConnInfo source;
  pg::ConnInfo target;
  std::vector<catalog::TablePattern> excludes;  // the migration's excludes
  std::vector<catalog::TablePattern> tables;    // empty: every replicated table
  std::vector<std::string> exclude_columns;     // "schema.table.column": not compared (column_excludes.hpp)
  Mode mode = Mode::full;
  int jobs = 4;                 // connection pairs (one to each side) working in parallel
  int64_t chunk_rows = 100'000;
  std::string slot;             // subscription slot for the lag fence; "" or absent: no fence
  std::string direction;        // shown in the report when set (which way replication runs)
  bool allow_source_only = false;  // a table on the source only is skipped, not a mismatch
  util::Millis fence_timeout{60'000};
  Limits limits;
  ProgressFn progress;          // called from worker threads, one call at a time
};

// Throws UsageError on bad options or a `tables` pattern that matches no table, ConnectError /
// SqlError when a side cannot be read at all. A table that fails on its own is reported with
// status error and the run goes on.
Report run(const Options& options);

}  // namespace pgshift::verify
