// `pgshift verify`: does the target hold exactly what the source holds? Prints the report
// (text or --json) on stdout, progress on stderr when it is a terminal.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <spdlog/spdlog.h>

#include "state/journal.hpp"
#include "state/recorded_plan.hpp"
#include "cli/cli.hpp"
#include "pg/connection.hpp"
#include "replication/replication.hpp"
#include "util/error.hpp"
#include "util/terminal.hpp"
#include "verify/progress.hpp"
#include "verify/verify.hpp"

namespace pgshift::cli {
namespace {

// Redraws one stderr line at most every 200 ms.
class ProgressLine {
 public:
  void update(const verify::Progress& p) {
    std::lock_guard lock(mu_);
    auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds(200) && p.tables_done < p.tables_total) return;
    last_ = now;
    drawn_ = true;
    std::fprintf(stderr, "\r\033[K%s", verify::progress_line(p).c_str());
    std::fflush(stderr);
  }
  void clear() {
    std::lock_guard lock(mu_);
    if (drawn_) std::fputs("\r\033[K", stderr);
    drawn_ = false;
  }

 private:
  std::mutex mu_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
};

verify::Mode parse_mode(const std::string& mode) {
  if (mode == "counts") return verify::Mode::counts;
  if (mode == "full") return verify::Mode::full;
  throw UsageError("--mode: expected counts or full, got " + mode);
}

// The verdict in the target's journal (step "verify", passed or failed), for the console's
// Migration tab and MCP's migration_status. Best effort: a journal that cannot be written is a
// warning, the verdict on stdout and the exit code stand.
void record_verdict(const pg::ConnInfo& target, int64_t migration_id, const verify::Report& report) {
  size_t matched = report.count(verify::TableStatus::match), differ = report.count(verify::TableStatus::mismatch),
         errors = report.count(verify::TableStatus::error), skipped = report.count(verify::TableStatus::skipped);
  std::string summary = fmt::format("{} verify of {} table(s): {} match, {} differ, {} failed; {} rows compared in {:.1f}s",
                                    verify::to_string(report.mode), matched + differ + errors, matched, differ, errors,
                                    report.rows(), report.seconds);
  if (skipped > 0) summary += fmt::format(" ({} skipped)", skipped);
  nlohmann::json detail = {{"summary", summary},   {"mode", verify::to_string(report.mode)},
                           {"tables_matched", matched}, {"tables_differing", differ},
                           {"tables_failed", errors},   {"tables_skipped", skipped},
                           {"rows", report.rows()},     {"seconds", report.seconds}};
  if (!report.direction.empty()) detail["direction"] = report.direction;
  try {
    pg::Connection conn = pg::Connection::open(target, "target");
    state::Journal journal(conn, "verify");
    journal.record(migration_id, "verify", report.exit_code() == 0 ? state::EventStatus::passed : state::EventStatus::failed,
                   detail);
  } catch (const std::exception& e) {
    spdlog::warn("verify: the verdict was not recorded in the target's journal: {}", e.what());
  }
}

}  // namespace

int run_verify(const state::Plan& given, const VerifyFlags& flags, bool show_progress) {
  // The migration the target's journal records decides the excludes and the subscription (the
  // lag fence's slot), as for sync status: verify compares what is replicated.
  state::Plan plan = given;
  bool replicating_back = false;
  std::optional<int64_t> migration_id;  // the verdict is recorded in its journal
  {
    pg::Connection target = pg::Connection::open(given.target, "target");
    plan = state::recorded_plan(target, given, false);
    state::Journal journal(target, "verify");
    if (std::optional<state::Migration> m = journal.current()) {
      replicating_back = m->phase == state::Phase::cut_over || m->phase == state::Phase::rolling_back;
      migration_id = m->id;
    }
  }
  verify::Options o;
  o.source = plan.source;
  o.target = plan.target;
  o.slot = plan.subscription;
  if (replicating_back) {
    // After cutover the target writes and replicates back to the source: compare in that
    // direction, with that replication's lag fence.
    std::swap(o.source, o.target);
    o.slot = plan.reverse_subscription();
    o.direction = "after cutover: the target (now the writer) is compared with the source over the replication back";
  }
  o.excludes = plan.exclude_patterns();
  for (const auto& t : flags.tables) o.tables.emplace_back(t);
  o.exclude_columns = flags.exclude_columns;
  o.mode = parse_mode(flags.mode);
  o.jobs = flags.jobs;
  o.chunk_rows = flags.chunk_rows;
  o.fence_timeout = util::parse_duration(flags.fence_timeout, "--fence-timeout");
  if (o.fence_timeout.count() <= 0) throw UsageError("--fence-timeout: must be positive");
  ProgressLine line;
  if (show_progress) o.progress = [&line](const verify::Progress& p) { line.update(p); };
  verify::Report report;
  try {
    report = verify::run(o);
  } catch (...) {
    line.clear();
    throw;
  }
  line.clear();
  if (migration_id) record_verdict(given.target, *migration_id, report);
  if (flags.json) {
    print_json(verify::to_json(report));
  } else {
    std::string text = verify::render_text(report);
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  return report.exit_code();
}

void register_verify(CLI::App& app, Context& ctx) {
  struct Flags {
    state::PlanInputs plan;
    VerifyFlags verify;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("verify", "Compare source and target row by row: counts, checksums, differing keys");
  add_plan_flags(cmd, flags->plan);
  cmd->add_option("--tables", flags->verify.tables, "Table pattern to verify (name, schema.name, wildcards); repeatable");
  cmd->add_option("--exclude-column", flags->verify.exclude_columns,
                  "Leave a column out of the comparison: schema.table.column; repeatable (listed in the report)");
  cmd->add_option("--jobs", flags->verify.jobs, "Connection pairs working in parallel")->capture_default_str();
  cmd->add_option("--chunk-rows", flags->verify.chunk_rows, "Rows per key-range chunk")->capture_default_str();
  cmd->add_option("--mode", flags->verify.mode, "counts (row counts only) or full (content)")
      ->check(CLI::IsMember({"counts", "full"}))
      ->capture_default_str();
  cmd->add_option("--fence-timeout", flags->verify.fence_timeout,
                  "How long to wait for the subscription to confirm before trusting a difference")
      ->capture_default_str();
  cmd->add_flag("--json", flags->verify.json, "Print the report as JSON");
  cmd->callback([flags, &ctx] {
    ctx.prepare("verify");
    bool progress = util::is_tty(stderr) && !ctx.quiet;
    ctx.exit_code = run_verify(state::resolve_plan(flags->plan), flags->verify, progress);
  });
}

}  // namespace pgshift::cli
