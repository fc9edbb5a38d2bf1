// One switch of the writer (cutover or rollback) and its resumption after a crash.
#include "cutover/switchover.hpp"

#include <signal.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "catalog/catalog.hpp"
#include "cutover/apply_back_process.hpp"
#include "cutover/watchdog.hpp"
#include "fence/fence.hpp"
#include "logical/apply.hpp"
#include "logical/logical.hpp"
#include "state/lock.hpp"
#include "stats/replication_progress.hpp"
#include "stats/subscription_progress.hpp"
#include "pg/error.hpp"
#include "util/error.hpp"
#include "util/process.hpp"
#include "util/redact.hpp"

namespace pgshift::cutover {
namespace detail {

Direction Direction::for_cutover(const state::Plan& plan, const SwitchOptions& options) {
  Direction d;
  d.action = "cutover";
  d.writer_role = "source";
  d.replica_role = "target";
  d.writer = plan.source;
  d.replica = plan.target;
  d.old_publication = plan.publication;
  d.old_subscription = plan.subscription;
  d.new_publication = plan.reverse_publication();
  d.new_subscription = plan.reverse_subscription();
  d.from_phase = state::Phase::syncing;
  d.in_flight_phase = state::Phase::cutting_over;
  d.done_phase = state::Phase::cut_over;
  d.aborted_phase = state::Phase::syncing;
  d.create_new_publication = true;
  d.new_replication = options.reverse;
  d.writer_fence_reason = fence::reason_migrated_away(plan.target.redacted());
  d.replica_fence_reason = fence::reason_replication_target(plan.source.redacted());
  return d;
}

Direction Direction::for_rollback(const state::Plan& plan, const SwitchOptions&) {
  Direction d;
  d.action = "rollback";
  d.writer_role = "target";
  d.replica_role = "source";
  d.writer = plan.target;
  d.replica = plan.source;
  d.old_publication = plan.reverse_publication();
  d.old_subscription = plan.reverse_subscription();
  d.new_publication = plan.publication;
  d.new_subscription = plan.subscription;
  d.from_phase = state::Phase::cut_over;
  d.in_flight_phase = state::Phase::rolling_back;
  d.done_phase = state::Phase::syncing;
  d.aborted_phase = state::Phase::cut_over;
  d.create_new_publication = false;
  d.new_replication = true;
  d.writer_fence_reason = fence::reason_replication_target(plan.source.redacted());
  d.replica_fence_reason = fence::reason_migrated_away(plan.target.redacted());
  return d;
}

Sides Sides::open(const Direction& d, const state::Plan& plan, const std::string& command) {
  pg::ConnectOptions o = pg::default_connect_options();
  o.application_name = "pgshift/" + command;
  auto with_role = [&](const std::string& role) {
    pg::ConnectOptions r = o;
    r.role = role;
    return r;
  };
  Sides sides{pg::Connection::open(d.writer, with_role(d.writer_role)),
              pg::Connection::open(d.replica, with_role(d.replica_role)),
              pg::Connection::open(plan.target, with_role("target")), std::nullopt, d.writer_role == "source"};
  if (plan.source_subscriber) {
    sides.source_subscriber.emplace(pg::Connection::open(*plan.source_subscriber, with_role("source subscriber")));
    pg::Connection& source = sides.writer_is_source ? sides.writer : sides.replica;
    const std::string same = "SELECT current_database() || ' ' || coalesce(inet_server_port(), 0) || ' ' || "
                             "extract(epoch FROM pg_postmaster_start_time())::text";
    if (sides.source_subscriber->exec(same).scalar() != source.exec(same).scalar()) {
      throw UsageError(fmt::format("--source-subscriber {} does not reach the source's server and database ({})",
                                   plan.source_subscriber->redacted(), plan.source.redacted()));
    }
  }
  return sides;
}

}  // namespace detail

namespace {

using namespace detail;
using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::vector<catalog::TableRef> tables_of(const nlohmann::json& detail) {
  std::vector<catalog::TableRef> out;
  for (const auto& t : detail.at("table_list")) out.push_back({t.at(0), t.at(1)});
  return out;
}

nlohmann::json tables_json(const std::vector<catalog::TableRef>& tables) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : tables) out.push_back({t.schema, t.name});
  return out;
}

