// `pgshift cutover`, `pgshift rollback`, `pgshift finalize` and the hidden `__watchdog`.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cutover/cutover.hpp"
#include "cutover/watchdog.hpp"
#include "pg/connection.hpp"
#include "state/recorded_plan.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "verify/verify.hpp"

namespace pgshift::cli {
namespace {

struct SwitchFlags {
  state::PlanInputs plan;
  std::string max_lag = "16MB";
  bool require_soak = false;
  bool allow_missing_tables = false;
  std::string drain_query;
  std::string drain_timeout = "5m";
  std::string pooler_admin;
  std::string pooler_db;
  std::string pooler_config;
  std::string pooler_route;
  std::string switch_command;
  std::string switch_timeout = "5m";
  std::string pause_timeout = "10s";
  std::string catchup_timeout = "30s";
  int64_t sequence_margin = 0;
  std::string verify = "counts";
  int verify_jobs = 2;
  bool no_reverse = false;
  std::string replicate_back = "auto";
  std::string apply_back_log;
  bool apply_back_allow_triggers = false;
  bool refresh_matviews = false;
  std::string back_url;
  bool no_watchdog = false;
  bool resume = false;
  bool json = false;
  std::string fail_at;
};

// The data gate, from the verify room: it runs before the pause while writes go on, so a
// difference is re-checked after the lag fence (the old subscription's slot).
// allow_missing: --allow-missing-tables, so a table on the writer only does not fail the gate.
cutover::GateFn make_gate(verify::Mode mode, int jobs, bool allow_missing) {
  return [mode, jobs, allow_missing](const pg::ConnInfo& old_writer, const pg::ConnInfo& new_writer,
                      const std::vector<std::string>& excludes, const std::string& slot) {
    verify::Options o;
    o.source = old_writer;
    o.target = new_writer;
    for (const auto& e : excludes) o.excludes.emplace_back(e);
    o.mode = mode;
    o.jobs = jobs;
    o.slot = slot;
    o.allow_source_only = allow_missing;
    verify::Report report = verify::run(o);
    cutover::GateOutcome g;
    g.ok = report.exit_code() == 0;
    size_t match = report.count(verify::TableStatus::match);
    if (g.ok) {
      g.summary = fmt::format("{}: {} tables match ({} rows)", verify::to_string(mode), match, report.rows());
    } else {
      std::string first;
      for (const auto& t : report.tables) {
        if (t.status != verify::TableStatus::match && t.status != verify::TableStatus::skipped) {
          first = t.table.display();
          break;
        }
      }
      g.summary = fmt::format("{} of {} tables differ or failed (first: {})", report.tables.size() - match -
                                                                                  report.count(verify::TableStatus::skipped),
                              report.tables.size(), first);
    }
    return g;
  };
}

cutover::SwitchOptions build_options(const SwitchFlags& f) {
  cutover::SwitchOptions o;
  o.max_lag_bytes = util::parse_bytes(f.max_lag, "--max-lag");
  o.require_soak = f.require_soak;
  o.allow_missing_tables = f.allow_missing_tables;
  o.drain_query = f.drain_query;
  o.drain_timeout = util::parse_duration(f.drain_timeout, "--drain-timeout");
  bool any_pooler = !f.pooler_admin.empty() || !f.pooler_db.empty() || !f.pooler_config.empty();
  if (any_pooler) {
    if (f.pooler_admin.empty() || f.pooler_db.empty() || f.pooler_config.empty()) {
      throw UsageError("--pooler-admin, --pooler-db and --pooler-config go together");
    }
    if (!f.switch_command.empty()) throw UsageError("--switch-command and --pooler-* exclude each other");
    cutover::PoolerOptions p;
    p.admin = pg::ConnInfo::parse(f.pooler_admin, "--pooler-admin");
    p.database = f.pooler_db;
    p.config_path = f.pooler_config;
    if (!f.pooler_route.empty()) p.new_writer = cutover::parse_pooler_endpoint(f.pooler_route, "--pooler-route");
    o.pooler = p;
  }
  o.switch_command = f.switch_command;
  o.switch_timeout = util::parse_duration(f.switch_timeout, "--switch-timeout");
  o.pause_timeout = util::parse_duration(f.pause_timeout, "--pause-timeout");
  o.catchup_timeout = util::parse_duration(f.catchup_timeout, "--catchup-timeout");
  if (f.sequence_margin < 0) throw UsageError("--sequence-margin: must be 0 or more");
  o.sequence_margin = f.sequence_margin;
  if (f.verify == "none") {
    o.verify = cutover::VerifyGate::none;
  } else if (f.verify == "counts" || f.verify == "full") {
    o.verify = f.verify == "counts" ? cutover::VerifyGate::counts : cutover::VerifyGate::full;
    o.gate = make_gate(f.verify == "counts" ? verify::Mode::counts : verify::Mode::full, f.verify_jobs,
                       f.allow_missing_tables);
  } else {
    throw UsageError("--verify: expected counts, full or none, got " + f.verify);
  }
  o.reverse = !f.no_reverse;
  if (f.replicate_back == "auto") {
    o.replicate_back = cutover::ReplicateBack::automatic;
  } else if (f.replicate_back == "native") {
    o.replicate_back = cutover::ReplicateBack::native;
  } else if (f.replicate_back == "pgshift") {
    o.replicate_back = cutover::ReplicateBack::pgshift;
  } else {
    throw UsageError("--replicate-back: expected native, pgshift or auto, got " + f.replicate_back);
  }
  o.apply_back_log = f.apply_back_log;
  o.apply_back_allow_triggers = f.apply_back_allow_triggers;
  o.refresh_matviews = f.refresh_matviews;
  if (!f.back_url.empty()) o.replica_publisher = pg::ConnInfo::parse(f.back_url, "--replicate-back-url");
  o.watchdog = !f.no_watchdog;
  o.fail_at = f.fail_at;
  return o;
}

void add_switch_flags(CLI::App* cmd, SwitchFlags& f, bool is_cutover) {
  add_plan_flags(cmd, f.plan, false);
  add_source_subscriber_flag(cmd, f.plan);
  cmd->add_option("--max-lag", f.max_lag, "Refuse to start above this replication lag")->capture_default_str();
  if (is_cutover) cmd->add_flag("--require-soak", f.require_soak, "Refuse without a passed `sync soak` since sync start");
  cmd->add_flag("--allow-missing-tables", f.allow_missing_tables,
                "Switch although tables of the writer are neither replicated nor excluded (they stay behind)");
  cmd->add_option("--drain-query", f.drain_query, "SQL run on the writer that must return 0 first (e.g. executing jobs)");
  cmd->add_option("--drain-timeout", f.drain_timeout, "How long to wait for the drain query")->capture_default_str();
  cmd->add_option("--pooler-admin", f.pooler_admin, "PgBouncer admin console URL (database pgbouncer)")
      ->envname("PGSHIFT_POOLER_ADMIN_URL");
  cmd->add_option("--pooler-db", f.pooler_db, "The PgBouncer database the application uses");
  cmd->add_option("--pooler-config", f.pooler_config, "PgBouncer ini file whose [databases] entry is rewritten");
  cmd->add_option("--pooler-route", f.pooler_route,
                  "host:port/dbname the pooler uses for the new writer (default: from its URL)");
  cmd->add_option("--switch-command", f.switch_command,
                  "Without a pooler: command that points the application at the new writer (gets PGSHIFT_WRITER_URL)");
  cmd->add_option("--switch-timeout", f.switch_timeout, "How long the switch command may run")->capture_default_str();
  cmd->add_option("--pause-timeout", f.pause_timeout, "Give up (and RESUME) when PAUSE takes longer")
      ->capture_default_str();
  cmd->add_option("--catchup-timeout", f.catchup_timeout, "How long to wait for the new writer to catch up")
      ->capture_default_str();
  cmd->add_option("--sequence-margin", f.sequence_margin, "Set sequences this many increments ahead")
      ->capture_default_str();
  cmd->add_option("--verify", f.verify, "Data gate before the pause (live, with the lag fence): counts, full or none")->capture_default_str();
  cmd->add_option("--verify-jobs", f.verify_jobs, "Parallel connections for the final gate")->capture_default_str();
  if (is_cutover) {
    cmd->add_flag("--no-reverse", f.no_reverse, "Do not replicate back to the source (no rollback window)");
    cmd->add_option("--replicate-back", f.replicate_back,
                    "How the source is kept current after the switch: native (a subscription on the source), pgshift "
                    "(pgshift sync apply-back, started detached) or auto (native when the source's role can subscribe)")
        ->capture_default_str();
    cmd->add_option("--apply-back-log", f.apply_back_log,
                    "Log file of the detached pgshift sync apply-back (default: pgshift-apply-back-<migration id>.log)");
    cmd->add_flag("--apply-back-allow-triggers", f.apply_back_allow_triggers,
                  "pgshift sync apply-back --allow-triggers: apply although the source's user triggers fire again");
  }
  cmd->add_flag("--refresh-matviews", f.refresh_matviews,
                "After the switch, REFRESH MATERIALIZED VIEW each materialized view on the new writer");
  cmd->add_option("--replicate-back-url", f.back_url,
                  "How the old writer's server reaches the new writer to replicate back (default: its URL)");
  cmd->add_flag("--no-watchdog", f.no_watchdog, "Do not start the watchdog process");
  cmd->add_flag("--resume", f.resume, "Finish or roll back an interrupted switch from the journal");
  cmd->add_flag("--json", f.json, "Print the result as JSON");
  cmd->add_option("--fail-at", f.fail_at, "Testing: fail (or STEP:kill) at a step")->group("");
}

int run_switch(const SwitchFlags& f, bool is_cutover) {
  state::Plan given = state::resolve_plan(f.plan);
  state::Plan plan = given;
  {
    pg::Connection target = pg::Connection::open(given.target, "target");
    plan = state::recorded_plan(target, given, true);
  }
  cutover::SwitchOptions options = build_options(f);
  cutover::SwitchResult r = f.resume ? cutover::resume(plan, options)
                            : is_cutover ? cutover::cutover(plan, options)
                                         : cutover::rollback(plan, options);
  if (f.json) {
    print_json(cutover::to_json(r));
  } else {
    std::string text = cutover::render(r);
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  if (!r.error.empty()) std::fprintf(stderr, "pgshift: %s failed at %s: %s\n", r.action.c_str(), r.failed_step.c_str(), r.error.c_str());
  return r.exit_code;
}

}  // namespace

void register_cutover(CLI::App& app, Context& ctx) {
  auto cut = std::make_shared<SwitchFlags>();
  CLI::App* c = app.add_subcommand("cutover", "Switch writes to the target: no lost commit, no client error");
  add_switch_flags(c, *cut, true);
  c->callback([cut, &ctx] {
    ctx.prepare("cutover");
    ctx.exit_code = run_switch(*cut, true);
  });

  auto back = std::make_shared<SwitchFlags>();
  CLI::App* r = app.add_subcommand("rollback", "Switch writes back to the source over the reverse replication");
  add_switch_flags(r, *back, false);
  r->callback([back, &ctx] {
    ctx.prepare("rollback");
    ctx.exit_code = run_switch(*back, false);
  });

  struct FinalizeFlags {
    state::PlanInputs plan;
    bool json = false;
  };
  auto fin = std::make_shared<FinalizeFlags>();
  CLI::App* f = app.add_subcommand("finalize", "End the migration: drop replication, keep the old server fenced");
  add_plan_flags(f, fin->plan, false);
  add_source_subscriber_flag(f, fin->plan);
  f->add_flag("--json", fin->json, "Print the result as JSON");
  f->callback([fin, &ctx] {
    ctx.prepare("finalize");
    state::Plan given = state::resolve_plan(fin->plan);
    state::Plan plan = given;
    {
      pg::Connection target = pg::Connection::open(given.target, "target");
      plan = state::recorded_plan(target, given, true);
    }
    cutover::FinalizeResult result = cutover::finalize(plan);
    if (fin->json) {
      print_json(cutover::to_json(result));
    } else {
      std::string text = cutover::render(result);
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
    ctx.exit_code = 0;
  });

  CLI::App* w = app.add_subcommand("__watchdog", "internal: resumes traffic if pgshift dies mid-switch");
  w->group("");
  w->callback([&ctx] {
    util::init_logging(util::LogLevel::normal);
    ctx.exit_code = cutover::run_watchdog();
  });
}

}  // namespace pgshift::cli
