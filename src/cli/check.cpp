// `pgshift check`: the preflight report for a source/target pair.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <optional>

#include "cli/cli.hpp"
#include "pg/connection.hpp"
#include "preflight/preflight.hpp"

namespace pgshift::cli {

int run_check(const state::Plan& plan, bool json, bool allow_missing_tables) {
  pg::Connection source = pg::Connection::open(plan.source, "source");
  pg::Connection target = pg::Connection::open(plan.target, "target");
  preflight::Options options;
  options.excludes = plan.exclude_patterns();
  options.publication = plan.publication;
  options.subscription = plan.subscription;
  options.allow_missing_tables = allow_missing_tables;
  std::optional<pg::Connection> subscriber;
  if (plan.source_subscriber) subscriber.emplace(pg::Connection::open(*plan.source_subscriber, "source subscriber"));
  preflight::Report report = preflight::run_preflight(source, target, options, subscriber ? &*subscriber : nullptr);
  if (json) {
    print_json(preflight::to_json(report));
  } else {
    std::string text = preflight::render_text(report);
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  return report.ok() ? 0 : 1;
}

void register_check(CLI::App& app, Context& ctx) {
  struct Flags {
    state::PlanInputs plan;
    bool json = false;
    bool allow_missing_tables = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("check", "Preflight: find every hazard that would break the migration");
  add_plan_flags(cmd, flags->plan);
  add_source_subscriber_flag(cmd, flags->plan);
  cmd->add_flag("--json", flags->json, "Print the report as JSON");
  cmd->add_flag("--allow-missing-tables", flags->allow_missing_tables,
                "Tables on the source only are a warning, not an error (they stay behind)");
  cmd->callback([flags, &ctx] {
    ctx.prepare("check");
    ctx.exit_code = run_check(state::resolve_plan(flags->plan), flags->json, flags->allow_missing_tables);
  });
}

}  // namespace pgshift::cli