// A switch in progress: the steps in order, with the attempt's state.
class Engine {
 public:
  Engine(const state::Plan& plan, const SwitchOptions& options, Direction d)
      : plan_(plan), opt_(options), d_(std::move(d)) {
    result_.action = d_.action;
  }

  SwitchResult run() {
    sides_.emplace(Sides::open(d_, plan_, d_.action));
    state::MigrationLock lock = state::MigrationLock::acquire(sides_->journal);
    journal_.emplace(sides_->journal, d_.action);
    check_phase();
    if (d_.action == "cutover") {
      record_source_subscriber(*journal_, mid_, plan_);
    } else {
      require_source_subscriber(*journal_, mid_, plan_, d_.action);
    }
    choose_replication_back();
    if (opt_.pooler) pooler_.emplace(opt_.pooler->admin);
    journal_->set_phase(mid_, d_.in_flight_phase);
    try {
      before_switch();
    } catch (const std::exception& e) {
      abort(e);
      return finish();
    }
    after_switch();
    return finish();
  }

 private:
  void check_phase() {
    std::optional<state::Migration> m = journal_->current();
    if (!m) {
      throw UsageError(fmt::format("no migration recorded on {}: run pgshift sync start first", sides_->journal.endpoint()));
    }
    mid_ = m->id;
    result_.migration_id = mid_;
    if (m->phase == d_.from_phase) return;
    if (m->phase == d_.in_flight_phase) {
      throw UsageError(fmt::format("migration {}: an earlier {} did not finish; run pgshift {} --resume", mid_,
                                   d_.action, d_.action));
    }
    throw UsageError(fmt::format("migration {} is {}: {} needs it to be {}", mid_, state::to_string(m->phase),
                                 d_.action, state::to_string(d_.from_phase)));
  }

  // cutover: subscription or pgshift's apply for the replication back (--replicate-back);
  // rollback: which of the two the cutover started (its replicate-back step says).
  void choose_replication_back() {
    if (d_.action == "cutover") {
      if (!d_.new_replication) return;
      if (opt_.replicate_back == ReplicateBack::automatic) {
        pg::Connection& owner = sides_->subscriptions_on_writer();
        d_.new_by_apply =
            !logical::subscribe_capability(catalog::read_server_info(owner), logical::read_provider(owner)).can;
      } else {
        d_.new_by_apply = opt_.replicate_back == ReplicateBack::pgshift;
      }
      return;
    }
    std::optional<state::Event> back = journal_->last_event(mid_, "replicate-back", state::EventStatus::finished);
    d_.old_by_apply = back && back->detail.value("by", std::string()) == "pgshift";
    if (d_.old_by_apply) old_apply_ = recorded_apply_back(*journal_, mid_);
  }

  void inject(const std::string& step) {
    if (opt_.fail_at.empty()) return;
    if (opt_.fail_at == step) throw RuntimeError(fmt::format("injected failure at {} (--fail-at)", step));
    if (opt_.fail_at == step + ":kill") {
      spdlog::warn("killing pgshift at {} (--fail-at {}:kill)", step, step);
      ::raise(SIGKILL);
    }
  }

  template <typename Fn>
  nlohmann::json step(const std::string& name, Fn fn) {
    current_step_ = name;
    auto t0 = Clock::now();
    spdlog::info("{}: {}", d_.action, name);
    nlohmann::json detail = journal_->run_step(mid_, name, [&]() -> nlohmann::json {
      inject(name);
      nlohmann::json out = fn();
      return out.is_null() ? nlohmann::json::object() : out;
    });
    result_.timeline.push_back({name, ms_between(started_, t0), ms_between(t0, Clock::now()),
                                detail.value("summary", std::string())});
    return detail;
  }

