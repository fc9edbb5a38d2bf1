// The replication room: the catch-up phase of a migration. The target becomes a continuously
// updated copy of the source through native logical replication.
//
//   start()   publication on the source (tables on both sides, minus excludes, unlogged and
//             extension tables; partitioned tables through their root), replica identities for
//             tables without a primary key, subscription on the target, target fence. Nothing
//             half-created: a failing step undoes the ones before it.
//   status()  per-table state and copy bytes, lag, slot health, subscription errors, drift.
//   soak()    a gate: every table ready, lag under a threshold, no drift, no worker error,
//             continuously for a duration.
//   stop()    drops subscription, slot(s) and publication, restores replica identities, lifts
//             the fence, and verifies nothing is left.
//
// Every command records what it did in the target's journal (state/journal.hpp). Progress goes
// to the log (stderr); results are returned for the CLI to print. The preflight is not run
// here: the CLI runs it before start().
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "catalog/catalog.hpp"
#include "ddl/ddl.hpp"
#include "logical/logical.hpp"
#include "pg/connection.hpp"
#include "replication/copy_workers.hpp"
#include "state/journal.hpp"
#include "state/plan.hpp"
#include "stats/replication_progress.hpp"
#include "stats/subscription_progress.hpp"
#include "util/duration.hpp"

