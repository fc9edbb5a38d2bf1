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
  // Streamable HTTP (--http): the console's service flags.
  std::string http;
  std::string auth = "none";
  std::string identity_header;
  std::vector<std::string> trusted_proxies;
  std::string tokens;
  std::vector<std::string> allowed_origins;
  int max_connections = 4;
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
  long long max_connections = f.max_connections;
  const Key keys[] = {{"db", &f.db, nullptr},
                      {"journal", &f.journal, nullptr},
                      {"identity", &f.identity, nullptr},
                      {"timeout", &f.timeout, nullptr},
                      {"row-limit", nullptr, &f.row_limit},
                      {"max-result-bytes", &f.max_result_bytes, nullptr},
                      {"rate", &f.rate, nullptr},
                      {"audit-log", &f.audit_log, nullptr},
                      {"http", &f.http, nullptr},
                      {"auth", &f.auth, nullptr},
                      {"identity-header", &f.identity_header, nullptr},
                      {"tokens", &f.tokens, nullptr},
                      {"max-connections", nullptr, &max_connections}};
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
  f.max_connections = static_cast<int>(max_connections);
}

std::string os_user() {
  if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) return pw->pw_name;
  if (const char* u = std::getenv("USER")) return u;
  return "unknown";
}

// Connects once before serving, so a wrong URL or a privileged role fails at startup; returns
// the guard's warning ("" for a safe role).
std::string check_role(query::Pool& pool, const McpFlags& f) {
  query::Pool::Lease lease = pool.acquire("pgshift");
  std::string warning = query::guard_role(lease.conn(), f.allow_privileged_role);
  if (!warning.empty()) spdlog::warn("{}", warning);
  return warning;
}

int serve_http(const McpFlags& f, const mcp::ServerOptions& options, const pg::ConnInfo& db,
               const std::optional<pg::ConnInfo>& journal) {
  if (!f.identity.empty()) throw UsageError("--identity is for stdio; over HTTP the identity comes from --auth");
  if (f.max_connections < 1 || f.max_connections > 100) throw UsageError("--max-connections: must be 1..100");
  http::ServerConfig config;
  config.surface = "mcp";
  config.listen = http::ListenAddress::parse(f.http, "--http");
  config.auth.mode = http::parse_auth_mode(f.auth, "--auth");
  config.auth.identity_header = f.identity_header;
  for (const auto& cidr : f.trusted_proxies) config.auth.trusted_proxies.push_back(http::Cidr::parse(cidr, "--trusted-proxy"));
  config.auth.tokens_file = f.tokens;
  config.allowed_origins = f.allowed_origins;
  query::PoolOptions pool_options;
  pool_options.max_connections = f.max_connections;
  pool_options.per_identity = std::max(1, f.max_connections / 2);
  pool_options.acquire_timeout = options.query.timeout;
  query::Pool db_pool(db, pool_options);
  std::optional<query::Pool> journal_pool;
  if (journal) journal_pool.emplace(*journal, pool_options);
  config.per_request_warning = check_role(db_pool, f);
  http::Server http_server(config);  // refuses --auth none off loopback, incomplete auth flags

  audit::Log audit_log(f.audit_log);
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
  spdlog::info("mcp: serving Streamable HTTP at {}/mcp (auth {}, port {})", http_server.url(), f.auth, port);
  http_server.run();
  return 0;
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

  if (!f.http.empty()) return serve_http(f, options, db, journal);

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
  check_role(db_pool, f);
  mcp::Server server(options, {db_pool, journal_pool ? *journal_pool : db_pool, audit_log});
  mcp::serve_stdio(server, caller, std::cin, stdout);
  return 0;
}

}  // namespace

void register_mcp(CLI::App& app, Context& ctx) {
  auto flags = std::make_shared<McpFlags>();
  CLI::App* cmd = app.add_subcommand("mcp", "Serve a read-only, audited MCP server for agents (stdio, or Streamable HTTP with --http)");
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
  cmd->add_option("--http", flags->http, "Serve Streamable HTTP at ADDRESS:PORT/mcp instead of stdio (e.g. 127.0.0.1:8978)");
  cmd->add_option("--auth", flags->auth, "HTTP auth: none (loopback only), trusted-header or token")->capture_default_str();
  cmd->add_option("--identity-header", flags->identity_header, "trusted-header: the header naming the user");
  cmd->add_option("--trusted-proxy", flags->trusted_proxies, "trusted-header: CIDR the header is accepted from; repeatable");
  cmd->add_option("--tokens", flags->tokens, "token: file of 'identity sha256hex' lines");
  cmd->add_option("--allowed-origin", flags->allowed_origins, "An Origin allowed besides the server's own; repeatable");
  cmd->add_option("--max-connections", flags->max_connections, "HTTP: database connections at most")->capture_default_str();
  cmd->add_flag("--allow-privileged-role", flags->allow_privileged_role,
                "Serve although the --db role is a superuser or can reach server files (logs a warning)");
  cmd->callback([flags, cmd, &ctx] {
    ctx.prepare("mcp");
    ctx.exit_code = run_mcp(*flags, cmd);
  });
}

}  // namespace pgshift::cli
