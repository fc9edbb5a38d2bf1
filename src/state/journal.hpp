// The migration's durable state: which migration is under way, in which phase, and an
// append-only journal of everything pgshift did to it. It lives in schema `pgshift` on the
// TARGET database (created on first write; the catalog never reads or publishes that schema),
// so every operator's machine, and a Kubernetes Job, sees the same history.
//
//   pgshift.migration (id, plan jsonb, phase, created_at, updated_at)
//       One row per migration. plan is state::Plan::to_json(): endpoints redacted, no secret.
//       The most recent row is "the current migration".
//   pgshift.event (id, migration_id, at, command, step, status, detail jsonb, who, version)
//       Append-only (a trigger rejects UPDATE and DELETE). `at` is the server's
//       clock_timestamp(); who is "<os user>@<host>", version the pgshift version.
//
// How commands use it (sync now, cutover later):
//   - Journal j(target, "sync start");                  // command stamped on each event
//   - Migration m = j.begin(plan.to_json(), Phase::starting);
//   - j.run_step(m.id, "publication", [&] { ...; return detail; });
//         records `started`, then `finished` with the returned detail, or `failed` with the
//         (redacted) error and rethrows. Each step so has its timestamps.
//   - A change that must be undone later is recorded as a compensation BEFORE it is made:
//         Event c = j.compensation(m.id, "replica-identity", {{"table", ...}, {"restore", ...}});
//     and settled once undone: j.settle(m.id, c). open_compensations() lists the unsettled ones
//     (most recent first) so stop/rollback can undo them even after a crash.
//   - j.set_phase(m.id, Phase::syncing) moves the migration along; current() reads it back;
//     last_event() / events() let a command resume after the last finished step.
//
// Every detail document is passed through util::redact before it is stored, so a password that
// reached an error message never lands in the journal. Reads tolerate a database where the
// schema does not exist yet (no migration). Methods throw pg::SqlError on server errors.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pg/connection.hpp"

namespace pgshift::state {

inline constexpr std::string_view kSchema = "pgshift";

// Journal steps other commands read: sync start's record (its detail holds the column
// differences accepted at start, which are not drift) and a passed soak.
inline constexpr std::string_view kSyncStartStep = "start";
inline constexpr std::string_view kSoakStep = "soak";
// Compensations for the replica identities sync start set (restored by sync stop / finalize).
inline constexpr std::string_view kReplicaIdentityStep = "replica-identity";

// Where a migration stands. none: nothing recorded. starting: sync start is (or was, when it
// crashed) creating objects. syncing: replication runs source -> target (also after a
// rollback). stopped: sync stop removed everything (also after a start that failed and was
// undone). cutting_over: a cutover is (or was, when it crashed) switching writers.
// cut_over: the target is the writer, reverse replication keeps the source current.
// rolling_back: a rollback is (or was) switching back. finalized: the migration is over.
enum class Phase { none, starting, syncing, stopped, cutting_over, cut_over, rolling_back, finalized };
std::string to_string(Phase phase);
// Throws RuntimeError on text no pgshift version wrote.
Phase phase_from_string(std::string_view text);

// started / finished / failed bracket a step; info is a one-off fact (a soak clock restart, a
// run that changed nothing); compensation is an undo to do later, settled marks it done.
enum class EventStatus { started, finished, failed, info, passed, compensation, settled };
std::string to_string(EventStatus status);
EventStatus event_status_from_string(std::string_view text);

struct Migration {
  int64_t id = 0;
  nlohmann::json plan;
  Phase phase = Phase::none;
  std::string created_at;  // ISO 8601, UTC
  std::string updated_at;
};

struct Event {
  int64_t id = 0;
  int64_t migration_id = 0;
  std::string at;  // ISO 8601, UTC, millisecond precision
  std::string command;
  std::string step;
  EventStatus status = EventStatus::info;
  nlohmann::json detail;
  std::string who;
  std::string version;
};

// "<os user>@<hostname>" of this process.
std::string who_am_i();

class Journal {
 public:
  // command ("sync start", "cutover", ...) is stamped on every event this object writes.
  Journal(pg::Connection& target, std::string command);

  // Creates schema pgshift and its tables when missing (idempotent, safe to race).
  void ensure_schema();

  // ---- reads (never create anything)
  std::optional<Migration> current();
  std::vector<Event> events(int64_t migration_id);
  // The most recent event of a step, optionally with a given status.
  std::optional<Event> last_event(int64_t migration_id, std::string_view step,
                                  std::optional<EventStatus> status = std::nullopt);
  // Compensations not settled yet, most recent first; step filters when not empty.
  std::vector<Event> open_compensations(int64_t migration_id, std::string_view step = {});

  // ---- writes (create the schema on first use)
  Migration begin(const nlohmann::json& plan, Phase phase);
  void set_phase(int64_t migration_id, Phase phase);
  int64_t record(int64_t migration_id, std::string_view step, EventStatus status,
                 const nlohmann::json& detail = nlohmann::json::object());
  Event compensation(int64_t migration_id, std::string_view step, const nlohmann::json& undo);
  void settle(int64_t migration_id, const Event& compensation,
              const nlohmann::json& detail = nlohmann::json::object());

  // Brackets fn with started / finished (detail = fn's result) or failed (error) events.
  nlohmann::json run_step(int64_t migration_id, std::string_view step, const std::function<nlohmann::json()>& fn,
                          const nlohmann::json& started_detail = nlohmann::json::object());

  const std::string& command() const { return command_; }

 private:
  bool schema_exists();
  pg::Connection& conn_;
  std::string command_;
  bool ensured_ = false;
};

}  // namespace pgshift::state
