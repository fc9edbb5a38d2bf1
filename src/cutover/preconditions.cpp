// What must hold before a switch touches anything, and the drain wait.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "catalog/catalog.hpp"
#include "ddl/ddl.hpp"
#include "cutover/switchover.hpp"
#include "logical/apply.hpp"
#include "logical/logical.hpp"
#include "pg/quote.hpp"
#include "pg/transaction.hpp"
#include "stats/replication_progress.hpp"
#include "stats/subscription_progress.hpp"
#include "util/error.hpp"

namespace pgshift::cutover::detail {
namespace {

constexpr std::string_view kFlushLsnSql = "SELECT pg_current_wal_flush_lsn()::text";
constexpr std::string_view kSyncCommitSql = "SELECT subsynccommit FROM pg_subscription WHERE subname = $1";

std::vector<catalog::TableRef> published_tables(const catalog::Snapshot& snap, const std::string& publication) {
  for (const auto& p : snap.publications) {
    if (p.name == publication) return p.tables;
  }
  return {};
}

void wait_for_apply_worker(pg::Connection& replica, const std::string& subscription) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!stats::subscription_progress(replica, subscription).apply_pid) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw RuntimeError(fmt::format("{}: the apply worker of subscription '{}' did not come back within 15s",
                                     replica.endpoint(), subscription));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Which replicated table the first change the replica has not confirmed is on: a temporary copy
// of the slot decoded with test_decoding (contrib) shows it, without consuming anything. Only
// the table's name is used, never the row. nullopt when it cannot tell (no free slot, no
// test_decoding, no REPLICATION privilege, or no change of a replicated table in the first few).
std::optional<std::string> first_unconfirmed_table(pg::Connection& writer, const std::string& slot,
                                                   const catalog::Snapshot& snap,
                                                   const std::vector<catalog::TableRef>& replicated) {
  static constexpr std::string_view kCopySql = "SELECT pg_copy_logical_replication_slot($1, $2, true, 'test_decoding')";
  static constexpr std::string_view kPeekSql = "SELECT data FROM pg_logical_slot_peek_changes($1, NULL, 50)";
  static constexpr std::string_view kDropSql = "SELECT pg_drop_replication_slot($1)";
  std::string probe = fmt::format("pgshift_probe_{}", writer.exec("SELECT pg_backend_pid()").scalar());
  try {
    writer.exec(kCopySql, {slot, probe});
  } catch (const std::exception& e) {
    spdlog::debug("could not copy slot {} to see the stuck change: {}", slot, e.what());
    return std::nullopt;
  }
  std::optional<std::string> found;
  try {
    pg::Result r = writer.exec(kPeekSql, {probe});
    for (int i = 0; i < r.rows() && !found; ++i) {
      std::string_view line = r.view(i, 0);  // "table public.items: INSERT: id[bigint]:2 ..."
      if (!line.starts_with("table ")) continue;
      std::string name(line.substr(6, line.find(':') - 6));
      for (const auto& t : snap.tables) {
        if (pg::display_name(t.ref.schema, t.ref.name) != name) continue;
        catalog::TableRef published = t.partition_root.value_or(t.ref);
        if (std::find(replicated.begin(), replicated.end(), published) != replicated.end()) found = name;
      }
    }
  } catch (const std::exception& e) {
    spdlog::debug("could not decode slot {}: {}", probe, e.what());
  }
  try {
    writer.exec(kDropSql, {probe});
  } catch (const std::exception&) {
    // temporary: it goes with the session anyway
  }
  return found;
}

// Replication must be progressing, not merely configured: the replica confirms the writer's
// position of now within a short deadline. A stalled apply (a row it cannot apply, say one routed
// to a partition the replica lacks) would otherwise reach the pause and the fence and wait out
// --catchup-timeout there with clients paused. Returns the problem, or "" when it progresses.
std::string replication_progress_problem(Sides& sides, const Direction& d, util::Millis deadline,
                                         const catalog::Snapshot& writer_snap,
                                         const std::vector<catalog::TableRef>& replicated) {
  // The flushed position, not the insert position: a background record (running xacts) can sit
  // unflushed on an idle server, and the walsender only sends what is flushed. A committed
  // transaction the apply cannot get past is always below it.
  pg::Lsn now = pg::Lsn::parse_or_throw(sides.writer.exec(kFlushLsnSql).scalar(), "pg_current_wal_flush_lsn()");
  if (stats::wait_for_slot_confirmed(sides.writer, d.old_subscription, now, deadline)) return "";
  stats::SubscriptionProgress sub = stats::subscription_progress(sides.replica, d.old_subscription);
  stats::SlotProgress slot = stats::slot_progress(sides.writer, d.old_subscription);
  std::string worker = sub.apply_pid ? fmt::format("apply worker running (pid {})", *sub.apply_pid)
                                     : std::string("apply worker not running");
  std::string errors;
  if (sub.apply_error_count || sub.sync_error_count) {
    errors = fmt::format(", {} apply and {} table-sync error(s) counted in pg_stat_subscription_stats (the error "
                         "text is in the {}'s server log)",
                         sub.apply_error_count.value_or(0), sub.sync_error_count.value_or(0), d.replica_role);
  }
  std::string table;
  if (std::optional<std::string> t = first_unconfirmed_table(sides.writer, d.old_subscription, writer_snap, replicated)) {
    table = fmt::format("; the first change not applied is on table {}", *t);
  }
  return fmt::format("replication is not progressing: the {} did not confirm the {}'s position {} within {} (slot {} "
                     "confirmed {}); subscription {} {}, {}{}{}",
                     d.replica_role, d.writer_role, now.to_string(), util::format_duration(deadline),
                     d.old_subscription, slot.confirmed_flush ? slot.confirmed_flush->to_string() : "nothing",
                     d.old_subscription, sub.enabled ? "enabled" : "disabled", worker, errors, table);
}

}  // namespace