namespace pgshift::replication {

// Which migration a result speaks of: redacted endpoints and the replication objects' names.
struct Names {
  std::string source;  // "user@host:port/db"
  std::string target;
  std::string publication;
  std::string subscription;  // also the replication slot's name
  static Names of(const state::Plan& plan);
};

// Planning types shared with cutover live in the logical room.
using logical::Drift;
using logical::IdentityChange;
using logical::PublicationPlan;

// ---- sync start ---------------------------------------------------------------------------

// How the initial copy runs. native: the subscription copies each table (one COPY per table in
// the subscriber's table-sync workers, indexes maintained row by row); sync start returns at
// once. parallel: pgshift copies before subscribing (parallel_copy.hpp) and returns when every
// table is copied and the subscription streams from the copy's snapshot.
enum class CopyMode { native, parallel };
std::string to_string(CopyMode mode);
CopyMode copy_mode_from_string(const std::string& text);  // throws UsageError naming --copy

// What a parallel copy shows while it runs (every half second, from another thread).
struct CopyProgress {
  std::string phase;  // "slot", "dropping indexes", "copying", "building indexes", "validating constraints"
  CopyMeter::View copy;
  int objects_total = 0;  // indexes and constraints to rebuild
  int objects_done = 0;
  int jobs = 0;
  util::Millis elapsed{0};
};

struct ParallelCopyOptions {
  int jobs = 0;                        // 0: the cores here, at most the free connections of either side
  std::string maintenance_work_mem;    // per index build connection; "" = the server's setting
  util::Millis snapshot_grace{600'000};  // how long the snapshot outlives a killed pgshift
  int64_t unit_bytes = 64ll << 20;       // smallest block range a big table is split into
  std::function<void(const CopyProgress&)> on_progress;
};

// The copy's figures and timings.
struct CopySummary {
  int jobs = 0;
  int relations = 0;
  int units = 0;
  int units_reused = 0;       // finished by an interrupted run on the same snapshot
  bool restarted = false;     // the interrupted run's snapshot was gone: copied again from scratch
  int64_t bytes = 0;
  int64_t rows = 0;
  std::string consistent_point;  // where streaming starts
  int indexes = 0, constraints = 0;
  std::vector<std::string> not_validated;
  int64_t slot_ms = 0, drop_ms = 0, copy_ms = 0, index_ms = 0, constraint_ms = 0, total_ms = 0;
  // Inside copy_ms: when the last unit finished, and the index builds run beside the units,
  // summed (copy_ms - units_ms is the builds' tail after the last unit).
  int64_t units_ms = 0, builds_during_copy_ms = 0;
};
nlohmann::json to_json(const CopySummary& summary);

// A parallel copy that stopped part-way; the slot and the copied ranges are kept, the indexes
// restored (unless sync stop asked, which restores them). The message says what to do next.
class CopyInterrupted : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

struct StartOptions {
  bool truncate_target = false;  // empty replicated target tables that hold rows
  ddl::Policy ddl = ddl::Policy::follow;  // schema changes during the move (ddl.hpp)
  CopyMode copy = CopyMode::native;
  ParallelCopyOptions parallel;
};

// How schema changes are followed in a migration (ddl.hpp), as start set it up.
struct DdlSetup {
  bool followed = false;        // the log and apply trigger are on both sides
  bool source_captures = false; // event triggers on the source (forward direction)
  bool target_captures = false; // event triggers on the target (the replication back)
  std::string policy;           // follow / hold
  std::string source_why_not;   // why the source cannot capture, when it cannot
  std::string target_why_not;
};

struct StartResult {
  enum class Outcome { started, unchanged, refenced, joined };
  Outcome outcome = Outcome::started;
  int64_t migration_id = 0;
  Names names;
  PublicationPlan plan;
  std::vector<catalog::TableRef> truncated;
  size_t fenced = 0;
  std::optional<CopySummary> copy;  // --copy parallel
  DdlSetup ddl;
  std::vector<catalog::TableRef> joined;  // a re-run: tables created since start, added now
  util::Millis took{0};
};

// Starts replication, or finds it running with the same plan and changes nothing; with a
// parallel copy that was interrupted (phase starting), resumes it.
// Throws UsageError when a migration with a different plan is syncing (naming the difference),
// ProblemsFound when target tables hold rows (without truncate_target) or the source has no
// slot or WAL sender left, RuntimeError when a step fails (after undoing the earlier steps).
StartResult start(pg::Connection& source, pg::Connection& target, const state::Plan& plan,
                  const StartOptions& options);

nlohmann::json to_json(const StartResult& result);
std::string render(const StartResult& result);

// An interrupted parallel copy waits on this target for sync start to resume it (the preflight
// would then report the migration's own slot and copied rows as hazards).
bool interrupted_copy_waiting(pg::Connection& target);

// ---- tables joining a running replication -------------------------------------------------

// One replication direction's objects, for adding tables to it.
struct JoinSpec {
  std::string publication;
  std::string subscription;
  std::vector<catalog::TablePattern> excludes;
  bool reversed = false;        // the replication back (target publishes)
  std::string identity_step;    // journal step for replica identity compensations
  std::string fence_reason;     // fence the joined tables on the subscriber ("" = do not)
};

struct JoinResult {
  std::vector<catalog::TableRef> joined;
  std::vector<catalog::TableRef> emptied;  // subscriber tables that held rows before their copy
  std::vector<IdentityChange> identity_changes;
};

// Pure: tables a publication would cover today (on both sides, not excluded, not unlogged...)
// that it does not cover yet.
std::vector<catalog::TableRef> tables_to_join(const catalog::Snapshot& publisher, const catalog::Snapshot& subscriber,
                                              const std::string& publication,
                                              const std::vector<catalog::TablePattern>& excludes);

// Adds those tables to the running replication (and refreshes a subscription that lacks
// published tables, as an interrupted earlier run leaves it): their replica identities, the fence on the
// subscriber, ALTER PUBLICATION ... ADD TABLE, ALTER SUBSCRIPTION ... REFRESH PUBLICATION (the
// subscriber copies only them, then streams). Journaled (step join-tables). ProblemsFound when
// one cannot be replicated with UPDATE/DELETE; RuntimeError when a step fails.
JoinResult join_new_tables(pg::Connection& publisher, pg::Connection& subscriber, const JoinSpec& spec,
                           state::Journal& journal, int64_t migration_id);

// ---- sync status --------------------------------------------------------------------------

struct TableStatus {
  catalog::TableRef table;
  std::string state;  // init, copying, synced, ready, or "missing" (not in the subscription)
  std::optional<int64_t> copy_bytes;
  std::optional<int64_t> copy_bytes_total;
  std::optional<int64_t> copy_tuples;
};

struct Warning {
  std::string code;
  std::string message;
};

// A parallel copy's progress, from the journal (finished units) and the target's
// pg_stat_progress_copy (units being copied).
struct CopyStatus {
  std::string state;        // copying, interrupted (no pgshift copy session connected), done
  int jobs = 0;
  int units_total = 0, units_done = 0;
  int64_t bytes_total = 0;  // estimate
  int64_t bytes_done = 0;   // finished units plus what running COPYs have processed
  int64_t rows_done = 0;    // of finished units
  int deferred_open = 0;    // indexes/constraints dropped and not rebuilt yet
  double elapsed_seconds = 0;  // since the copy's plan was made
  std::optional<double> eta_seconds;
};

struct Status {
  state::Phase phase = state::Phase::none;
  int64_t migration_id = 0;
  std::string phase_since;  // ISO 8601
  Names names;              // the migration's source and target; publication/subscription of
                            // the replication shown (the reverse ones when replicating back)
  // After a cutover (and during a rollback) replication runs back, target -> source: the
  // publisher is the target and the subscriber the source.
  bool replicating_back = false;
  std::string publisher_role() const { return replicating_back ? "target" : "source"; }
  std::string subscriber_role() const { return replicating_back ? "source" : "target"; }
  bool publication_exists = false;
  std::vector<TableStatus> tables;          // the published tables
  std::vector<catalog::LeftOut> left_out;   // tables not replicated, with why
  std::vector<catalog::TableRef> unpublished;  // on both sides, not excluded, not in the publication:
                                               // created after sync start; sync start/soak add them
  std::optional<pg::Lsn> source_lsn;       // the publisher's WAL position
  std::optional<int64_t> lag_bytes;         // source WAL insert position − slot confirmed_flush_lsn
  std::optional<double> lag_seconds;        // 0 when caught up, else seconds since the subscriber
                                            // last reported applying anything
  stats::SlotProgress slot;
  int64_t max_slot_wal_keep_size = -1;      // bytes; -1 unlimited
  stats::SubscriptionProgress subscription_state;  // .tables moved into `tables`
  std::vector<Drift> drift;
  std::vector<IdentityChange> identity_changes;  // still in place (to undo on stop)
  size_t fenced_tables = 0;
  std::optional<CopyStatus> copy;  // --copy parallel, while it runs or waits to be resumed
  // Schema changes (ddl.hpp): whether they are followed, whether the writing side captures them,
  // the newest entries of its log with their outcome on the other side, and those not applied.
  struct Ddl {
    bool followed = false;
    bool capturing = false;
    std::string policy;
    std::vector<ddl::Entry> recent;
    std::vector<ddl::Entry> pending;
  } ddl;
  std::vector<Warning> warnings;
  // The worker error counters (pg_stat_subscription_stats, cumulative) at the last healthy
  // observation — apply worker running, caught up, every table ready — journaled by status:
  // only errors since then are warned about, not a cause fixed long ago.
  int64_t apply_errors_before = 0;
  int64_t sync_errors_before = 0;
  std::string errors_seen_at;  // when that observation was made; "" = since the subscription began

