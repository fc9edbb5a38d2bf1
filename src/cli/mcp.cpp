// `pgshift mcp`: the read-only MCP server for agents. Over stdio by default (identity from
// --identity, else the OS user); stdout carries the protocol only, logs go to stderr.
#include <pwd.h>
#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "audit/audit.hpp"
#include "cli/cli.hpp"
#include "mcp/rate_limit.hpp"
#include "mcp/server.hpp"
#include "mcp/stdio.hpp"
#include "pg/conninfo.hpp"
#include "query/pool.hpp"
#include "query/role_guard.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"

namespace pgshift::cli {
namespace {

constexpr const char* kDbEnv = "PGSHIFT_DB_URL";
// One stdio client: a call and a diagnostic may overlap, no more is needed.
constexpr int kStdioConnections = 2;

struct McpFlags {
  std::string config;
  std::string db;
  std::string journal;
  std::string identity;
  std::string timeout = "3s";
  long long row_limit = 200;
  std::string max_result_bytes = "256kB";
  std::string rate = "60/min";
  std::string audit_log;
  bool allow_privileged_role = false;
};

// -c FILE: the same settings as the flags, by their long names; a flag given on the command line
// wins. An unknown key is refused (a typo must not silently loosen a limit).
void apply_config(McpFlags& f, CLI::App* cmd) {
  if (f.config.empty()) return;
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(f.config);
  } catch (const YAML::Exception& e) {
    throw UsageError(fmt::format("{}: {}", f.config, e.what()));
  }
  if (!doc.IsMap()) throw UsageError(fmt::format("{}: expected a mapping of settings", f.config));
  struct Key {
    const char* name;
    std::string* text;
    long long* number;
  };
  const Key keys[] = {{"db", &f.db, nullptr},         {"journal", &f.journal, nullptr},
                      {"identity", &f.identity, nullptr}, {"timeout", &f.timeout, nullptr},
                      {"row-limit", nullptr, &f.row_limit}, {"max-result-bytes", &f.max_result_bytes, nullptr},
                      {"rate", &f.rate, nullptr},     {"audit-log", &f.audit_log, nullptr}};
  for (const auto& item : doc) {
    const std::string name = item.first.as<std::string>();
    const Key* key = nullptr;
    for (const Key& k : keys) {
      if (name == k.name) key = &k;
    }
    if (!key) {
      std::string known;
      for (const Key& k : keys) known += (known.empty() ? "" : ", ") + std::string(k.name);
      throw UsageError(fmt::format("{}: unknown key '{}' (known: {})", f.config, name, known));
    }
    if (cmd->count("--" + name) > 0) continue;
    try {
      if (key->text) *key->text = item.second.as<std::string>();
      else *key->number = item.second.as<long long>();
    } catch (const YAML::Exception&) {
      throw UsageError(fmt::format("{}: '{}' has the wrong type", f.config, name));
    }
    if (name == "db" || name == "journal") pg::register_written_passwords(*key->text);
  }
}

std::string os_user() {
  if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) return pw->pw_name;
  if (const char* u = std::getenv("USER")) return u;
  return "unknown";
}

int run_mcp(McpFlags& f, CLI::App* cmd) {
  apply_config(f, cmd);
  mcp::ServerOptions options;
  if (f.row_limit < 1 || f.row_limit > query::kMaxLimit) {
    throw UsageError(fmt::format("--row-limit: must be between 1 and {} (got {})", query::kMaxLimit, f.row_limit));
  }
  options.query.limit = f.row_limit;
  options.query.timeout = util::parse_duration(f.timeout, "--timeout");
  if (options.query.timeout.count() <= 0) throw UsageError("--timeout: must be positive");
  options.query.lock_timeout = std::min(options.query.lock_timeout, options.query.timeout);
  options.query.max_bytes = util::parse_bytes(f.max_result_bytes, "--max-result-bytes");
  if (options.query.max_bytes < 1) throw UsageError("--max-result-bytes: must be positive");
  options.rate_per_minute = mcp::parse_rate(f.rate, "--rate");
  options.stats.statement_timeout = options.query.timeout;

  pg::ConnInfo db;
  if (!f.db.empty()) db = pg::ConnInfo::parse(f.db, "--db");
  else if (auto env = pg::ConnInfo::from_env(kDbEnv)) db = *env;
  else throw UsageError(fmt::format("no database: pass --db URL or set {}", kDbEnv));
  std::optional<pg::ConnInfo> journal;
  if (!f.journal.empty()) journal = pg::ConnInfo::parse(f.journal, "--journal");
  options.database = db.redacted();

  mcp::Caller caller{f.identity.empty() ? os_user() : f.identity, ""};
  // stdout carries the protocol: '-' means stderr here.
  audit::Log audit_log(f.audit_log == "-" ? "/dev/stderr" : f.audit_log);
  query::PoolOptions pool_options;
  pool_options.max_connections = kStdioConnections;
  pool_options.per_identity = kStdioConnections;
  pool_options.acquire_timeout = options.query.timeout;
  query::Pool db_pool(db, pool_options);
  std::optional<query::Pool> journal_pool;
  if (journal) journal_pool.emplace(*journal, pool_options);
  {
    // Connect before serving, so a wrong URL or a privileged role fails at startup.
    query::Pool::Lease lease = db_pool.acquire(caller.identity);
    std::string warning = query::guard_role(lease.conn(), f.allow_privileged_role);
    if (!warning.empty()) spdlog::warn("{}", warning);
  }
  mcp::Server server(options, {db_pool, journal_pool ? *journal_pool : db_pool, audit_log});
  mcp::serve_stdio(server, caller, std::cin, stdout);
  return 0;
}

}  // namespace

void register_mcp(CLI::App& app, Context& ctx) {
  auto flags = std::make_shared<McpFlags>();
  CLI::App* cmd = app.add_subcommand("mcp", "Serve a read-only, audited MCP server for agents (stdio)");
  cmd->add_option("-c,--config", flags->config, "Settings file (YAML; keys are the long flag names)");
  cmd->add_option("--db", flags->db, fmt::format("Database URL or conninfo (env {})", kDbEnv));
  cmd->add_option("--journal", flags->journal, "The migration's target database, when it is not --db");
  cmd->add_option("--identity", flags->identity, "Who the agent acts for, in the audit log (default: the OS user)");
  cmd->add_option("--timeout", flags->timeout, "Statement timeout")->capture_default_str();
  cmd->add_option("--row-limit", flags->row_limit, "Rows a query returns at most")->capture_default_str();
  cmd->add_option("--max-result-bytes", flags->max_result_bytes, "Value bytes a query returns at most")
      ->capture_default_str();
  cmd->add_option("--rate", flags->rate, "Tool calls per identity (token bucket), e.g. 60/min")
      ->capture_default_str();
  cmd->add_option("--audit-log", flags->audit_log, "Append one JSON line per tool call to FILE ('-': stderr)");
  cmd->add_flag("--allow-privileged-role", flags->allow_privileged_role,
                "Serve although the --db role is a superuser or can reach server files (logs a warning)");
  cmd->callback([flags, cmd, &ctx] {
    ctx.prepare("mcp");
    ctx.exit_code = run_mcp(*flags, cmd);
  });
}

}  // namespace pgshift::cli