  void compensation(std::string_view kind, const nlohmann::json& undo) {
    journal_->compensation(mid_, d_.step(kind), undo);
  }

  // The proof an undo checks before dropping an object: this attempt created it (see undo.cpp).
  void created(std::string_view kind, const nlohmann::json& what) {
    journal_->record(mid_, d_.step(kind), state::EventStatus::info, what);
  }

  void before_switch() {
    nlohmann::json pre = step("preconditions", [&] {
      nlohmann::json j = check_preconditions(*sides_, d_, plan_, opt_, *journal_, mid_);
      // Whether an apply streams the reverse slot on the target, wherever it runs.
      if (d_.old_by_apply && !apply_back_running(sides_->writer, d_.old_subscription)) {
        std::string last = old_apply_ ? last_error_line(old_apply_->log) : "";
        throw ProblemsFound(fmt::format(
            "rollback preconditions not met; nothing was changed:\n  - the replication back is pgshift's apply and no "
            "pgshift sync apply-back streams slot {} on the {}{}: start it again (pgshift sync apply-back --detach, "
            "or the Deployment that runs it; its log says why it stopped)",
            d_.old_subscription, d_.writer_role,
            old_apply_ ? fmt::format(" (the last recorded one was pid {} on {}{})", old_apply_->pid,
                                     old_apply_->host.empty() ? "an unknown host" : old_apply_->host,
                                     last.empty() ? "" : "; log " + old_apply_->log + ": " + last)
                       : ""));
      }
      tables_ = tables_of(j);
      return j;
    });
    // Outside the pause: what takes time with the data (verify) or catalog reads (the plan of the
    // replication back).
    if (opt_.verify != VerifyGate::none) {
      step("verify", [&] {
        GateOutcome g = opt_.gate(d_.writer, d_.replica, plan_.excludes, d_.old_subscription);
        if (!g.ok) throw RuntimeError("verify found differences that are not replication lag: " + g.summary);
        return nlohmann::json{{"summary", g.summary + " (before the pause; the catch-up proves the rest)"}};
      });
    }
    if (d_.new_replication) step("prepare-back", [&] { return prepare_back(); });
    // The fence's per-table part: triggers on every table, inert until the pause arms them.
    step("prepare-fence", [&] {
      compensation(kWriterFence, {{"tables", tables_json(tables_)}});
      fence_prepared_ = fence::prepare(sides_->writer, tables_);
      return nlohmann::json{{"tables", tables_.size()},
                            {"summary", fmt::format("fence triggers on {} tables of the {} (inert)", tables_.size(),
                                                    d_.writer_role)}};
    });
    // Sequences set once before the pause, so inside it only those that moved since are set.
    step("prepare-sequences", [&] {
      sequences_prepared_ = prepare_sequences(sides_->writer, sides_->replica, opt_.sequence_margin);
      return nlohmann::json{{"summary", fmt::format("{} sequence(s) set on the {} ahead of the pause",
                                                    sequences_prepared_.set.size(), d_.replica_role)}};
    });
    if (!opt_.drain_query.empty()) step("drain", [&] { return drain(sides_->writer, opt_.drain_query, opt_.drain_timeout); });
    if (opt_.watchdog) start_watchdog();

    if (pooler_) {
      step("pause", [&] {
        compensation(kPoolerPaused, {{"database", opt_.pooler->database}});
        if (!pooler_->pause(opt_.pooler->database, opt_.pause_timeout)) {
          throw RuntimeError(fmt::format("PgBouncer could not pause '{}' within {} (--pause-timeout): a client keeps a "
                                         "transaction open (see SHOW POOLS); traffic continues on the {}",
                                         opt_.pooler->database, util::format_duration(opt_.pause_timeout), d_.writer_role));
        }
        paused_at_ = Clock::now();
        if (watchdog_) watchdog_->tell("paused");
        return nlohmann::json{{"summary", "database " + opt_.pooler->database + " paused"}};
      });
    }

    step("fence", [&] {
      // One statement whatever the table count (the triggers are in place since prepare-fence).
      fence::arm(sides_->writer, fence_prepared_, d_.writer_fence_reason);
      fenced_at_ = Clock::now();
      if (watchdog_) watchdog_->tell("fenced");
      fence_lsn_ = stats::current_wal_lsn(sides_->writer);
      return nlohmann::json{{"lsn", fence_lsn_.to_string()}, {"tables", tables_.size()},
                            {"summary", fmt::format("{} tables fenced on the {} at {}", tables_.size(), d_.writer_role,
                                                    fence_lsn_.to_string())}};
    });

    step("catch-up", [&] {
      if (!stats::wait_for_slot_confirmed(sides_->writer, d_.old_subscription, fence_lsn_, opt_.catchup_timeout)) {
        throw RuntimeError(fmt::format("the {} did not confirm {} within {} (--catchup-timeout)", d_.replica_role,
                                       fence_lsn_.to_string(), util::format_duration(opt_.catchup_timeout)));
      }
      return nlohmann::json{{"summary", fmt::format("{} has everything up to {}", d_.replica_role, fence_lsn_.to_string())}};
    });

    step("sequences", [&] {
      result_.sequences = copy_sequences(sides_->writer, sides_->replica, opt_.sequence_margin, &sequences_prepared_);
      size_t missing = 0;
      nlohmann::json moved = nlohmann::json::array();  // the journal keeps what changed in the pause
      for (const auto& s : result_.sequences) {
        missing += s.set_to ? 0 : 1;
        if (s.written) moved.push_back({{"sequence", s.sequence.display()}, {"set_to", *s.set_to}});
      }
      return nlohmann::json{{"set_in_pause", moved},
                            {"summary", fmt::format("{} sequence(s) at the old writer's value ({} set in the pause){}",
                                                    result_.sequences.size() - missing, moved.size(),
                                                    missing ? fmt::format(", {} missing on the {}", missing, d_.replica_role)
                                                            : "")}};
    });

    step("stop-replication", [&] {
      if (d_.old_by_apply) {
        // Everything up to the fence is applied (catch-up): the process stops between transactions.
        ApplyBackProcess was = old_apply_ ? *old_apply_ : ApplyBackProcess{-1, d_.old_subscription, d_.old_publication, "", false, ""};
        nlohmann::json undo = was.to_json();
        undo["host"] = was.host;  // a failure before the switch starts it again only where it ran
        compensation(kApplyBackStopped, undo);
        stop_apply_back(sides_->writer, d_.old_subscription, old_apply_ ? &*old_apply_ : nullptr);
        return nlohmann::json{{"summary", fmt::format("pgshift sync apply-back streaming slot {} stopped (recorded pid {}{})",
                                                      d_.old_subscription, was.pid,
                                                      was.host.empty() ? "" : " on " + was.host)}};
      }
      compensation(kOldSubscriptionDisabled, {{"subscription", d_.old_subscription}});
      logical::set_subscription_enabled(sides_->subscriptions_on_replica(), d_.old_subscription, false);
      return nlohmann::json{{"summary", "subscription " + d_.old_subscription + " disabled"}};
    });

    if (d_.new_replication) step("replicate-back", [&] { return replicate_back(); });

    step(std::string(kSwitchStep), [&] { return opt_.pooler ? switch_pooler() : switch_command(); });
  }