  size_t count_state(const std::string& state) const;
};

// Reads both sides. `previous` (the last sample of a watch or soak loop) lets the warnings
// say how retained WAL grew while the subscription is disabled.
Status status(pg::Connection& source, pg::Connection& target, const state::Plan& plan,
              const Status* previous = nullptr);

// Pure: the warnings of a status sample — slot at risk of invalidation (max_slot_wal_keep_size),
// subscription disabled while the slot retains WAL (growth since `previous` when given), apply
// worker down, worker errors, drift, missing objects.
std::vector<Warning> status_warnings(const Status& status, const Status* previous);

nlohmann::json to_json(const Status& status);
// Human report. Lists every table up to `table_limit`, beyond that only those not ready.
std::string render(const Status& status, size_t table_limit = 40);

// ---- sync soak ----------------------------------------------------------------------------

struct Anomaly {
  std::string code;  // subscription-disabled, tables-not-ready, lag, drift, ...
  std::string message;
};

// Pure: what keeps the soak clock from running in this sample. Error counters count as an
// anomaly when they rose since `previous`.
std::vector<Anomaly> find_anomalies(const Status& now, const Status* previous, int64_t max_lag_bytes);

// The soak clock: runs while samples are clean, restarts on any anomaly. Pure (time is given).
class SoakClock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  explicit SoakClock(util::Millis required) : required_(required) {}

