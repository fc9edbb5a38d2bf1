// `pgshift sync apply-back`: pgshift's own apply of the replication back, in the foreground (a
// Kubernetes Deployment, a terminal), for a source that cannot CREATE SUBSCRIPTION. Reads the
// reverse slot on the target and applies it to the source (logical/apply.hpp) until SIGTERM or
// Ctrl-C, which stop it after the transaction in flight. Restartable at any time; `--detach`
// starts it in the background as cutover does (the way to restart it in the rollback window).
// Once a run holds the migration's reverse slot it journals itself, and the error it stops with,
// so rollback, finalize and status know it however it was started (cutover/apply_back_process.hpp).
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cutover/apply_back_process.hpp"
#include "fence/fence.hpp"
#include "logical/apply.hpp"
#include "pg/connection.hpp"
#include "state/journal.hpp"
#include "state/recorded_plan.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace pgshift::cli {
namespace {

struct ApplyBackFlags {
  state::PlanInputs plan;
  std::string slot;
  std::string publication;
  bool allow_triggers = false;
  bool detach = false;
  std::string log;
  bool json = false;
  std::string progress_every = "10s";
};

nlohmann::json to_json(const logical::ApplyProgress& p) {
  return {{"start_lsn", p.start_lsn.to_string()},     {"applied_lsn", p.applied_lsn.to_string()},
          {"confirmed_lsn", p.confirmed_lsn.to_string()}, {"server_wal_end", p.server_wal_end.to_string()},
          {"transactions", p.transactions},             {"skipped", p.skipped},
          {"changes", p.changes},                       {"triggers", p.trigger_mode},
          {"stopped", p.stopped}};
}

std::string lag_text(const logical::ApplyProgress& p) {
  int64_t lag = p.server_wal_end.bytes_after(p.confirmed_lsn);
  return p.confirmed_lsn.is_zero() || lag < 0 ? "-" : util::format_bytes(lag);
}

// --detach: in the rollback window, starts the apply in the background exactly as cutover does
// (its own session, output appended to the log) and journals it. Refused while the recorded one
// still runs (two would fight over the slot).
int run_detached(const ApplyBackFlags& flags, const state::Plan& plan, pg::Connection& target,
                 const logical::ApplyOptions& options) {
  state::Journal journal(target, "sync apply-back");
  std::optional<state::Migration> m = journal.current();
  if (!m || m->phase != state::Phase::cut_over) {
    throw UsageError(fmt::format("pgshift sync apply-back --detach runs in the rollback window after cutover; migration "
                                 "{} is {}: run it in the foreground with --slot and --publication instead",
                                 m ? std::to_string(m->id) : "(none)", m ? state::to_string(m->phase) : "not started"));
  }
  std::optional<cutover::ApplyBackProcess> was = cutover::recorded_apply_back(journal, m->id);
  // Whether an apply streams the slot, wherever it runs.
  if (std::optional<int> walsender = cutover::apply_back_holder(target, options.slot)) {
    throw UsageError(fmt::format(
        "an apply already streams slot {} (walsender pid {} on the target; recorded: pgshift sync apply-back pid {} on "
        "{}, log {}); stop it first",
        options.slot, *walsender, was ? std::to_string(was->pid) : "?", was && !was->host.empty() ? was->host : "?",
        was ? was->log : "?"));
  }
  std::string log = cutover::apply_back_log_path(flags.log.empty() && was ? was->log : flags.log, m->id);
  cutover::ApplyBackProcess p =
      cutover::start_apply_back(plan.source, plan.target, options.slot, options.publication, log,
                                flags.allow_triggers || (was && was->allow_triggers));
  nlohmann::json j = p.to_json();
  j["summary"] = fmt::format("pgshift sync apply-back running (pid {}), log {}", p.pid, p.log);
  journal.record(m->id, cutover::kApplyBackStep, state::EventStatus::finished, j);
  if (flags.json) {
    print_json(p.to_json());
  } else {
    std::string text = j["summary"].get<std::string>() + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  return 0;
}

int run_apply_back(const ApplyBackFlags& flags) {
  util::install_interrupt_handler();
  state::Plan given = state::resolve_plan(flags.plan);
  pg::Connection target = pg::Connection::open(given.target, "target");
  // The names the journal recorded for this migration (cutover's reverse slot and publication).
  state::Plan plan = state::recorded_plan(target, given, false);
  logical::ApplyOptions options;
  options.slot = flags.slot.empty() ? plan.reverse_subscription() : flags.slot;
  options.publication = flags.publication.empty() ? plan.reverse_publication() : flags.publication;
  options.allow_triggers = flags.allow_triggers;
  options.stop_requested = [] { return util::interrupted(); };
  if (flags.detach) return run_detached(flags, plan, target, options);
  // Holding the migration's reverse slot, this run is the apply-back rollback and finalize stop.
  std::optional<int64_t> journaled;
  options.on_streaming = [&] {
    if (options.slot != plan.reverse_subscription()) return;
    const char* log = std::getenv(cutover::kApplyBackLogEnv);
    try {
      journaled = cutover::journal_apply_back(
          target, {static_cast<int>(::getpid()), options.slot, options.publication, log ? log : "", flags.allow_triggers, ""});
    } catch (const std::exception& e) {
      spdlog::warn("apply-back: could not record this process in the journal ({}); rollback and status will not see it",
                   e.what());
    }
  };
  util::Millis every = util::parse_duration(flags.progress_every, "--progress-every");

  pg::Connection source = pg::Connection::open(plan.source, "source");
  auto last = std::chrono::steady_clock::now();
  auto on_commit = [&](const logical::ApplyProgress& p) {
    if (std::chrono::steady_clock::now() - last < every) return;
    last = std::chrono::steady_clock::now();
    spdlog::info("apply-back: {} transaction(s), {} change(s) applied, {} replayed skipped; at {}, lag {}",
                 p.transactions, p.changes, p.skipped, p.applied_lsn.to_string(), lag_text(p));
  };
  // The source is fenced after cutover: this session's writes pass it (and no one else's) through
  // a token of this run whose hash the fence knows (fence.hpp); a superuser's apply passes anyway.
  std::optional<std::string> pass = fence::open_pass(source);
  logical::ApplyProgress result;
  try {
    result = logical::run_apply(plan.target, source, options, on_commit);
  } catch (...) {
    // What stopped it goes to the journal (status shows it) and the pass is withdrawn; the
    // connection may be what failed, and the hash alone passes no one.
    if (journaled) {
      std::string what = "stopped by an unknown error";
      try {
        throw;
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      cutover::journal_apply_back_error(target, *journaled, static_cast<int>(::getpid()), what);
    }
    if (pass) {
      try {
        fence::close_pass(source, *pass);
      } catch (const std::exception&) {
      }
    }
    throw;
  }
  if (pass) fence::close_pass(source, *pass);
  if (flags.json) {
    print_json(to_json(result));
  } else {
    std::string text = fmt::format(
        "apply-back stopped: {} transaction(s) with {} change(s) applied, {} replayed transaction(s) skipped; applied "
        "up to {}, slot {} confirmed up to {}\n",
        result.transactions, result.changes, result.skipped, result.applied_lsn.to_string(), options.slot,
        result.confirmed_lsn.to_string());
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  return 0;
}

}  // namespace

void register_sync_apply_back(CLI::App* sync, Context& ctx) {
  auto flags = std::make_shared<ApplyBackFlags>();
  CLI::App* cmd = sync->add_subcommand(
      "apply-back",
      "After cutover, when the source cannot subscribe: apply the replication back (the target's reverse slot) to "
      "the source with pgshift's own apply, exactly once, until SIGTERM");
  add_plan_flags(cmd, flags->plan, false);
  cmd->add_option("--slot", flags->slot, "Logical slot on the target (default: the migration's reverse slot)");
  cmd->add_option("--publication", flags->publication,
                  "Publication on the target (default: the migration's reverse publication)");
  cmd->add_flag("--allow-triggers", flags->allow_triggers,
                "Apply although user triggers on the source would fire again (the apply role is not a superuser)");
  cmd->add_flag("--detach", flags->detach,
                "Start it in the background as cutover does (own session, output appended to --log) and record it "
                "in the journal; for restarting it after cutover");
  cmd->add_option("--log", flags->log,
                  "With --detach: the log file (default: the recorded apply-back's, else "
                  "pgshift-apply-back-<migration id>.log)");
  cmd->add_option("--progress-every", flags->progress_every, "Time between progress lines on stderr")
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print the summary as JSON when it stops");
  cmd->callback([flags, &ctx] {
    ctx.prepare("sync-apply-back");
    ctx.exit_code = run_apply_back(*flags);
  });
}

}  // namespace pgshift::cli
