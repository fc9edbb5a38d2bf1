// `pgshift sync start|status|soak|stop`: logical replication from source to target. The
// preflight runs before start (feature rooms do not call each other; the CLI composes them).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cutover/apply_back_process.hpp"
#include "ddl/ddl.hpp"
#include "pg/connection.hpp"
#include "preflight/preflight.hpp"
#include "replication/replication.hpp"
#include "replication/snapshot_keeper.hpp"
#include "state/journal.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/terminal.hpp"

namespace pgshift::cli {
namespace {

void print_text(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

struct Sides {
  pg::Connection source;
  pg::Connection target;
};

Sides connect_both(const state::Plan& plan) {
  pg::Connection source = pg::Connection::open(plan.source, "source");
  pg::Connection target = pg::Connection::open(plan.target, "target");
  return {std::move(source), std::move(target)};
}

// The preflight, unless this plan is already syncing (then its own rows and slot would be
// reported as hazards). Returns false, having printed the errors, when start must refuse.
bool preflight_allows_start(Sides& sides, const state::Plan& plan, bool truncate_target, bool allow_missing_tables,
                            bool json) {
  state::Journal journal(sides.target, "sync start");
  std::optional<state::Migration> current = journal.current();
  if (current && current->phase == state::Phase::syncing) return true;
  if (replication::interrupted_copy_waiting(sides.target)) return true;
  preflight::Options options;
  options.excludes = plan.exclude_patterns();
  options.publication = plan.publication;
  options.subscription = plan.subscription;
  options.allow_missing_tables = allow_missing_tables;
  preflight::Report report = preflight::run_preflight(sides.source, sides.target, options);
  for (auto& h : report.hazards) {
    if (truncate_target && h.code == "target-not-empty") {
      h.severity = preflight::Severity::info;
      h.message += " (--truncate-target empties them)";
    }
  }
  if (report.ok()) {
    if (int warnings = report.count(preflight::Severity::warning)) {
      spdlog::info("preflight: no error, {} warning(s) (pgshift check lists them)", warnings);
    }
    return true;
  }
  if (json) {
    print_json({{"outcome", "refused"}, {"check", preflight::to_json(report)}});
  } else {
    print_text(preflight::render_text(report));
  }
  std::string codes;
  for (const auto& h : report.hazards) {
    if (h.severity == preflight::Severity::error) codes += (codes.empty() ? "" : ", ") + h.code;
  }
  std::fprintf(stderr, "pgshift: sync start refused: the preflight found %d error(s) (%s); fix them and run it again\n",
               report.count(preflight::Severity::error), codes.c_str());
  return false;
}

// The parallel copy's progress line on a TTY: overall bytes, rows, rate and ETA, then the tables
// being copied; one line per phase otherwise.
std::function<void(const replication::CopyProgress&)> copy_progress_printer() {
  const bool tty = util::is_tty(stderr);
  auto last_phase = std::make_shared<std::string>();
  return [tty, last_phase](const replication::CopyProgress& p) {
    if (p.phase != *last_phase) {
      if (tty && !last_phase->empty()) std::fputs("\r\033[K", stderr);
      if (!tty || p.phase != "copying") spdlog::info("copy: {}", p.phase);
      *last_phase = p.phase;
    }
    if (!tty) return;
    std::string line;
    if (p.phase == "copying") {
      const auto& c = p.copy;
      double secs = std::max(0.001, static_cast<double>(p.elapsed.count()) / 1000.0);
      int64_t rate = static_cast<int64_t>(static_cast<double>(c.bytes_done) / secs);
      std::string eta = rate > 0 && c.bytes_total > c.bytes_done
                            ? util::format_duration(util::Millis((c.bytes_total - c.bytes_done) * 1000 / rate))
                            : "-";
      int pct = c.bytes_total > 0 ? static_cast<int>(std::min<int64_t>(100, c.bytes_done * 100 / c.bytes_total)) : 0;
      line = fmt::format("copy: {} of {} ({}%), {} rows, {}/s, ETA {}, {} of {} units, {} workers", util::format_bytes(c.bytes_done),
                         util::format_bytes(c.bytes_total), pct, c.rows, util::format_bytes(rate), eta, c.units_done,
                         c.units_total, p.jobs);
      std::string busy;
      for (const auto& r : c.relations) {
        if (r.units_done == r.units_total || r.bytes_done == 0) continue;
        int tp = r.bytes_total > 0 ? static_cast<int>(std::min<int64_t>(99, r.bytes_done * 100 / r.bytes_total)) : 0;
        busy += fmt::format("{}{} {}%", busy.empty() ? " · " : ", ", r.table, tp);
        if (busy.size() > 80) break;
      }
      line += busy;
    } else if (p.phase == "building indexes") {
      line = fmt::format("indexes and constraints: {} of {} rebuilt", p.objects_done, p.objects_total);
    } else {
      return;
    }
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
  };
}

int run_start(const state::Plan& plan, bool truncate_target, bool allow_missing_tables, bool json,
              replication::StartOptions options) {
  Sides sides = connect_both(plan);
  if (!preflight_allows_start(sides, plan, truncate_target, allow_missing_tables, json)) return static_cast<int>(ExitCode::problems_found);
  options.truncate_target = truncate_target;
  if (options.copy == replication::CopyMode::parallel) {
    util::install_interrupt_handler();
    options.parallel.on_progress = copy_progress_printer();
  }
  replication::StartResult result = [&] {
    try {
      return replication::start(sides.source, sides.target, plan, options);
    } catch (...) {
      if (options.copy == replication::CopyMode::parallel && util::is_tty(stderr)) std::fputs("\r\033[K", stderr);
      throw;
    }
  }();
  if (options.copy == replication::CopyMode::parallel && util::is_tty(stderr)) std::fputs("\r\033[K", stderr);
  if (json) print_json(replication::to_json(result));
  else print_text(replication::render(result));
  return 0;
}

std::string apply_back_text(const nlohmann::json& a) {
  auto text = [&](const char* key) { return a[key].is_null() ? std::string("-") : a[key].dump(); };
  return fmt::format("replication back: pgshift sync apply-back pid {} on {} {}, applied up to {}, lag {}{}; log {}\n",
                     a["pid"].get<int>(), a["host"].is_null() ? std::string("?") : a["host"].get<std::string>(),
                     a["running"].get<bool>() ? "running" : "NOT RUNNING (no apply streams its slot)", text("applied_lsn"),
                     a["lag_bytes"].is_null() ? std::string("-") : util::format_bytes(a["lag_bytes"].get<int64_t>()),
                     a["last_error"].is_null() ? "" : "; last error: " + a["last_error"].get<std::string>(),
                     a["log"].get<std::string>());
}

int run_status(const state::Plan& plan, bool json, bool watch, util::Millis interval) {
  Sides sides = connect_both(plan);
  if (!watch) {
    replication::Status st = replication::status(sides.source, sides.target, plan);
    // After a cutover over pgshift's apply (cutover --replicate-back): that process, its lag and
    // its last error.
    std::optional<nlohmann::json> apply = cutover::apply_back_status(sides.source, sides.target);
    if (json) {
      nlohmann::json j = replication::to_json(st);
      if (apply) j["apply_back"] = *apply;
      print_json(j);
    } else {
      print_text(replication::render(st));
      if (apply) print_text(apply_back_text(*apply));
    }
    return 0;
  }
  util::install_interrupt_handler();
  const bool redraw = !json && util::is_tty(stdout);
  std::optional<replication::Status> previous;
  while (!util::interrupted()) {
    replication::Status st = replication::status(sides.source, sides.target, plan, previous ? &*previous : nullptr);
    if (json) {
      // One document per line, so a consumer can read the stream line by line.
      print_text(replication::to_json(st).dump() + "\n");
    } else if (redraw) {
      print_text("\033[H\033[2J" + replication::render(st) +
                 util::paint(fmt::format("\nevery {}; Ctrl-C to stop\n", util::format_duration(interval)), util::Color::dim));
    } else {
      print_text(replication::render(st) + "\n");
    }
    previous = std::move(st);
    util::sleep_unless_interrupted(interval);
  }
  return 0;
}

std::string reasons_text(const std::vector<replication::Anomaly>& anomalies) {
  std::string out;
  for (const auto& a : anomalies) out += (out.empty() ? "" : "; ") + a.message;
  return out;
}

int run_soak(const state::Plan& plan, const replication::SoakOptions& options, bool json) {
  Sides sides = connect_both(plan);
  util::install_interrupt_handler();
  const bool progress = util::is_tty(stderr);
  spdlog::info("soak: waiting for {} of clean replication (lag at most {}), deadline in {}",
               util::format_duration(options.duration), util::format_bytes(options.max_lag_bytes),
               util::format_duration(options.deadline));
  bool was_running = false;
  // A result line on stdout; the progress line on stderr is cleared first so they do not mix.
  auto say = [&](const std::string& line) {
    if (progress) std::fputs("\r\033[K", stderr);
    if (json) spdlog::info("{}", line);
    else print_text(line + "\n");
  };
  auto on_tick = [&](const replication::SoakTick& t) {
    std::string stamp = fmt::format("[{:>7}]", util::format_duration(t.elapsed));
    if (t.observation.restarted) {
      say(fmt::format("{} clock restarted: {} ({} to go once clean, deadline in {})", stamp,
                      reasons_text(t.observation.reasons), util::format_duration(t.clock.required()),
                      util::format_duration(t.deadline_left)));
    }
    bool running = t.clock.running();
    if (running && !was_running && !t.clock.passed(t.now)) {
      say(fmt::format("{} clean: clock running, {} left", stamp, util::format_duration(t.clock.left(t.now))));
    }
    was_running = running;
    if (progress) {
      std::string lag = t.status.lag_bytes ? util::format_bytes(*t.status.lag_bytes) : "?";
      std::fprintf(stderr, "\r\033[Ksoak: clean for %s of %s, %s left, lag %s, deadline in %s",
                   util::format_duration(t.clock.clean_for(t.now)).c_str(),
                   util::format_duration(t.clock.required()).c_str(),
                   util::format_duration(t.clock.left(t.now)).c_str(), lag.c_str(),
                   util::format_duration(t.deadline_left).c_str());
      std::fflush(stderr);
    }
  };
  replication::SoakResult result = replication::soak(sides.source, sides.target, plan, options, on_tick);
  if (progress) std::fputs("\r\033[K", stderr);
  if (json) {
    print_json(replication::to_json(result));
  } else if (result.passed) {
    print_text(fmt::format("soak passed: clean for {} (lag at most {}); {} restart(s), took {}\n",
                           util::format_duration(options.duration), util::format_bytes(options.max_lag_bytes),
                           result.restarts, util::format_duration(result.took)));
  } else {
    print_text(fmt::format("soak failed: {} after {}; longest clean stretch {}{}\n",
                           result.interrupted ? "interrupted" : "deadline reached", util::format_duration(result.took),
                           util::format_duration(result.longest_clean),
                           result.last_anomalies.empty() ? "" : "; last anomaly: " + reasons_text(result.last_anomalies)));
  }
  return result.passed ? 0 : static_cast<int>(ExitCode::problems_found);
}

int run_stop(const state::Plan& plan, bool json) {
  Sides sides = connect_both(plan);
  replication::StopResult result = replication::stop(sides.source, sides.target, plan);
  if (json) print_json(replication::to_json(result));
  else print_text(replication::render(result));
  return 0;
}

util::Millis positive_duration(const std::string& text, const char* flag) {
  util::Millis d = util::parse_duration(text, flag);
  if (d.count() <= 0) throw UsageError(fmt::format("{}: must be positive", flag));
  return d;
}

}  // namespace

void register_sync(CLI::App& app, Context& ctx) {
  CLI::App* sync = app.add_subcommand("sync", "Logical replication from source to target: start, status, soak, stop");
  sync->require_subcommand(1);

  struct StartFlags {
    state::PlanInputs plan;
    bool truncate_target = false;
    bool allow_missing_tables = false;
    bool json = false;
    std::string copy = "parallel";
    int jobs = 0;
    std::string maintenance_work_mem;
    std::string snapshot_grace = "10m";
    std::string unit_size = "64MB";
    std::string ddl = "follow";
  };
  auto start = std::make_shared<StartFlags>();
  CLI::App* start_cmd = sync->add_subcommand("start", "Run the preflight, then publish, fence the target and subscribe");
  add_plan_flags(start_cmd, start->plan);
  start_cmd->add_flag("--truncate-target", start->truncate_target,
                      "Empty replicated target tables that already hold rows (otherwise start refuses)");
  start_cmd->add_flag("--allow-missing-tables", start->allow_missing_tables,
                      "Start although tables of the source exist on the source only (they stay behind)");
  start_cmd->add_flag("--json", start->json, "Print the result as JSON");
  start_cmd->add_option("--copy", start->copy,
                        "Initial copy: parallel (pgshift copies with --jobs workers, indexes deferred, then streams "
                        "from the copy's snapshot; returns when streaming) or native (the subscription copies; "
                        "returns at once)")
      ->capture_default_str();
  start_cmd->add_option("--jobs", start->jobs,
                        "Parallel copy workers (default: the cores here, at most the free connections of either side)");
  start_cmd->add_option("--maintenance-work-mem", start->maintenance_work_mem,
                        "maintenance_work_mem of each index build after a parallel copy (default: the target's)");
  start_cmd->add_option("--snapshot-grace", start->snapshot_grace,
                        "How long an interrupted parallel copy's snapshot is kept for a resume")
      ->capture_default_str();
  start_cmd->add_option("--copy-unit-size", start->unit_size,
                        "Smallest block range a big table is split into for a parallel copy")
      ->capture_default_str();
  start_cmd->add_option("--ddl", start->ddl,
                        "Schema changes during the move: follow (applied on the other side in stream order) or hold "
                        "(replication waits at each until pgshift sync ddl apply|skip)")
      ->capture_default_str();
  start_cmd->callback([start, &ctx] {
    ctx.prepare("sync-start");
    replication::StartOptions options;
    options.ddl = ddl::policy_from_string(start->ddl);
    options.parallel.unit_bytes = util::parse_bytes(start->unit_size, "--copy-unit-size");
    if (options.parallel.unit_bytes < 8192) throw UsageError("--copy-unit-size: must be at least 8kB (one block)");
    options.copy = replication::copy_mode_from_string(start->copy);
    if (start->jobs < 0 || start->jobs > 256) throw UsageError(fmt::format("--jobs {}: must be between 1 and 256", start->jobs));
    options.parallel.jobs = start->jobs;
    options.parallel.maintenance_work_mem = start->maintenance_work_mem;
    options.parallel.snapshot_grace = positive_duration(start->snapshot_grace, "--snapshot-grace");
    ctx.exit_code = run_start(state::resolve_plan(start->plan), start->truncate_target, start->allow_missing_tables,
                               start->json, options);
  });

  CLI::App* keeper = app.add_subcommand("__snapshot-keeper", "internal: holds a parallel copy's exported snapshot");
  keeper->group("");
  keeper->callback([&ctx] { ctx.exit_code = replication::run_snapshot_keeper(); });

  struct StatusFlags {
    state::PlanInputs plan;
    bool json = false;
    bool watch = false;
    std::string interval = "2s";
  };
  // `sync status`, and `pgshift status` for the migration's phase at any time (after a cutover
  // it shows the replication back).
  auto add_status = [&ctx](CLI::App* parent, const std::string& description) {
    auto status = std::make_shared<StatusFlags>();
    CLI::App* status_cmd = parent->add_subcommand("status", description);
    add_plan_flags(status_cmd, status->plan, false);
    status_cmd->add_flag("--json", status->json, "Print JSON (with --watch: one document per line)");
    status_cmd->add_flag("--watch", status->watch, "Redraw every --interval until interrupted");
    status_cmd->add_option("--interval", status->interval, "Time between samples with --watch")->capture_default_str();
    status_cmd->callback([status, &ctx] {
      ctx.prepare("status");
      util::Millis interval = positive_duration(status->interval, "--interval");
      ctx.exit_code = run_status(state::resolve_plan(status->plan), status->json, status->watch, interval);
    });
  };
  add_status(sync, "Per-table state, lag, slot health, errors and drift");
  add_status(&app, "The migration's phase and replication: per-table state, lag, slot health, drift");

  struct SoakFlags {
    state::PlanInputs plan;
    std::string duration;
    std::string max_lag = "16MB";
    std::string deadline;
    std::string interval = "1s";
    bool json = false;
  };
  auto soak = std::make_shared<SoakFlags>();
  CLI::App* soak_cmd = sync->add_subcommand(
      "soak", "Gate: pass once replication ran clean (all ready, lag low, no drift, no error) for --for");
  add_plan_flags(soak_cmd, soak->plan, false);
  soak_cmd->add_option("--for", soak->duration, "How long replication must run clean (e.g. 10m)")->required();
  soak_cmd->add_option("--max-lag", soak->max_lag, "Largest lag that still counts as clean")->capture_default_str();
  soak_cmd->add_option("--deadline", soak->deadline, "Give up (exit 1) after this long (default: --for + 1h)");
  soak_cmd->add_option("--interval", soak->interval, "Time between samples")->capture_default_str();
  soak_cmd->add_flag("--json", soak->json, "Print the result as JSON");
  soak_cmd->callback([soak, &ctx] {
    ctx.prepare("sync-soak");
    replication::SoakOptions options;
    options.duration = positive_duration(soak->duration, "--for");
    options.max_lag_bytes = util::parse_bytes(soak->max_lag, "--max-lag");
    options.deadline = soak->deadline.empty() ? options.duration + util::Millis(3'600'000)
                                              : positive_duration(soak->deadline, "--deadline");
    options.interval = positive_duration(soak->interval, "--interval");
    ctx.exit_code = run_soak(state::resolve_plan(soak->plan), options, soak->json);
  });

  register_sync_ddl(sync, ctx);
  register_sync_apply_back(sync, ctx);

  struct StopFlags {
    state::PlanInputs plan;
    bool json = false;
  };
  auto stop = std::make_shared<StopFlags>();
  CLI::App* stop_cmd = sync->add_subcommand(
      "stop", "Drop subscription, slot and publication, restore replica identities, lift the fence");
  add_plan_flags(stop_cmd, stop->plan, false);
  stop_cmd->add_flag("--json", stop->json, "Print the result as JSON");
  stop_cmd->callback([stop, &ctx] {
    ctx.prepare("sync-stop");
    ctx.exit_code = run_stop(state::resolve_plan(stop->plan), stop->json);
  });
}

}  // namespace pgshift::cli
