// `pgshift schema copy`: the application's schema (not the provider's) into an empty target.
#include <nlohmann/json.hpp>

#include <cstdio>

#include "cli/cli.hpp"
#include "schemacopy/schemacopy.hpp"

namespace pgshift::cli {

void register_schema(CLI::App& app, Context& ctx) {
  struct Flags {
    state::PlanInputs plan;
    schemacopy::Options options;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* schema = app.add_subcommand("schema", "The application's schema on the target");
  schema->require_subcommand(1);
  CLI::App* cmd = schema->add_subcommand(
      "copy", "Copy the application's schema (without the provider's schemas, owners, grants, event triggers and "
              "publications) into an empty target, in one transaction");
  // --exclude is not offered: an excluded table is left out of the replication, not of the
  // schema (the application still needs it after cutover).
  add_plan_flags(cmd, flags->plan, /*with_excludes=*/false);
  cmd->add_option("--include-schema", flags->options.include_schemas,
                  "Copy this provider schema after all (name or pattern); repeatable");
  cmd->add_option("--exclude-schema", flags->options.exclude_schemas,
                  "Leave this schema out too (name or pattern); repeatable");
  cmd->add_flag("--dry-run", flags->options.dry_run, "Print the SQL that would run; change nothing");
  cmd->add_flag("--skip-if-not-empty", flags->options.skip_if_not_empty,
                "When the target already holds tables, do nothing and exit 0 (default: refuse, exit 2)");
  cmd->add_flag("--json", flags->json, "Print the result as JSON");
  cmd->callback([flags, &ctx] {
    ctx.prepare("schema-copy");
    state::Plan plan = state::resolve_plan(flags->plan);
    schemacopy::Result r = schemacopy::copy_schema(plan.source, plan.target, flags->options);
    if (flags->json) {
      print_json(schemacopy::to_json(r));
    } else {
      std::string text = schemacopy::render_text(r);
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
  });
}

}  // namespace pgshift::cli
