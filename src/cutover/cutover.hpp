// The cutover room: switch the application's writes from one server to the other with no lost
// commit and (through PgBouncer) no client error, keep the old server current for a rollback
// window, and end the migration.
//
//   cutover()   source -> target. Preconditions (tables ready, replication progressing, lag,
//               drift, soak), verify (live, with the lag fence), prepare the reverse replication
//               (publication, a disabled subscription), drain, then PAUSE the pooler, fence the
//               source, wait until the target has everything up to the fence, copy sequences,
//               start the reverse replication (its slot, from now), point the pooler at the
//               target, lift the target's fence, RESUME. The pause holds only steps whose time
//               does not grow with the data.
//   rollback()  the same switch in the other direction over the reverse replication; afterwards
//               the source writes again and forward replication runs (so cutover can be retried).
//   resume()    after pgshift died mid-switch: finishes a switch whose pooler already points at
//               the new writer, otherwise rolls the attempt back — from the journal.
//   finalize()  after the rollback window: drops reverse replication and every object pgshift
//               made on both sides except the journal; the old server stays fenced (read-only).
//
// Every step is journaled with timestamps (state/journal.hpp) and each change that must be
// undone on failure is recorded as a compensation before it is made. A failure before the
// switch undoes the attempt's compensations in reverse order and resumes traffic on the old
// writer: no paused pooler, no fence, no dangling slot. While traffic is paused or a fence is
// up, a watchdog process (watchdog.hpp) resumes traffic on the consistent side within a second
// if pgshift itself dies (kill -9).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cutover/pooler_config.hpp"
#include "cutover/sequences.hpp"
#include "pg/conninfo.hpp"
#include "state/plan.hpp"
#include "util/duration.hpp"

namespace pgshift::cutover {

enum class VerifyGate { none, counts, full };

// How cutover keeps the source current after the switch (--replicate-back):
//   native   a subscription on the source (needs a role that may CREATE SUBSCRIPTION);
//   pgshift  pgshift's own apply (`pgshift sync apply-back`, apply_back_process.hpp), started
//            detached by cutover, for a source that cannot subscribe;
//   automatic  native when the source's role can subscribe, else pgshift.
enum class ReplicateBack { automatic, native, pgshift };

// The data gate's answer: any difference that is not replication lag aborts the switch.
struct GateOutcome {
  bool ok = false;
  std::string summary;  // one line: "12 tables match (48,210 rows)" / "public.orders: 3 rows differ"
};
// Compares the old writer (first) with the new writer (second) while writes still go on, before
// the pause: a difference is re-checked after the slot `slot` (on the old writer) confirmed the
// writer's position, so only one that is not lag counts. Inside the pause the catch-up to the
// fence LSN then proves the new writer has every commit after that: nothing in the pause grows
// with the data. The CLI provides it from the verify room, which this room does not include
// (feature rooms stay independent).
using GateFn = std::function<GateOutcome(const pg::ConnInfo& old_writer, const pg::ConnInfo& new_writer,
                                         const std::vector<std::string>& excludes, const std::string& slot)>;

struct PoolerOptions {
  pg::ConnInfo admin;                     // --pooler-admin: PgBouncer's admin console
  std::string database;                   // --pooler-db: the [databases] entry the application uses
  std::string config_path;                // --pooler-config: the ini file to rewrite
  std::optional<PoolerEndpoint> new_writer;  // where the pooler reaches the new writer; default:
                                             // host, port and dbname of its connection string
};

struct SwitchOptions {
  int64_t max_lag_bytes = 16ll << 20;
  // Tables on the writer only (neither replicated nor excluded) refuse the switch unless set:
  // the application would be switched to a database that lacks them.
  bool allow_missing_tables = false;
  bool require_soak = false;
  std::string drain_query;  // must return 0 (first column of the first row) before pausing
  util::Millis drain_timeout{300'000};
  std::optional<PoolerOptions> pooler;
  std::string switch_command;  // without a pooler: run with PGSHIFT_TARGET_URL, must exit 0
  util::Millis switch_timeout{300'000};
  util::Millis pause_timeout{10'000};
  util::Millis catchup_timeout{30'000};
  int64_t sequence_margin = 0;
  VerifyGate verify = VerifyGate::counts;  // before the pause, with the lag fence
  GateFn gate;  // required unless verify is none
  bool reverse = true;  // cutover: keep the old server current through reverse replication
  ReplicateBack replicate_back = ReplicateBack::automatic;
  // pgshift's apply: its log file (default pgshift-apply-back-<migration id>.log in the working
  // directory, made absolute) and whether it may apply although user triggers would fire again.
  std::string apply_back_log;
  bool apply_back_allow_triggers = false;
  // After the switch (clients already resumed): REFRESH MATERIALIZED VIEW on the new writer for
  // each of its materialized views (logical replication does not carry their contents).
  bool refresh_matviews = false;
  // How the old writer's server reaches the new writer for reverse replication (cutover) or
  // how the target reaches the source again (rollback); default: the plan's connection string.
  std::optional<pg::ConnInfo> replica_publisher;
  bool watchdog = true;
  std::string fail_at;  // testing: "STEP" fails that step, "STEP:kill" kills pgshift there
};

// `--resume` found an attempt that had not reached the switch and undid it: nothing failed, but
// the writer did not change (0 would say it switched).
inline constexpr int kExitRolledBack = 4;

struct StepTiming {
  std::string step;
  double started_ms = 0;  // since the command started
  double took_ms = 0;
  std::string detail;
};

struct SwitchResult {
  std::string action;  // "cutover", "rollback", "resume"
  int64_t migration_id = 0;
  bool switched = false;           // the writer changed
  int exit_code = 0;               // 0 switched, 1 preconditions not met, 3 a step failed,
                                   // kExitRolledBack: --resume undid the interrupted attempt
  bool rolled_back = false;        // --resume: the interrupted attempt was undone
  std::string writer;              // redacted endpoint of the writer afterwards
  std::string writer_role;         // "source" or "target"
  std::vector<StepTiming> timeline;
  std::optional<double> paused_ms;  // pooler PAUSE -> RESUME
  std::optional<double> fenced_ms;  // writes refused on both sides: fence -> new writer unfenced
  std::vector<SequenceCopy> sequences;
  std::string failed_step;          // when it did not switch
  std::string error;
  std::vector<std::string> undone;  // compensations done after a failure
  double took_ms = 0;
};

SwitchResult cutover(const state::Plan& plan, const SwitchOptions& options);
SwitchResult rollback(const state::Plan& plan, const SwitchOptions& options);
SwitchResult resume(const state::Plan& plan, const SwitchOptions& options);

struct FinalizeResult {
  int64_t migration_id = 0;
  std::vector<std::string> removed;  // what was dropped or restored, one line each
  size_t source_fenced_tables = 0;   // the old server stays read-only
  double took_ms = 0;
};

// Only after a cutover (phase cut_over). Throws UsageError in any other phase.
FinalizeResult finalize(const state::Plan& plan);

nlohmann::json to_json(const SwitchResult& result);
std::string render(const SwitchResult& result);
nlohmann::json to_json(const FinalizeResult& result);
std::string render(const FinalizeResult& result);

}  // namespace pgshift::cutover
