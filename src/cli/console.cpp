// `pgshift console`: the read-only web console. Checks the flags and the role, then serves until
// SIGINT/SIGTERM (stop accepting, finish or cancel running statements, close, exit 0).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>

#include "cli/cli.hpp"
#include "backup/inventory.hpp"
#include "cli/server_flags.hpp"
#include "console/history.hpp"
#include "console/server.hpp"
#include "query/role_guard.hpp"
#include "util/redact.hpp"

namespace pgshift::cli {
namespace {

// The Backups tab's inventory: the --backups-from sources read (without the slow verify step)
// at most once a minute, whoever looks.
console::BackupInventory backup_inventory(backup::InventoryOptions o) {
  if (o.sources.empty()) return {};
  o.verify = false;
  struct Cache {
    std::mutex mutex;
    std::chrono::steady_clock::time_point at;
    nlohmann::json value;
  };
  auto cache = std::make_shared<Cache>();
  return [o, cache] {
    std::lock_guard lock(cache->mutex);
    const auto now = std::chrono::steady_clock::now();
    if (cache->value.is_null() || now - cache->at > std::chrono::minutes(1)) {
      cache->value = backup::inventory_report(o);
      cache->at = now;
    }
    return cache->value;
  };
}

// A table export's rows at most (--export-row-limit, config key export-row-limit).
constexpr long long kDefaultExportRowLimit = 100'000;

int run_console(CLI::App* cmd, ServerFlags& flags, backup::InventoryOptions& backups, long long& export_row_limit,
                std::string& history_file) {
  apply_config_file(cmd, flags,
                    {{"export-row-limit", [&](const YAML::Node& n) {
                        if (cmd->count("--export-row-limit") > 0) return;
                        if (!n.IsScalar()) throw UsageError(fmt::format("{}: 'export-row-limit' must be a number", flags.config));
                        try {
                          export_row_limit = n.as<long long>();
                        } catch (const YAML::Exception&) {
                          throw UsageError(fmt::format("{}: 'export-row-limit' must be a number", flags.config));
                        }
                      }},
                     {"history-file", [&](const YAML::Node& n) {
                        if (cmd->count("--history-file") > 0) return;
                        if (!n.IsScalar()) throw UsageError(fmt::format("{}: 'history-file' must be a single value", flags.config));
                        history_file = n.as<std::string>();
                      }}});
  if (export_row_limit < 1 || export_row_limit > query::kMaxLimit) {
    throw UsageError(fmt::format("--export-row-limit: between 1 and {} (got {})", query::kMaxLimit, export_row_limit));
  }
  http::ServerConfig config = server_config(flags, "console");
  pg::ConnInfo info = server_database(flags);
  std::optional<pg::ConnInfo> journal;
  if (!flags.journal.empty()) journal = pg::ConnInfo::parse(flags.journal, "--journal");
  audit::Log log(flags.audit_log);
  console::History history(history_file);

  {
    pg::Connection conn = pg::Connection::open(info, "db");
    config.per_request_warning = query::guard_role(conn, flags.allow_privileged_role);
    if (!config.per_request_warning.empty()) spdlog::warn("console: {}", config.per_request_warning);
  }
  query::Pool pool(info, pool_options(flags));
  std::unique_ptr<query::Pool> journal_pool;
  if (journal) {
    query::PoolOptions jo = pool_options(flags);
    jo.max_connections = 1;
    jo.per_identity = 1;
    journal_pool = std::make_unique<query::Pool>(*journal, jo);
  }
  console::ConsoleOptions options;
  options.row_limit = flags.row_limit;
  options.export_row_limit = export_row_limit;
  options.timeout = util::parse_duration(flags.timeout, "--timeout");
  options.database_label = info.redacted();
  options.journal_pool = journal_pool.get();
  options.statement_defaults = gate_allowances(flags);
  options.backup_inventory = backup_inventory(backups);
  options.history = &history;

  http::Server server(config);
  auto routes = console::install(server, pool, log, options);
  server.bind();
  std::fprintf(stderr, "pgshift console: listening on %s/ (auth %s, database %s%s)\n", server.url().c_str(),
               flags.auth.c_str(), info.redacted().c_str(),
               flags.audit_log.empty() ? ", no audit log" : (", audit log " + flags.audit_log).c_str());
  std::fflush(stderr);
  server.run();
  pool.close();
  return 0;
}

}  // namespace

void register_console(CLI::App& app, Context& ctx) {
  auto flags = std::make_shared<ServerFlags>();
  auto backups = std::make_shared<backup::InventoryOptions>();
  auto export_row_limit = std::make_shared<long long>(kDefaultExportRowLimit);
  auto history_file = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("console", "Serve the read-only web console (overview, tables, SQL, ...)");
  add_server_flags(cmd, *flags);
  cmd->add_option("--backups-from", backups->sources,
                  "Backup source for the Backups tab, as `pgshift backups --from` (repeat)");
  add_backup_tool_flags(cmd, *backups);
  cmd->add_option("--export-row-limit", *export_row_limit,
                  "Rows a table export (the table browser's CSV/JSON/Markdown download) holds at most")
      ->capture_default_str();
  cmd->add_option("--history-file", *history_file,
                  "Keep the query history across restarts in this file (JSON lines, mode 0600); default: in memory");
  cmd->callback([flags, backups, export_row_limit, history_file, cmd, &ctx] {
    ctx.prepare("console");
    ctx.exit_code = run_console(cmd, *flags, *backups, *export_row_limit, *history_file);
  });
}

}  // namespace pgshift::cli
