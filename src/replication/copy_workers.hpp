// The workers of a parallel copy: each holds one source connection inside a REPEATABLE READ
// transaction on the copy's snapshot and one target connection, takes the next unit of the plan
// and streams it (pg/copy_stream: COPY TO STDOUT into COPY FROM STDIN, no temporary file).
//
// Contract:
//   - A unit is copied in one target transaction together with its journal record (step
//     "copy-unit", detail {key, generation, bytes, rows, ms}): a unit is either on the target
//     and journaled, or neither. Units whose key is in `done` are skipped.
//   - The target session runs with session_replication_role = replica (as the subscription's
//     workers do: the fence and user triggers do not fire) and synchronous_commit = off.
//   - A source connection lost mid-unit is opened again, imports the snapshot again and the unit
//     is retried (up to 3 times); any other error stops every worker and is rethrown as a
//     RuntimeError naming the table, the block range and the side, e.g. a disk-full target.
//   - `cancel` set (Ctrl-C, sync stop) stops every worker at its next MiB: CopyCancelled.
//   - As soon as every unit of a target table is copied, its dropped indexes (`builds`) are
//     rebuilt by `jobs` builder threads beside the `jobs` copiers (target connections only), so
//     index builds overlap the copy of the other tables (as pgcopydb's --index-jobs do); each is
//     settled in the journal.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "pg/connection.hpp"
#include "replication/copy_plan.hpp"
#include "replication/deferred_objects.hpp"
#include "util/error.hpp"

namespace pgshift::replication {

inline constexpr std::string_view kStepCopyUnit = "copy-unit";

class CopyCancelled : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

// Shared by the workers and whoever shows progress. Thread-safe.
class CopyMeter {
 public:
  explicit CopyMeter(const CopyPlan& plan);
  void add_bytes(size_t relation, int64_t bytes);
  void unit_done(const CopyUnit& unit, int64_t rows);
  void unit_skipped(const CopyUnit& unit);
  void object_rebuilt(int64_t ms);  // an index built beside the copy, in ms

  struct Relation {
    std::string table;
    int64_t bytes_total = 0;  // estimate (main fork size)
    int64_t bytes_done = 0;   // COPY data moved (finished units and running ones)
    int64_t rows = 0;         // of finished units
    int units_total = 0, units_done = 0;
  };
  struct View {
    std::vector<Relation> relations;
    int64_t bytes_total = 0, bytes_done = 0, rows = 0;
    int units_total = 0, units_done = 0, units_reused = 0;
    int objects_rebuilt = 0;  // indexes rebuilt while other tables still copied
    int64_t last_unit_ms = 0;  // since the meter was made: when the last unit finished
    int64_t build_ms = 0;      // the builds beside the copy, summed (they run jobs at a time)
  };
  View view() const;

 private:
  mutable std::mutex mutex_;
  View view_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

struct CopyWorkerOptions {
  pg::ConnInfo source, target;
  std::string snapshot;    // to import (SET TRANSACTION SNAPSHOT)
  std::string generation;  // the copy attempt, journaled with each unit
  int64_t migration_id = 0;
  int jobs = 1;
  std::set<std::string> done;  // unit keys finished by an earlier run on the same snapshot
  std::vector<PendingObject> builds;  // indexes to rebuild once their table is copied
  std::string maintenance_work_mem;   // for those builds; "" = the target's setting
};

// Copies every unit not in done. Returns when all are copied; throws as above.
void run_copy_workers(const CopyPlan& plan, const CopyWorkerOptions& options, CopyMeter& meter,
                      const std::atomic<bool>& cancel);

// The COPY statements of a unit (for tests and messages).
std::string copy_out_sql(const CopyRelation& relation, const CopyUnit& unit);
std::string copy_in_sql(const CopyRelation& relation);
std::string describe_unit(const CopyRelation& relation, const CopyUnit& unit);  // "public.t (blocks 0–1024)"

}  // namespace pgshift::replication
