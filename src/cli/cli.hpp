// CLI wiring shared by the subcommands. main() builds the CLI11 app, each cli/<command>.cpp
// registers one subcommand whose callback calls into the feature rooms and sets exit_code.
#pragma once

#include <CLI/CLI.hpp>

#include <nlohmann/json_fwd.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "state/plan.hpp"

namespace pgshift::backup {
struct InventoryOptions;
}

namespace pgshift::cli {

// Options that apply to every subcommand, and the exit code the subcommand decided.
struct Context {
  std::string connect_timeout = "10s";
  bool verbose = false;
  bool quiet = false;
  int exit_code = 0;

  // Called first by every subcommand: logging level, application_name=pgshift/<command>,
  // connect timeout.
  void prepare(const std::string& command) const;
};

// --source, --target, -c/--config, and (when with_excludes) --exclude PATTERN (repeatable).
void add_plan_flags(CLI::App* cmd, state::PlanInputs& inputs, bool with_excludes = true);
// --source-subscriber (check, cutover, rollback, finalize): the source role that owns the
// subscription back, when the sync role may not create one.
void add_source_subscriber_flag(CLI::App* cmd, state::PlanInputs& inputs);

// The command line for CLI11 (arguments after the program name, reversed as App::parse wants
// them), taken before the passwords in argv are overwritten with '*' in place, so `ps` and
// /proc/<pid>/cmdline do not show them while pgshift runs. Registers them for redaction.
std::vector<std::string> take_arguments(int argc, char** argv);

// Prints a JSON document on stdout (pretty, newline-terminated).
void print_json(const nlohmann::json& doc);

void register_check(CLI::App& app, Context& ctx);
void register_demo(CLI::App& app, Context& ctx);
void register_sync(CLI::App& app, Context& ctx);
// `sync ddl list|apply|skip` under the sync command.
void register_sync_ddl(CLI::App* sync, Context& ctx);
// `sync apply-back`: pgshift's own apply of the replication back (logical/apply.hpp).
void register_sync_apply_back(CLI::App* sync, Context& ctx);
void register_query(CLI::App& app, Context& ctx);
void register_verify(CLI::App& app, Context& ctx);
void register_cutover(CLI::App& app, Context& ctx);
void register_console(CLI::App& app, Context& ctx);
void register_backups(CLI::App& app, Context& ctx);
void register_drill(CLI::App& app, Context& ctx);
void register_roles(CLI::App& app, Context& ctx);
void register_cnpg(CLI::App& app, Context& ctx);
void register_mcp(CLI::App& app, Context& ctx);
// `schema copy`.
void register_schema(CLI::App& app, Context& ctx);

// --wal-archive, --pgbackrest-config, --endpoint-url, --aws-profile, --kubectl, --kubeconfig:
// how `backups` and `drill` reach the backup tools.
void add_backup_tool_flags(CLI::App* cmd, backup::InventoryOptions& options);

// `pgshift check` on a resolved plan: prints the report, returns the exit code (0 or 1).
int run_check(const state::Plan& plan, bool json, bool allow_missing_tables = false);

// `pgshift verify` flags beyond the plan's.
struct VerifyFlags {
  std::vector<std::string> tables;
  std::vector<std::string> exclude_columns;
  int jobs = 4;
  int64_t chunk_rows = 100'000;
  std::string mode = "full";
  std::string fence_timeout = "60s";
  bool json = false;
};

// `pgshift verify` on a resolved plan (the target's recorded migration, when there is one,
// supplies the excludes and the subscription): prints the report, returns the exit code.
int run_verify(const state::Plan& plan, const VerifyFlags& flags, bool show_progress);

}  // namespace pgshift::cli