  // Before the pause: replica identities and the publication on the replica, and on the writer a
  // subscription to it, disabled and without a slot, so that inside the pause only the slot and
  // ENABLE remain. Nothing flows back until then.
  nlohmann::json prepare_back() {
    pg::Connection& publisher = sides_->replica;
    if (d_.create_new_publication) {
      catalog::Snapshot pub_snap = catalog::read_snapshot(publisher);
      catalog::Snapshot sub_snap = catalog::read_snapshot(sides_->writer);
      logical::PublicationPlan pp = logical::plan_publication(pub_snap, sub_snap, plan_.exclude_patterns());
      if (!pp.key_problems.empty()) {
        throw RuntimeError(fmt::format("replication back cannot apply UPDATE/DELETE: {} (or pass --no-reverse)",
                                       pp.key_problems.front()));
      }
      for (auto& c : pp.identity_changes) c.reversed = true;  // the target publishes back
      logical::apply_identity_changes(publisher, sides_->writer, *journal_, mid_, pp.identity_changes,
                                      d_.step(kReverseIdentity));
      compensation(kNewPublication, {{"publication", d_.new_publication}});
      logical::create_publication(publisher, d_.new_publication, pp.tables);
      created(kNewPublication, {{"created", d_.new_publication}});
    } else if (!logical::publication_exists(publisher, d_.new_publication)) {
      compensation(kNewPublication, {{"publication", d_.new_publication}});
      logical::create_publication(publisher, d_.new_publication, tables_);
      created(kNewPublication, {{"created", d_.new_publication}});
    } else {
      // The kept publication of the other direction covers the tables of when it was made; the
      // tables of now (created during the rollback window) replicate back too.
      logical::set_publication_tables(publisher, d_.new_publication, tables_);
    }
    if (d_.new_by_apply) {
      return nlohmann::json{{"summary", fmt::format("publication {} on the {}; the replication back is pgshift's apply "
                                                    "(the {} cannot subscribe, or --replicate-back pgshift)",
                                                    d_.new_publication, d_.replica_role, d_.writer_role)}};
    }
    pg::ConnInfo reach = opt_.replica_publisher.value_or(d_.replica);
    compensation(kNewSubscription, {{"subscription", d_.new_subscription}});
    logical::create_subscription(sides_->subscriptions_on_writer(), {d_.new_subscription, reach, d_.new_publication, /*copy_data=*/false,
                                                  /*enabled=*/false, /*create_slot=*/false});
    created(kNewSubscription, {{"created", d_.new_subscription},
                               {"oid", stats::subscription_progress(sides_->writer, d_.new_subscription).oid}});
    return nlohmann::json{{"summary", fmt::format("publication {} on the {}, subscription {} on the {} (disabled)",
                                                  d_.new_publication, d_.replica_role, d_.new_subscription,
                                                  d_.writer_role)}};
  }