PoolerEndpoint new_writer_endpoint(const PoolerOptions& pooler, const pg::ConnInfo& new_writer) {
  if (pooler.new_writer) return *pooler.new_writer;
  return {new_writer.host(), new_writer.port(), new_writer.dbname()};
}

nlohmann::json check_preconditions(Sides& sides, const Direction& d, const state::Plan& plan,
                                   const SwitchOptions& options, state::Journal& journal, int64_t migration_id) {
  std::vector<std::string> problems;
  catalog::Snapshot writer = catalog::read_snapshot(sides.writer);
  catalog::Snapshot replica = catalog::read_snapshot(sides.replica);
  std::vector<catalog::TableRef> tables = published_tables(writer, d.old_publication);
  if (tables.empty()) problems.push_back(fmt::format("publication {} on the {} is missing or empty",
                                                     d.old_publication, d.writer_role));

  stats::SubscriptionProgress sub = stats::subscription_progress(sides.replica, d.old_subscription);
  size_t ready = 0;
  if (d.old_by_apply) {
    // Rollback over pgshift's apply: no subscription on the source; the slot on the target and
    // the apply process (checked by the engine) carry the replication back.
    ready = tables.size();
  } else if (!sub.exists) {
    problems.push_back(fmt::format("subscription {} does not exist on the {}", d.old_subscription, d.replica_role));
  } else {
    if (!sub.enabled) problems.push_back(fmt::format("subscription {} is disabled", d.old_subscription));
    std::vector<std::string> not_ready;
    for (const auto& t : sub.tables) {
      if (t.state == 'r') ++ready;
      else not_ready.push_back(fmt::format("{} ({})", pg::display_name(t.schema, t.name), stats::table_state_name(t.state)));
    }
    if (!not_ready.empty()) {
      problems.push_back(fmt::format("{} table(s) not ready: {}", not_ready.size(), fmt::join(not_ready, ", ")));
    }
  }
  stats::SlotProgress slot = stats::slot_progress(sides.writer, d.old_subscription);
  std::optional<int64_t> lag;
  if (!slot.exists) {
    problems.push_back(fmt::format("replication slot {} does not exist on the {}", d.old_subscription, d.writer_role));
  } else if (slot.confirmed_flush) {
    lag = std::max<int64_t>(0, stats::current_wal_lsn(sides.writer).bytes_after(*slot.confirmed_flush));
    if (*lag > options.max_lag_bytes) {
      problems.push_back(fmt::format("lag is {} (--max-lag {})", util::format_bytes(*lag),
                                     util::format_bytes(options.max_lag_bytes)));
    }
  }

  // Drift, always described source -> target. Forward replication (source to target) breaks on
  // every difference not accepted at sync start; replication back (target to source) breaks on
  // a target column the source lacks, accepted or not.
  const bool is_cutover = d.action == "cutover";
  const catalog::Snapshot& source_snap = is_cutover ? writer : replica;
  const catalog::Snapshot& target_snap = is_cutover ? replica : writer;
  std::vector<std::string> accepted;
  if (auto start = journal.last_event(migration_id, state::kSyncStartStep, state::EventStatus::finished)) {
    accepted = start->detail.value("accepted_differences", std::vector<std::string>{});
  }
  bool check_forward = is_cutover || d.new_replication;
  bool check_backward = !is_cutover || (d.new_replication && d.create_new_publication);
  if (check_forward) {
    for (const auto& drift : logical::find_drift(source_snap, target_snap, tables, accepted)) {
      problems.push_back("drift: " + drift.description);
    }
  }
  if (check_backward) {
    for (const auto& drift : logical::find_drift(source_snap, target_snap, tables, {})) {
      if (drift.kind != "extra_on_target" && drift.kind != "partition_missing_on_source" &&
          drift.kind != "enum_labels_missing_on_source") {
        continue;
      }
      problems.push_back(fmt::format("replication from the target back to the source would break: {}{}",
                                     drift.description, is_cutover ? " (or pass --no-reverse)" : ""));
    }
  }

  {
    catalog::TableSelection sel = catalog::select_tables(writer, replica, plan.exclude_patterns());
    std::vector<std::string> missing;
    for (const auto& lo : sel.left_out) {
      if (lo.reason == catalog::LeftOutReason::source_only) missing.push_back(lo.table.display());
    }
    if (!missing.empty() && !options.allow_missing_tables) {
      problems.push_back(fmt::format("{} table(s) on the {} are neither replicated nor excluded, so the {} lacks them: "
                                     "{} (create them there and restart sync, or pass --allow-missing-tables to "
                                     "leave them behind)",
                                     missing.size(), d.writer_role, d.replica_role, fmt::join(missing, ", ")));
    }
  }

  // The writer's tables of now, not the plan recorded at start: a table created since then on
  // both sides (a followed CREATE TABLE, a migration run on each side) must replicate too, or
  // the switch would leave its rows behind.
  {
    std::vector<std::string> unpublished;
    for (const auto& t : logical::plan_publication(writer, replica, plan.exclude_patterns()).tables) {
      if (std::find(tables.begin(), tables.end(), t) == tables.end()) unpublished.push_back(t.display());
    }
    if (!unpublished.empty()) {
      problems.push_back(fmt::format("{} table(s) on both sides are not replicated (created since the replication "
                                     "began): {}; pgshift sync soak or sync start adds them (only they are copied), "
                                     "or exclude them",
                                     unpublished.size(), fmt::join(unpublished, ", ")));
    }
    if (sub.exists) {
      std::vector<std::string> unsubscribed;
      for (const auto& t : tables) {
        bool found = std::any_of(sub.tables.begin(), sub.tables.end(),
                                 [&](const auto& s) { return s.schema == t.schema && s.name == t.name; });
        if (!found) unsubscribed.push_back(t.display());
      }
      if (!unsubscribed.empty()) {
        problems.push_back(fmt::format("{} published table(s) are not in subscription {} yet: {}; ALTER SUBSCRIPTION "
                                       "{} REFRESH PUBLICATION on the {} (pgshift sync soak does it)",
                                       unsubscribed.size(), d.old_subscription, fmt::join(unsubscribed, ", "),
                                       d.old_subscription, d.replica_role));
      }
    }
  }
  // A schema change the replica's apply is held at: nothing after it arrives until it is decided.
  {
    std::string policy = ddl::recorded_policy(sides.replica);
    for (const auto& e : ddl::pending(ddl::entries(sides.writer, sides.replica, 1000))) {
      if (!ddl::held(e, policy)) continue;
      problems.push_back(fmt::format("schema change {} on the {} is held ({}): {}; pgshift sync ddl apply or skip it",
                                     e.id.substr(0, 8), d.writer_role, e.reason, ddl::one_line(e.statement, 160)));
    }
  }

  if (options.require_soak) {
    auto start = journal.last_event(migration_id, state::kSyncStartStep, state::EventStatus::finished);
    auto soak = journal.last_event(migration_id, state::kSoakStep, state::EventStatus::passed);
    if (!soak || (start && soak->id < start->id)) {
      problems.push_back("no passed soak since sync start (--require-soak): run pgshift sync soak --for DURATION");
    }
  }

  if (d.new_replication) {
    const catalog::ServerInfo& r = replica.server;
    if (r.setting("wal_level") != "logical") {
      problems.push_back(fmt::format("wal_level is '{}' on the {}: it cannot publish the replication back (or pass "
                                     "--no-reverse)",
                                     r.setting("wal_level"), d.replica_role));
    } else if (r.replication_slots_in_use >= r.setting_int("max_replication_slots")) {
      problems.push_back(fmt::format("no replication slot free on the {} for the replication back", d.replica_role));
    }
    // The names of the replication back must be free: a slot is server-wide, so one of that
    // name in another database is another migration's (its rollback window).
    if (stats::subscription_progress(sides.writer, d.new_subscription).exists) {
      problems.push_back(fmt::format("subscription {} already exists on the {}: another migration's? choose other "
                                     "names (subscription: in the plan)",
                                     d.new_subscription, d.writer_role));
    }
    if (std::optional<std::string> db = logical::slot_database(sides.replica, d.new_subscription)) {
      problems.push_back(fmt::format("replication slot {} already exists on the {} server (database {}): it belongs "
                                     "to another migration or consumer; choose other names (subscription: in the "
                                     "plan)",
                                     d.new_subscription, d.replica_role, db->empty() ? "none" : *db));
    }
    if (d.create_new_publication && logical::publication_exists(sides.replica, d.new_publication)) {
      problems.push_back(fmt::format("publication {} already exists on the {}", d.new_publication, d.replica_role));
    }
    // The role that will own the subscription back: the writer's, or --source-subscriber's.
    const bool separate = &sides.subscriptions_on_writer() != &sides.writer;
    catalog::ServerInfo owner = separate ? catalog::read_server_info(sides.subscriptions_on_writer()) : writer.server;
    logical::SubscribeCapability cap =
        d.new_by_apply ? logical::SubscribeCapability{}
                       : logical::subscribe_capability(owner, logical::read_provider(sides.subscriptions_on_writer()));
    if (d.new_by_apply && !writer.server.superuser && !options.apply_back_allow_triggers) {
      // pgshift's apply as an ordinary role cannot set session_replication_role = replica: the
      // application's triggers would fire again for each applied change (apply.hpp). Refused
      // here, before the switch, rather than by the apply after it.
      std::vector<std::string> names;
      for (const auto& t : tables) names.push_back(pg::quote_ident(t.schema) + "." + pg::quote_ident(t.name));
      if (std::string firing = logical::firing_user_triggers(sides.writer, names); !firing.empty()) {
        problems.push_back(fmt::format("role {} on the {} is not a superuser, so pgshift's apply of the replication "
                                       "back would fire these user triggers again: {}; disable them for the rollback "
                                       "window (ALTER TABLE ... DISABLE TRIGGER), or pass --apply-back-allow-triggers",
                                       writer.server.current_user, d.writer_role, firing));
      }
    } else if (!d.new_by_apply && !cap.can) {
      problems.push_back(fmt::format("role {}{} on the {} cannot create the subscription back: {}{}",
                                     owner.current_user, separate ? " (--source-subscriber)" : "", d.writer_role,
                                     cap.advice, d.action == "cutover" ? "; or pass --no-reverse (no rollback)" : ""));
    }
  }

  if (options.pooler) {
    try {
      PoolerAdmin admin(options.pooler->admin);
      std::optional<PoolerDatabase> db = admin.database(options.pooler->database);
      if (!db) problems.push_back(fmt::format("PgBouncer has no database '{}' (--pooler-db)", options.pooler->database));
      std::string ini = read_config_file(options.pooler->config_path);
      if (!read_database_entry(ini, options.pooler->database)) {
        problems.push_back(fmt::format("{} has no [databases] entry '{}'", options.pooler->config_path,
                                       options.pooler->database));
      }
    } catch (const std::exception& e) {
      problems.push_back(e.what());
    }
  } else if (options.switch_command.empty()) {
    problems.push_back("nothing would switch the application: pass --pooler-admin/--pooler-db/--pooler-config or "
                       "--switch-command");
  }

  // Only worth proving when replication is set up and nothing above already explains a stall.
  if (problems.empty()) {
    util::Millis deadline = std::min(options.catchup_timeout, util::Millis(10'000));
    if (std::string p = replication_progress_problem(sides, d, deadline, writer, tables); !p.empty()) {
      problems.push_back(p);
    }
  }

  if (!problems.empty()) {
    std::string list;
    for (const auto& p : problems) list += "\n  - " + p;
    throw ProblemsFound(fmt::format("{} preconditions not met ({} problem(s)); nothing was changed:{}", d.action,
                                    problems.size(), list));
  }

  // Make the subscriber flush each applied commit at once, so the slot confirms the fence LSN
  // within milliseconds instead of the next background flush.
  std::string previous = d.old_by_apply ? "on" : sides.replica.exec(kSyncCommitSql, {d.old_subscription}).scalar();
  if (previous != "on") {
    journal.compensation(migration_id, d.step(kSyncCommit), {{"subscription", d.old_subscription}, {"previous", previous}});
    sides.subscriptions_on_replica().exec(fmt::format("ALTER SUBSCRIPTION {} SET (synchronous_commit = 'on')",
                                                      pg::quote_ident(d.old_subscription)));
    wait_for_apply_worker(sides.replica, d.old_subscription);
  }
  nlohmann::json table_list = nlohmann::json::array();
  for (const auto& t : tables) table_list.push_back({t.schema, t.name});
  return {{"table_list", table_list},
          {"ready", ready},
          {"lag_bytes", lag ? nlohmann::json(*lag) : nlohmann::json()},
          {"summary", fmt::format("{} tables ready, lag {}", ready, lag ? util::format_bytes(*lag) : "unknown")}};
}

nlohmann::json drain(pg::Connection& writer, const std::string& sql, util::Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto started = std::chrono::steady_clock::now();
  std::string last;
  while (true) {
    {
      pg::Transaction tx(writer, "BEGIN READ ONLY");
      pg::Result r = writer.exec(sql);
      last = r.rows() > 0 && r.columns() > 0 ? std::string(r.view(0, 0)) : "";
    }
    if (last == "0") {
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      return {{"waited_s", s}, {"summary", fmt::format("the drain query returned 0 after {:.1f}s", s)}};
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw ProblemsFound(fmt::format("--drain-query still returns {} after {} (--drain-timeout); nothing was changed",
                                      last.empty() ? "no row" : last, util::format_duration(timeout)));
    }
    spdlog::info("waiting for the drain query to return 0 (now {})", last);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace pgshift::cutover::detail
