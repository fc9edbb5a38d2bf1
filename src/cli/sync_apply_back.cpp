// `pgshift sync apply-back`: pgshift's own apply of the replication back, in the foreground (a
// Kubernetes Deployment, a terminal), for a source that cannot CREATE SUBSCRIPTION. Reads the
// reverse slot on the target and applies it to the source (logical/apply.hpp) until SIGTERM or
// Ctrl-C, which stop it after the transaction in flight. Restartable at any time.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "fence/fence.hpp"
#include "logical/apply.hpp"
#include "pg/connection.hpp"
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
    if (pass) {
      try {
        fence::close_pass(source, *pass);
      } catch (const std::exception&) {
        // the connection may be what failed; the hash alone passes no one
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
  cmd->add_option("--progress-every", flags->progress_every, "Time between progress lines on stderr")
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print the summary as JSON when it stops");
  cmd->callback([flags, &ctx] {
    ctx.prepare("sync-apply-back");
    ctx.exit_code = run_apply_back(*flags);
  });
}

}  // namespace pgshift::cli