  // In the pause, after the replica stopped applying: the slot starts the replication back at
  // this moment (nothing the replica applied from the writer flows back), then ENABLE.
  nlohmann::json replicate_back() {
    compensation(kNewSlot, {{"slot", d_.new_subscription}});
    logical::create_logical_slot(sides_->replica, d_.new_subscription);
    created(kNewSlot, {{"created", d_.new_subscription}});
    if (d_.new_by_apply) {
      // A fresh slot: what an earlier apply stored for this name is stale.
      logical::forget_apply_progress(sides_->writer, d_.new_subscription);
      return nlohmann::json{{"by", "pgshift"},
                            {"summary", fmt::format("{} -> {}: slot {} created; pgshift's apply starts after the switch",
                                                    d_.replica_role, d_.writer_role, d_.new_subscription)}};
    }
    compensation(kNewSubscriptionEnabled, {{"subscription", d_.new_subscription}});
    logical::set_subscription_enabled(sides_->subscriptions_on_writer(), d_.new_subscription, true);
    return nlohmann::json{{"summary", fmt::format("{} -> {}: slot {} created, subscription {} enabled (no copy)",
                                                  d_.replica_role, d_.writer_role, d_.new_subscription,
                                                  d_.new_subscription)}};
  }

  nlohmann::json switch_pooler() {
    const PoolerOptions& p = *opt_.pooler;
    PoolerEndpoint to = new_writer_endpoint(p, d_.replica);
    std::string backup = p.config_path + ".pgshift-backup";
    write_config_file(backup, read_config_file(p.config_path));
    compensation(kPoolerConfig, {{"path", p.config_path}, {"backup", backup}});
    if (watchdog_) watchdog_->tell("switching");
    rewrite_config_file(p.config_path, p.database, to);
    pooler_->reload();
    std::optional<PoolerDatabase> now = pooler_->database(p.database);
    if (!now || !(now->endpoint == to)) {
      throw RuntimeError(fmt::format("PgBouncer did not take the new config: database {} points at {}, not {}", p.database,
                                     now ? now->endpoint.display() : "nothing", to.display()));
    }
    return nlohmann::json{{"pooler_points_at", to.display()},
                          {"summary", fmt::format("PgBouncer database {} now points at {}", p.database, to.display())}};
  }

