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
#include "cli/server_flags.hpp"
#include "http/server.hpp"
#include "mcp/http_transport.hpp"
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


// The console's server flags (cli/server_flags.hpp) with tighter defaults, plus MCP's own.
struct McpFlags {
  ServerFlags server;
  std::string identity;
  std::string max_result_bytes = "256kB";
  std::string rate = "60/min";
  McpFlags() {
    server.listen = "";  // stdio unless --http (or `http:` in the file)
    server.row_limit = 200;
    server.timeout = "3s";
  }
};

void apply_config(McpFlags& f, CLI::App* cmd) {
  auto text = [&](const char* key, std::string& into) {
    return [&, key](const YAML::Node& n) {
      if (cmd->count(std::string("--") + key) > 0) return;
      if (!n.IsScalar()) throw UsageError(fmt::format("{}: '{}' must be a single value", f.server.config, key));
      into = n.as<std::string>();
    };
  };
  apply_config_file(cmd, f.server,
                    {{"identity", text("identity", f.identity)},
                     {"max-result-bytes", text("max-result-bytes", f.max_result_bytes)},
                     {"rate", text("rate", f.rate)}},
                    "--http");
}

std::string os_user() {
  if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) return pw->pw_name;
  if (const char* u = std::getenv("USER")) return u;
  return "unknown";
}

// Connects once before serving, so a wrong URL or a privileged role fails at startup; returns
// the guard's warning ("" for a safe role).
std::string check_role(query::Pool& pool, const ServerFlags& f) {
  query::Pool::Lease lease = pool.acquire("pgshift");
  std::string warning = query::guard_role(lease.conn(), f.allow_privileged_role);
  if (!warning.empty()) spdlog::warn("{}", warning);
  return warning;
}

int serve_http(const McpFlags& f, const mcp::ServerOptions& options, const pg::ConnInfo& db,
               const std::optional<pg::ConnInfo>& journal) {
  if (!f.identity.empty()) throw UsageError("--identity is for stdio; over HTTP the identity comes from --auth");
  http::ServerConfig config = server_config(f.server, "mcp", "--http");
  query::PoolOptions pools = pool_options(f.server);
  query::Pool db_pool(db, pools);
  std::optional<query::Pool> journal_pool;
  if (journal) journal_pool.emplace(*journal, pools);
  config.per_request_warning = check_role(db_pool, f.server);
  http::Server http_server(config);

  audit::Log audit_log(f.server.audit_log);
  auto& metrics = http_server.metrics();
  metrics.describe("pgshift_mcp_tool_calls_total", "counter", "MCP tool calls that touched the database, by tool and outcome");
  audit_log.set_observer([&metrics](const audit::Record& r) {
    metrics.add("pgshift_mcp_tool_calls_total",
                {{"tool", r.extra.value("tool", "")}, {"outcome", audit::outcome_name(r.outcome)}});
  });
  mcp::Server server(options, {db_pool, journal_pool ? *journal_pool : db_pool, audit_log});
  mcp::HttpTransport transport(server, http_server);
  http_server.set_readiness([&db_pool] {
    try {
      query::Pool::Lease lease = db_pool.acquire("pgshift-readyz", util::Millis(1'000));
      lease.conn().exec("SELECT 1");
      return true;
    } catch (const std::exception&) {
      return false;
    }
  });
  http_server.on_shutdown_deadline([&] {
    db_pool.cancel_all();
    if (journal_pool) journal_pool->cancel_all();
  });
  int port = http_server.bind();
  spdlog::info("mcp: serving Streamable HTTP at {}/mcp (auth {}, port {})", http_server.url(), f.server.auth, port);
  http_server.run();
  return 0;
}

int run_mcp(McpFlags& f, CLI::App* cmd) {
  apply_config(f, cmd);
  const ServerFlags& sf = f.server;
  mcp::ServerOptions options;
  if (sf.row_limit < 1 || sf.row_limit > query::kMaxLimit) {
    throw UsageError(fmt::format("--row-limit: must be between 1 and {} (got {})", query::kMaxLimit, sf.row_limit));
  }
  options.query = gate_allowances(sf);
  options.query.limit = sf.row_limit;
  options.query.timeout = util::parse_duration(sf.timeout, "--timeout");
  if (options.query.timeout.count() <= 0) throw UsageError("--timeout: must be positive");
  options.query.lock_timeout = std::min(options.query.lock_timeout, options.query.timeout);
  options.query.max_bytes = util::parse_bytes(f.max_result_bytes, "--max-result-bytes");
  if (options.query.max_bytes < 1) throw UsageError("--max-result-bytes: must be positive");
  options.rate_per_minute = mcp::parse_rate(f.rate, "--rate");
  options.stats.statement_timeout = options.query.timeout;

  pg::ConnInfo db = server_database(sf);
  std::optional<pg::ConnInfo> journal;
  if (!sf.journal.empty()) journal = pg::ConnInfo::parse(sf.journal, "--journal");
  options.database = db.redacted();
  if (!sf.listen.empty()) return serve_http(f, options, db, journal);

  mcp::Caller caller{f.identity.empty() ? os_user() : f.identity, ""};
  // stdout carries the protocol: '-' means stderr here.
  audit::Log audit_log(sf.audit_log == "-" ? "/dev/stderr" : sf.audit_log);
  query::PoolOptions pools = pool_options(sf);
  query::Pool db_pool(db, pools);
  std::optional<query::Pool> journal_pool;
  if (journal) journal_pool.emplace(*journal, pools);
  check_role(db_pool, sf);
  mcp::Server server(options, {db_pool, journal_pool ? *journal_pool : db_pool, audit_log});
  mcp::serve_stdio(server, caller, std::cin, stdout);
  return 0;
}

}  // namespace

void register_mcp(CLI::App& app, Context& ctx) {
  auto flags = std::make_shared<McpFlags>();
  CLI::App* cmd = app.add_subcommand(
      "mcp", "Serve a read-only, audited MCP server for agents (stdio, or Streamable HTTP at /mcp with --http)");
  add_server_flags(cmd, flags->server, "--http");
  cmd->add_option("--identity", flags->identity, "stdio: who the agent acts for, in the audit log (default: the OS user)");
  cmd->add_option("--max-result-bytes", flags->max_result_bytes, "Value bytes a query returns at most")
      ->capture_default_str();
  cmd->add_option("--rate", flags->rate, "Tool calls per identity (token bucket), e.g. 60/min")->capture_default_str();
  cmd->callback([flags, cmd, &ctx] {
    ctx.prepare("mcp");
    ctx.exit_code = run_mcp(*flags, cmd);
  });
}

}  // namespace pgshift::cli
