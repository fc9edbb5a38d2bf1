// `pgshift demo`: the whole migration on local clusters it starts and stops itself. A source
// with a sample shop and an application writing through PgBouncer; a target prepared with
// typical mistakes. check finds them, the fixes are applied, sync copies and follows, verify
// compares while writes continue, cutover switches PgBouncer to the target; the summary counts
// every commit the application made: none lost, no error. With --console the target stays up
// after the cutover and the read-only web console serves it (a read-only role, loopback,
// --auth none) until Ctrl+C; then everything is torn down.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <cstdio>
#include <thread>

#include "cli/cli.hpp"
#include "demo/console_session.hpp"
#include "demo/sample.hpp"
#include "demo/workload.hpp"
#include "localpg/cluster.hpp"
#include "localpg/pgbouncer.hpp"
#include "pg/connection.hpp"
#include "pg/error.hpp"
#include "sqlgate/split.hpp"
#include "util/error.hpp"
#include "util/process.hpp"
#include "util/terminal.hpp"

namespace pgshift::cli {
namespace {

using Clock = std::chrono::steady_clock;

void run_script(pg::Connection& conn, std::string_view sql) {
  for (const auto& statement : sqlgate::split_statements(sql)) conn.exec(statement);
}

void say(const std::string& text) {
  std::fputs(("\n" + util::paint("==> " + text, util::Color::bold) + "\n").c_str(), stdout);
  std::fflush(stdout);
}

// Runs this pgshift binary as the operator would type it; the database URLs (with their
// passwords) travel in the environment, not on the command line.
class Operator {
 public:
  Operator(std::string source_url, std::string target_url, std::string pooler_admin_url)
      : env_{{"PGSHIFT_SOURCE_URL", std::move(source_url)},
             {"PGSHIFT_TARGET_URL", std::move(target_url)},
             {"PGSHIFT_POOLER_ADMIN_URL", std::move(pooler_admin_url)},
             {"NO_COLOR", "1"}} {}