  nlohmann::json switch_command() {
    compensation(kReplicaFenceLifted, {{"tables", tables_json(tables_)}, {"reason", d_.replica_fence_reason}});
    fence::disarm(sides_->replica);
    unfenced_at_ = Clock::now();
    if (watchdog_) watchdog_->tell("switching");
    util::ProcessSpec spec;
    spec.argv = {"/bin/sh", "-c", opt_.switch_command};
    spec.env = {{"PGSHIFT_ACTION", d_.action},
                {"PGSHIFT_WRITER_URL", d_.replica.to_conninfo()},
                {"PGSHIFT_SOURCE_URL", plan_.source.to_conninfo()},
                {"PGSHIFT_TARGET_URL", plan_.target.to_conninfo()}};
    util::RunResult r = util::run(spec, opt_.switch_timeout);
    if (!r.out.empty()) spdlog::info("switch command: {}", r.out);
    if (r.timed_out || r.exit_code != 0) {
      throw RuntimeError(fmt::format("--switch-command {} ({}){}", r.timed_out ? "timed out" : "failed",
                                     r.timed_out ? util::format_duration(opt_.switch_timeout)
                                                 : "exit " + std::to_string(r.exit_code),
                                     r.err.empty() ? "" : ": " + pg::one_line(r.err).substr(0, 300)));
    }
    return nlohmann::json{{"summary", "--switch-command exited 0"}};
  }

  void after_switch() {
    result_.switched = true;
    try {
      step("resume", [&] {
        if (opt_.pooler) {
          // Inert triggers stay until finalize (a rollback arms them again in one statement).
          fence::disarm(sides_->replica);
          unfenced_at_ = Clock::now();
          pooler_->resume(opt_.pooler->database);
          resumed_at_ = Clock::now();
        }
        if (watchdog_) watchdog_->tell("switched");
        return nlohmann::json{{"summary", fmt::format("writes go to the {}", d_.replica_role)}};
      });
      if (watchdog_) watchdog_->release();
      step("cleanup", [&] {
        std::vector<std::string> done = clean_up_after_switch(*sides_, d_, *journal_, mid_);
        return nlohmann::json{{"done", done}, {"summary", fmt::format("{} object(s) removed", done.size())}};
      });
      journal_->set_phase(mid_, d_.done_phase);
      if (d_.new_by_apply) step(std::string(kApplyBackStep), [&] { return start_apply(); });
      if (opt_.refresh_matviews) step("refresh-matviews", [&] { return refresh_matviews(); });
    } catch (const std::exception& e) {
      // Past the point of no return nothing goes back; an armed watchdog finishes the resume
      // when we exit, and --resume finishes the rest.
      result_.failed_step = current_step_;
      result_.error = current_step_ == "refresh-matviews"
                          ? fmt::format("the switch succeeded but refresh-matviews failed: {}; refresh it by hand "
                                        "(REFRESH MATERIALIZED VIEW)",
                                        e.what())
                          : current_step_ == kApplyBackStep
                          ? fmt::format("the switch succeeded but pgshift's apply of the replication back did not "
                                        "start: {}; fix it and run pgshift sync apply-back (no rollback window until "
                                        "then)",
                                        e.what())
                          : fmt::format("the switch succeeded but {} failed: {}; run pgshift {} --resume",
                                        current_step_, e.what(), d_.action);
      result_.exit_code = 3;
    }
  }

