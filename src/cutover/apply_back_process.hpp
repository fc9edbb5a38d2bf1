// The replication back through pgshift's own apply (`pgshift sync apply-back`), for a source that
// cannot CREATE SUBSCRIPTION: cutover starts it detached after the switch, rollback waits for it
// and stops it, finalize stops it, status shows it.
//
// The process: `<this executable> sync apply-back --slot S --publication P` in its own session
// (setsid: Ctrl-C or a lost terminal does not reach it), stdout and stderr appended to a log file.
// The connection strings travel in its environment (PGSHIFT_SOURCE_URL / PGSHIFT_TARGET_URL),
// never argv: /proc/<pid>/environ is readable only by the same user, argv by everyone.
//
// The journal step "apply-back" (finished, on the target) records {pid, slot, publication, log,
// allow_triggers} each time one is started (by cutover, by `sync apply-back --detach`, and by the
// process itself once it holds the migration's reverse slot, so one started by hand is known too);
// the most recent such event after the last switch is the running one. A run that stops on an
// error records it (step "apply-back", failed, {pid, error}): status shows it as the last error. A pid is signalled only after /proc/<pid>/cmdline shows it is still pgshift's
// `sync apply-back` for that slot (a reused pid is never killed).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "state/journal.hpp"
#include "pg/conninfo.hpp"
#include "pg/connection.hpp"
#include "util/duration.hpp"

namespace pgshift::cutover {

inline constexpr std::string_view kApplyBackStep = "apply-back";
// How start_apply_back tells the process its log file (so that it can journal the path).
inline constexpr const char* kApplyBackLogEnv = "PGSHIFT_APPLY_BACK_LOG";

struct ApplyBackProcess {
  int pid = -1;
  std::string slot, publication, log;
  bool allow_triggers = false;
  std::string host;  // where it was started (the journal event's who: user@host); not in to_json

  nlohmann::json to_json() const;
  static ApplyBackProcess from_json(const nlohmann::json& j);
};

// Starts the process and waits up to `settle` for it to stay up: RuntimeError naming the log's
// last line when it exits at once (a trigger refusal, a connection error).
ApplyBackProcess start_apply_back(const pg::ConnInfo& source, const pg::ConnInfo& target, const std::string& slot, const std::string& publication,
                                  const std::string& log, bool allow_triggers,
                                  util::Millis settle = util::Millis(1500));

// The log path: `given`, or pgshift-apply-back-<migration id>.log; absolute (from the working directory).
std::string apply_back_log_path(const std::string& given, int64_t migration_id);

// The pid of the walsender streaming `slot` on the target (an apply holds it), or nullopt when
// the slot is inactive or missing. The apply may run on any machine.
std::optional<int> apply_back_holder(pg::Connection& target, const std::string& slot);
inline bool apply_back_running(pg::Connection& target, const std::string& slot) {
  return apply_back_holder(target, slot).has_value();
}

// Stops whatever apply streams `slot`: terminates its walsender on the target and waits up to
// timeout for the slot to be released (RuntimeError naming the slot and walsender otherwise, or
// when the target role may not terminate it). When the recorded process `p` is a local apply of
// that slot, also waits for it to exit (SIGKILL after timeout; it restarts without loss).
// Returns false when no apply held the slot.
bool stop_apply_back(pg::Connection& target, const std::string& slot, const ApplyBackProcess* p = nullptr,
                     util::Millis timeout = util::Millis(15'000));

// The apply-back the journal recorded after the migration's last switch, if any (with its host).
std::optional<ApplyBackProcess> recorded_apply_back(state::Journal& journal, int64_t migration_id);

// Records `p` (a process now streaming `p.slot`) as the migration's running apply-back, when the
// current migration is cut_over (the rollback window). Returns its id, or nullopt when not recorded.
std::optional<int64_t> journal_apply_back(pg::Connection& target, const ApplyBackProcess& p);

// Records that apply-back `pid` stopped with `error` (best effort: never throws).
void journal_apply_back_error(pg::Connection& target, int64_t migration_id, int pid, const std::string& error) noexcept;

// For `pgshift status`: the apply-back cutover recorded for the current migration, or nullopt
// (none, or no journal): {pid, host, running, walsender_pid, slot, log, started_by, applied_lsn,
// lag_bytes, last_error}. running: the slot is active (walsender_pid holds it), wherever the apply
// runs; host: the machine of the recorded run (from started_by, user@host).
// The lag is the target's current WAL insert position minus what the source stored as applied.
// last_error: the error that process recorded when it stopped, else (not running) the last error
// line of its log, else null.
std::optional<nlohmann::json> apply_back_status(pg::Connection& source, pg::Connection& target);

// The last line of the log that reads like an error ("error", "failed", "conflict"), or "".
std::string last_error_line(const std::string& log);

}  // namespace pgshift::cutover
