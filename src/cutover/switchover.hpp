// Internal to the cutover room: one switch of the writer, in either direction.
//
// Old replication: publication on the writer, subscription on the replica. The switch fences
// the writer, lets the replica catch up, and ends with the replica as the writer and new
// replication the other way: publication on the replica (created for a cutover, the kept
// forward publication for a rollback) and a subscription on the old writer (no copy).
//
// Journal vocabulary: steps are the timeline's names ("pause", "fence", ...); compensations are
// recorded under "<action>:<kind>" so an abort (or --resume after a crash) undoes exactly the
// attempt's changes, most recent first.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cutover/cutover.hpp"
#include "cutover/pooler.hpp"
#include "pg/connection.hpp"
#include "state/journal.hpp"
#include "state/plan.hpp"

namespace pgshift::cutover::detail {

// Compensation kinds (the part after "<action>:").
inline constexpr std::string_view kSyncCommit = "sync-commit";            // {subscription, previous}
inline constexpr std::string_view kPoolerPaused = "pooler-paused";        // {database}
inline constexpr std::string_view kWriterFence = "writer-fence";          // {tables}
inline constexpr std::string_view kOldSubscriptionDisabled = "old-subscription-disabled";  // {subscription}
inline constexpr std::string_view kReverseIdentity = "reverse-identity";  // logical::IdentityChange
inline constexpr std::string_view kNewPublication = "new-publication";    // {publication}
inline constexpr std::string_view kNewSubscription = "new-subscription";  // {subscription}: made disabled, no slot
inline constexpr std::string_view kNewSlot = "new-slot";                  // {slot}: on the replica, in the pause
inline constexpr std::string_view kNewSubscriptionEnabled = "new-subscription-enabled";  // {subscription}
inline constexpr std::string_view kReplicaFenceLifted = "replica-fence-lifted";  // {tables, reason}
inline constexpr std::string_view kPoolerConfig = "pooler-config";        // {path, backup}
// Rollback over pgshift's apply: the apply process was stopped (undo: start it again).
inline constexpr std::string_view kApplyBackStopped = "apply-back-stopped";  // ApplyBackProcess

// The journal step recording the --source-subscriber of the last cutover.
inline constexpr std::string_view kSourceSubscriberStep = "source-subscriber";

// The step whose finished event marks the point of no return.
inline constexpr std::string_view kSwitchStep = "switch";

struct Direction {
  std::string action;        // "cutover" or "rollback"
  std::string writer_role;   // "source" / "target": how messages name the sides
  std::string replica_role;
  pg::ConnInfo writer;
  pg::ConnInfo replica;
  std::string old_publication, old_subscription;  // writer -> replica, running now
  std::string new_publication, new_subscription;  // replica -> writer, after the switch
  state::Phase from_phase, in_flight_phase, done_phase, aborted_phase;
  bool create_new_publication = false;  // cutover: the reverse publication is new
  bool new_replication = true;          // start replica -> writer replication
  // cutover: the replication back is pgshift's apply, not a subscription (--replicate-back);
  // rollback: the running replication back (the old one) is pgshift's apply.
  bool new_by_apply = false;
  bool old_by_apply = false;
  std::string writer_fence_reason;      // message on the fenced old writer
  std::string replica_fence_reason;     // to re-fence the replica after an aborted switch

  std::string step(std::string_view kind) const { return action + ":" + std::string(kind); }
  static Direction for_cutover(const state::Plan& plan, const SwitchOptions& options);
  static Direction for_rollback(const state::Plan& plan, const SwitchOptions& options);
};

// The open connections of a switch. The journal and the migration lock use their own
// connection to the target, which runs nothing long.
struct Sides {
  pg::Connection writer;
  pg::Connection replica;
  pg::Connection journal;
  // --source-subscriber: the source's role that creates, alters and drops the subscription on the
  // source (the replication back), when the sync role may not. Every subscription command on the
  // source side goes through subscriptions_on_writer()/subscriptions_on_replica().
  std::optional<pg::Connection> source_subscriber;
  bool writer_is_source = true;

  pg::Connection& subscriptions_on_writer() {
    return writer_is_source && source_subscriber ? *source_subscriber : writer;
  }
  pg::Connection& subscriptions_on_replica() {
    return !writer_is_source && source_subscriber ? *source_subscriber : replica;
  }
  // Opens the three connections, and the source subscriber's when the plan has one (refused when
  // it reaches another server or database than the source).
  static Sides open(const Direction& d, const state::Plan& plan, const std::string& command);
};

// The journal keeps which --source-subscriber a cutover used (step "source-subscriber"): each
// cutover records its own (or none); rollback, resume and finalize refuse (UsageError, before
// changing anything) to run without it when the last cutover had one, since only that role may
// alter or drop the subscription back.
void record_source_subscriber(state::Journal& journal, int64_t migration_id, const state::Plan& plan);
void require_source_subscriber(state::Journal& journal, int64_t migration_id, const state::Plan& plan,
                               std::string_view command);

// Checks everything a switch needs before it touches anything (ProblemsFound with the list of
// what is wrong), then sets the old subscription's synchronous_commit to on (a compensation),
// so the slot confirms each applied commit at once and the catch-up takes milliseconds.
nlohmann::json check_preconditions(Sides& sides, const Direction& d, const state::Plan& plan,
                                   const SwitchOptions& options, state::Journal& journal, int64_t migration_id);

// Polls the drain query on the writer until it returns 0; ProblemsFound at the timeout.
nlohmann::json drain(pg::Connection& writer, const std::string& sql, util::Millis timeout);

// Undoes the attempt's open compensations, most recent first; returns a line per undo.
std::vector<std::string> undo_attempt(Sides& sides, const Direction& d, state::Journal& journal,
                                      int64_t migration_id, std::optional<PoolerAdmin>& pooler);

// After the switch: drop the old subscription (and, for a rollback, the reverse publication and
// the reverse replica identities), settle the attempt's compensations.
std::vector<std::string> clean_up_after_switch(Sides& sides, const Direction& d, state::Journal& journal,
                                               int64_t migration_id);

// Whether the attempt in flight reached the point of no return (its switch step finished).
bool attempt_switched(state::Journal& journal, int64_t migration_id, const std::string& action);

// The pooler's endpoint for the new writer: the option, else its connection string's parts.
PoolerEndpoint new_writer_endpoint(const PoolerOptions& pooler, const pg::ConnInfo& new_writer);

}  // namespace pgshift::cutover::detail