  struct Observation {
    bool restarted = false;         // the clock was running, or a new kind of anomaly: report it
    std::vector<Anomaly> reasons;   // the anomalies of this sample
  };
  Observation observe(TimePoint now, const std::vector<Anomaly>& anomalies);

  bool running() const { return clean_since_.has_value(); }
  bool passed(TimePoint now) const { return running() && clean_for(now) >= required_; }
  util::Millis clean_for(TimePoint now) const;
  util::Millis left(TimePoint now) const;
  util::Millis longest_clean(TimePoint now) const;
  int restarts() const { return restarts_; }
  util::Millis required() const { return required_; }

 private:
  util::Millis required_;
  std::optional<TimePoint> clean_since_;
  std::vector<std::string> held_codes_;  // anomaly kinds seen since the clock last ran
  util::Millis longest_{0};
  int restarts_ = 0;
};

struct SoakOptions {
  util::Millis duration{0};
  int64_t max_lag_bytes = 16ll << 20;
  util::Millis deadline{0};
  util::Millis interval{1000};
};

struct SoakResult {
  bool passed = false;
  bool interrupted = false;
  int restarts = 0;
  util::Millis took{0};
  util::Millis longest_clean{0};
  std::vector<Anomaly> last_anomalies;  // when it did not pass
};

// Called after every sample: the status, what the clock made of it, and the time to deadline.
struct SoakTick {
  const Status& status;
  const SoakClock& clock;
  const SoakClock::Observation& observation;
  util::Millis elapsed;
  util::Millis deadline_left;
  SoakClock::TimePoint now;
};

// Samples every interval until the clock passes (true), the deadline comes or the process is
// interrupted. Restarts, the result and the parameters are journaled (step "soak"; a pass is
// status passed, which cutover --require-soak looks for). Throws RuntimeError when no
// migration is syncing.
SoakResult soak(pg::Connection& source, pg::Connection& target, const state::Plan& plan,
                const SoakOptions& options, const std::function<void(const SoakTick&)>& on_tick);

nlohmann::json to_json(const SoakResult& result);

// ---- sync stop ----------------------------------------------------------------------------

struct StopResult {
  bool found_anything = false;
  int64_t migration_id = 0;
  Names names;
  bool subscription_dropped = false;
  std::vector<std::string> slots_dropped;  // on the source
  bool publication_dropped = false;
  std::vector<IdentityChange> identities_restored;
  size_t fence_lifted = 0;                 // tables that were fenced
  bool ddl_removed = false;                // the schema change log and capture (ddl.hpp)
  int deferred_restored = 0;               // indexes/constraints a parallel copy had dropped
  std::vector<catalog::TableRef> emptied;  // target tables an unfinished parallel copy wrote into
  std::vector<std::string> leftovers;      // verification: what is still there (should be empty)
  util::Millis took{0};
};

// Removes everything start() created; safe to run again, and after a start that crashed.
StopResult stop(pg::Connection& source, pg::Connection& target, const state::Plan& plan);

nlohmann::json to_json(const StopResult& result);
std::string render(const StopResult& result);

// ---- shared by the commands ---------------------------------------------------------------



}  // namespace pgshift::replication