  // After the switch: pgshift sync apply-back, detached, keeps the old writer (the source) current.
  nlohmann::json start_apply() {
    std::string log = apply_back_log_path(opt_.apply_back_log, mid_);
    ApplyBackProcess p = start_apply_back(d_.writer, d_.replica, d_.new_subscription, d_.new_publication, log,
                                          opt_.apply_back_allow_triggers);
    nlohmann::json j = p.to_json();
    j["summary"] = fmt::format("pgshift sync apply-back running (pid {}), log {}", p.pid, log);
    return j;
  }

  // On the new writer, in creation order (a view built on another comes after it).
  nlohmann::json refresh_matviews() {
    static constexpr std::string_view kMatviewsSql = R"sql(
SELECT format('%I.%I', n.nspname, c.relname) AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'm' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
 ORDER BY c.oid
)sql";
    pg::Result views = sides_->replica.exec(kMatviewsSql);
    std::vector<std::string> done;
    for (int i = 0; i < views.rows(); ++i) {
      std::string name = views.row(i).text("name");
      sides_->replica.exec("REFRESH MATERIALIZED VIEW " + name);
      done.push_back(name);
    }
    return nlohmann::json{{"refreshed", done},
                          {"summary", fmt::format("{} materialized view(s) refreshed on the {}", done.size(),
                                                  d_.replica_role)}};
  }

  void abort(const std::exception& e) {
    result_.failed_step = current_step_;
    result_.error = util::redact(e.what());
    result_.exit_code = dynamic_cast<const ProblemsFound*>(&e) ? 1 : dynamic_cast<const UsageError*>(&e) ? 2 : 3;
    // The error itself is printed once, by the caller; here only whether there is anything to undo.
    bool changed = false;
    for (const auto& c : journal_->open_compensations(mid_)) changed = changed || c.step.rfind(d_.action + ":", 0) == 0;
    if (changed) spdlog::warn("{} failed at {}; undoing the attempt", d_.action, current_step_);
    try {
      result_.undone = undo_attempt(*sides_, d_, *journal_, mid_, pooler_);
      journal_->set_phase(mid_, d_.aborted_phase);
    } catch (const std::exception& undo_error) {
      result_.undone.push_back(std::string("FAILED: ") + undo_error.what() + "; run pgshift " + d_.action + " --resume");
    }
    if (watchdog_) watchdog_->release();
  }

  void start_watchdog() {
    WatchdogConfig w;
    w.action = d_.action;
    w.migration_id = mid_;
    w.writer = d_.writer;
    w.replica = d_.replica;
    w.journal = plan_.target;
    if (opt_.pooler) {
      w.pooler_admin = opt_.pooler->admin;
      w.pooler_db = opt_.pooler->database;
      w.pooler_config = opt_.pooler->config_path;
      w.pooler_config_backup = opt_.pooler->config_path + ".pgshift-backup";
      w.new_endpoint = new_writer_endpoint(*opt_.pooler, d_.replica);
    }
    watchdog_.emplace(Watchdog::start(w));
  }

  SwitchResult finish() {
    auto end = Clock::now();
    result_.took_ms = ms_between(started_, end);
    if (paused_at_) result_.paused_ms = ms_between(*paused_at_, resumed_at_.value_or(end));
    if (fenced_at_ && result_.switched) result_.fenced_ms = ms_between(*fenced_at_, unfenced_at_.value_or(end));
    result_.writer = result_.switched ? d_.replica.redacted() : d_.writer.redacted();
    result_.writer_role = result_.switched ? d_.replica_role : d_.writer_role;
    return result_;
  }

  const state::Plan& plan_;
  const SwitchOptions& opt_;
  Direction d_;
  Clock::time_point started_ = Clock::now();
  std::optional<Sides> sides_;
  std::optional<state::Journal> journal_;
  std::optional<PoolerAdmin> pooler_;
  std::optional<Watchdog> watchdog_;
  std::optional<ApplyBackProcess> old_apply_;  // rollback over pgshift's apply: the running one
  int64_t mid_ = 0;
  std::string current_step_;
  std::vector<catalog::TableRef> tables_;
  fence::Prepared fence_prepared_;
  PreparedSequences sequences_prepared_;
  pg::Lsn fence_lsn_;
  std::optional<Clock::time_point> paused_at_, fenced_at_, unfenced_at_, resumed_at_;
  SwitchResult result_;
};

}  // namespace