  int run(const std::vector<std::string>& args, bool show_output = true) {
    std::string line = "$ pgshift";
    for (const auto& a : args) {
      bool plain = a.find_first_of(" '\"") == std::string::npos;
      line += " " + (plain ? a : a.find('\'') == std::string::npos ? "'" + a + "'" : "\"" + a + "\"");
    }
    std::fputs((util::paint(line, util::Color::cyan) + "\n").c_str(), stdout);
    std::fflush(stdout);
    util::ProcessSpec spec;
    spec.argv = {"/proc/self/exe", "-q"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = env_;
    util::RunResult r = util::run(spec);
    if (show_output) std::fputs(r.out.c_str(), stdout);
    std::fputs(r.err.c_str(), stderr);
    std::fflush(stdout);
    return r.exit_code;
  }

 private:
  std::map<std::string, std::string> env_;
};

void require(bool ok, const std::string& what) {
  if (!ok) throw RuntimeError("demo: " + what);
}

bool wait_for(const std::function<bool()>& done, util::Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

struct DemoFlags {
  bool console = false;
  int console_port = 0;  // 0: 8977 when free, else any
};

// After the cutover: the console on the target until Ctrl+C / SIGTERM.
void serve_console(const localpg::LocalCluster& target, const DemoFlags& flags) {
  say("the read-only web console on the target (role console_reader: pg_read_all_data + pg_monitor)");
  demo::ConsoleSession console = demo::ConsoleSession::start(target, "shop", flags.console_port);
  std::printf("console   %s  (loopback only, --auth none; its log: %s)\n", console.url().c_str(),
              console.log_file().c_str());
  std::printf("tabs      Overview, Tables (each links to its rows), Indexes, Activity, Replication (the reverse\n"
              "          replication slot), Backups, SQL (Ctrl+Enter runs; CSV/JSON/Markdown export), Migration\n"
              "          (this migration's phase and journal)\n");
  std::printf("try       SELECT status, count(*), sum(total) FROM orders GROUP BY 1 ORDER BY 1\n");
  std::puts(util::paint("Press Ctrl+C to stop the console and tear everything down.", util::Color::bold).c_str());
  std::fflush(stdout);
  int exited = console.serve_until_interrupted();
  if (exited >= 0) {
    spdlog::warn("demo: pgshift console exited by itself with code {} (log {})", exited, console.log_file());
  } else {
    std::puts("");
    int code = console.stop();
    std::printf("console stopped (exit %d)\n", code);
  }
}

int run_demo(const DemoFlags& flags) {
  auto started = Clock::now();
  say("starting two local PostgreSQL clusters (source, target) and PgBouncer in front of the source");
  auto source = localpg::LocalCluster::start({"source", {}});
  auto target = localpg::LocalCluster::start({"target", {}});
  source->create_database("shop");
  target->create_database("shop");
  pg::Connection src = pg::Connection::open(source->conninfo("shop"), "source");
  pg::Connection tgt = pg::Connection::open(target->conninfo("shop"), "target");
  run_script(src, demo::kSourceSchema);
  run_script(src, demo::kSourceData);
  run_script(src, demo::kWorkloadTables);
  src.exec(demo::kWorkloadSeed);
  run_script(tgt, demo::kTargetSchema);
  run_script(tgt, demo::kWorkloadTables);
  auto bouncer = localpg::LocalPgBouncer::start(*source, {"shop"});
  std::printf("source 127.0.0.1:%d, target 127.0.0.1:%d, PgBouncer 127.0.0.1:%d (transaction pooling)\n",
              source->port(), target->port(), bouncer->port());

  say("the application writes through PgBouncer: 4 clients, 100 transactions/s, every commit recorded");
  demo::Workload app({bouncer->url("shop"), 4, 100});
  app.start();

  Operator op(source->url("shop"), target->url("shop"), bouncer->admin_url());
  const std::string exclude = std::string(demo::kExcludedQueue);
  std::puts("(PGSHIFT_SOURCE_URL and PGSHIFT_TARGET_URL name the two databases)");

  say("preflight on the target as it arrived");
  int first_check = op.run({"check", "--exclude", exclude});
  require(first_check == 1, "the first check should find the seeded hazards");

  say("the operator applies the fixes the report names, on the target");
  for (const auto& statement : sqlgate::split_statements(demo::kTargetFixes)) {
    std::puts(util::paint("target=# " + statement, util::Color::cyan).c_str());
    tgt.exec(statement);
  }
  say("preflight again");
  require(op.run({"check", "--exclude", exclude}) == 0, "the second check should pass");

  say("start replication: publication, replica identities, fence on the target, subscription");
  require(op.run({"sync", "start", "--exclude", exclude}) == 0, "sync start failed");
  bool ready = wait_for([&] {
    pg::Result r = tgt.exec("SELECT count(*) FILTER (WHERE srsubstate <> 'r') AS pending, count(*) AS total "
                            "FROM pg_subscription_rel");
    return r.row(0).int64("total") > 0 && r.row(0).int64("pending") == 0;
  }, util::Millis(120'000));
  require(ready, "the initial copy did not finish within 2 minutes");
  op.run({"status"});

  say("compare every row while the application keeps writing (differences are re-checked past the replication lag)");
  require(op.run({"verify"}) == 0, "verify found differences");

  say("cutover through PgBouncer: pause, fence the source, catch up, sequences, verify counts, replicate back, switch");
  double cut_from = app.elapsed_s();
  int cut = op.run({"cutover", "--pooler-db", "shop", "--pooler-config", bouncer->config_path(), "--drain-query",
                    "SELECT count(*) FROM oban_jobs WHERE state = 'executing'"});
  double cut_to = app.elapsed_s();
  require(cut == 0, "cutover failed");
  int64_t after_cutover = app.acknowledged();
  wait_for([&] { return app.acknowledged() > after_cutover + 100; }, util::Millis(10'000));
  app.stop();
  demo::WorkloadOutcome out = app.outcome();

  say("after the cutover");
  op.run({"status"});
  std::string ids = "{";
  for (size_t i = 0; i < out.acknowledged_ids.size(); ++i) ids += (i ? "," : "") + std::to_string(out.acknowledged_ids[i]);
  ids += "}";
  int64_t found = tgt.exec("SELECT count(*) FROM ledger WHERE id = ANY($1::bigint[])", {ids}).scalar_int64();
  int64_t lost = static_cast<int64_t>(out.acknowledged_ids.size()) - found;
  int64_t rows = 0;
  pg::Result tables = tgt.exec("SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_publication_tables "
                               "WHERE pubname = 'pgshift_reverse'");
  for (int i = 0; i < tables.rows(); ++i) rows += tgt.exec("SELECT count(*) FROM " + tables.row(i).text("t")).scalar_int64();
  std::string source_refuses;
  try {
    src.exec("INSERT INTO ledger (writer) VALUES (0)");
  } catch (const pg::SqlError& e) {
    source_refuses = "yes: " + e.server_message().substr(0, e.server_message().find(':')) + " (SQLSTATE " +
                     e.sqlstate() + ")";
  }

  say("summary");
  double median = out.median_ms(cut_from, cut_to);
  std::printf("rows on the target        %lld in %d replicated tables\n", static_cast<long long>(rows), tables.rows());
  std::printf("application commits      %zu, acknowledged and found on the target: %lld\n",
              out.acknowledged_ids.size(), static_cast<long long>(found));
  std::printf("lost commits             %lld\n", static_cast<long long>(lost));
  std::printf("client errors            %zu\n", out.errors.size());
  std::printf("stall during cutover     %.0f ms (longest wait %.0f ms, median %.1f ms)\n",
              out.max_ms(cut_from, cut_to) - median, out.max_ms(cut_from, cut_to), median);
  std::printf("source refuses writes    %s\n", source_refuses.empty() ? "NO" : source_refuses.c_str());

  if (flags.console) serve_console(*target, flags);

  say("stopping everything the demo started");
  bouncer.reset();
  target.reset();
  source.reset();
  auto took = std::chrono::duration_cast<util::Millis>(Clock::now() - started);
  bool ok = lost == 0 && out.errors.empty() && !source_refuses.empty();
  std::printf("demo finished in %s: %s\n", util::format_duration(took).c_str(),
              ok ? "no commit lost, no client error" : "FAILED");
  if (!flags.console) {
    std::puts("To look around the migrated database in the read-only web console, run: pgshift demo --console\n"
              "(or: make demo-console). It serves the console on the target after the cutover until Ctrl+C.");
  }
  return ok ? 0 : 1;
}

}  // namespace

void register_demo(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand("demo", "Run the whole migration on local clusters it starts and stops itself");
  auto flags = std::make_shared<DemoFlags>();
  cmd->add_flag("--console", flags->console,
                "After the cutover, serve the read-only web console on the target until Ctrl+C, then tear down");
  cmd->add_option("--console-port", flags->console_port, "Port for --console on 127.0.0.1 (default 8977, or any free one)");
  cmd->callback([&ctx, flags] {
    ctx.prepare("demo");
    ctx.exit_code = run_demo(*flags);
  });
}

}  // namespace pgshift::cli
