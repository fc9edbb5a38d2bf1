// `pgshift demo`: the main job on local clusters it starts and stops itself. A source with a
// sample shop, a target prepared with typical mistakes; check finds them, the operator's fixes
// are applied, check passes.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>

#include "cli/cli.hpp"
#include "demo/sample.hpp"
#include "localpg/cluster.hpp"
#include "pg/connection.hpp"
#include "sqlgate/split.hpp"
#include "util/terminal.hpp"

namespace pgshift::cli {
namespace {

void run_script(pg::Connection& conn, std::string_view sql) {
  for (const auto& statement : sqlgate::split_statements(sql)) conn.exec(statement);
}

void say(const std::string& text) {
  std::fputs(("\n" + util::paint("==> " + text, util::Color::bold) + "\n").c_str(), stdout);
  std::fflush(stdout);
}

void show_command(const std::string& text) {
  std::fputs((util::paint("$ " + text, util::Color::cyan) + "\n").c_str(), stdout);
  std::fflush(stdout);
}

int run_demo() {
  auto started = std::chrono::steady_clock::now();
  say("starting two local PostgreSQL clusters on loopback (source and target)");
  auto source = localpg::LocalCluster::start({"source", {}});
  auto target = localpg::LocalCluster::start({"target", {}});
  std::printf("source: 127.0.0.1:%d   target: 127.0.0.1:%d   (data in %s, %s)\n", source->port(), target->port(),
              source->directory().c_str(), target->directory().c_str());
  source->create_database("shop");
  target->create_database("shop");
  {
    pg::Connection src = pg::Connection::open(source->conninfo("shop"), "source");
    run_script(src, demo::kSourceSchema);
    run_script(src, demo::kSourceData);
    pg::Connection tgt = pg::Connection::open(target->conninfo("shop"), "target");
    run_script(tgt, demo::kTargetSchema);
  }

  state::PlanInputs inputs;
  inputs.source = source->url("shop");
  inputs.target = target->url("shop");
  inputs.excludes = {std::string(demo::kExcludedQueue)};
  state::Plan plan = state::resolve_plan(inputs);
  std::string command = fmt::format("pgshift check --source '{}' --target '{}' --exclude {}",
                                    plan.source.redacted(), plan.target.redacted(), demo::kExcludedQueue);

  say("preflight on the target as it arrived");
  show_command(command);
  int first = run_check(plan, false);

  say("the operator applies the fixes the report names (on the target)");
  for (const auto& statement : sqlgate::split_statements(demo::kTargetFixes)) show_command("psql target: " + statement);
  {
    pg::Connection tgt = pg::Connection::open(target->conninfo("shop"), "target");
    run_script(tgt, demo::kTargetFixes);
  }

  say("preflight again");
  show_command(command);
  int second = run_check(plan, false);

  say("stopping the clusters");
  target.reset();
  source.reset();
  auto took = std::chrono::duration_cast<util::Millis>(std::chrono::steady_clock::now() - started);
  std::printf("\ndemo finished in %s: first check exit %d (hazards found), second check exit %d (%s)\n",
              util::format_duration(took).c_str(), first, second, second == 0 ? "ready" : "not ready");
  // The demo succeeds when the hazards were found and the fixes made the pair ready.
  return first == 1 && second == 0 ? 0 : 1;
}

}  // namespace

void register_demo(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand("demo", "Run the main job on local clusters it starts and stops itself");
  cmd->callback([&ctx] {
    ctx.prepare("demo");
    ctx.exit_code = run_demo();
  });
}

}  // namespace pgshift::cli