SwitchResult cutover(const state::Plan& plan, const SwitchOptions& options) {
  return Engine(plan, options, Direction::for_cutover(plan, options)).run();
}

SwitchResult rollback(const state::Plan& plan, const SwitchOptions& options) {
  return Engine(plan, options, Direction::for_rollback(plan, options)).run();
}

SwitchResult resume(const state::Plan& plan, const SwitchOptions& options) {
  auto t0 = Clock::now();
  pg::Connection target = pg::Connection::open(plan.target, "target");
  state::Journal probe(target, "resume");
  std::optional<state::Migration> m = probe.current();
  if (!m || (m->phase != state::Phase::cutting_over && m->phase != state::Phase::rolling_back)) {
    throw UsageError(fmt::format("nothing to resume: migration {} is {}", m ? std::to_string(m->id) : "(none)",
                                 m ? state::to_string(m->phase) : "not started"));
  }
  Direction d = m->phase == state::Phase::cutting_over ? Direction::for_cutover(plan, options)
                                                       : Direction::for_rollback(plan, options);
  Sides sides = Sides::open(d, plan, d.action + " --resume");
  state::MigrationLock lock = state::MigrationLock::acquire(sides.journal);
  state::Journal journal(sides.journal, d.action + " --resume");
  require_source_subscriber(journal, m->id, plan, d.action + " --resume");
  std::optional<PoolerAdmin> pooler;
  if (options.pooler) pooler.emplace(options.pooler->admin);
  SwitchResult r;
  r.action = d.action + " --resume";
  r.migration_id = m->id;
  if (attempt_switched(journal, m->id, d.action)) {
    journal.run_step(m->id, "resume", [&] {
      fence::disarm(sides.replica);
      if (pooler) pooler->resume(options.pooler->database);
      return nlohmann::json{{"summary", "finished an interrupted switch"}};
    });
    r.undone = clean_up_after_switch(sides, d, journal, m->id);
    journal.set_phase(m->id, d.done_phase);
    // A cutover over pgshift's apply that died before starting it: start it now.
    std::optional<state::Event> back = journal.last_event(m->id, "replicate-back", state::EventStatus::finished);
    if (d.action == "cutover" && back && back->detail.value("by", std::string()) == "pgshift" &&
        !recorded_apply_back(journal, m->id)) {
      journal.run_step(m->id, kApplyBackStep, [&] {
        ApplyBackProcess p = start_apply_back(plan.source, plan.target, d.new_subscription, d.new_publication,
                                              apply_back_log_path(options.apply_back_log, m->id),
                                              options.apply_back_allow_triggers);
        r.undone.push_back(fmt::format("pgshift sync apply-back started (pid {}, log {})", p.pid, p.log));
        return p.to_json();
      });
    }
    r.switched = true;
    r.writer = d.replica.redacted();
    r.writer_role = d.replica_role;
  } else {
    r.undone = undo_attempt(sides, d, journal, m->id, pooler);
    journal.record(m->id, "resume", state::EventStatus::info, {{"rolled_back", r.undone}});
    r.writer = d.writer.redacted();
    r.writer_role = d.writer_role;
    bool all_undone = std::none_of(r.undone.begin(), r.undone.end(),
                                   [](const std::string& u) { return u.rfind("FAILED", 0) == 0; });
    if (all_undone) {
      journal.set_phase(m->id, d.aborted_phase);
      r.rolled_back = true;
      r.exit_code = kExitRolledBack;
    } else {
      // The phase stays in flight, so the next --resume tries the rest again.
      r.failed_step = "resume";
      r.error = "an undo failed (see the list above); run pgshift " + d.action + " --resume again";
      r.exit_code = 3;
    }
  }
  r.took_ms = ms_between(t0, Clock::now());
  return r;
}

}  // namespace pgshift::cutover
