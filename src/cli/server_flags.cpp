// Flags, YAML and configuration of the read-only window's servers; see cli/server_flags.hpp.
#include "cli/server_flags.hpp"

#include <fmt/format.h>

#include "util/duration.hpp"
#include "util/error.hpp"

namespace pgshift::cli {
namespace {

constexpr const char* kDbEnv = "PGSHIFT_DB_URL";

std::string scalar(const std::string& file, const std::string& key, const YAML::Node& node) {
  if (!node.IsScalar()) throw UsageError(fmt::format("{}: '{}' must be a single value", file, key));
  return node.as<std::string>();
}

std::vector<std::string> list(const std::string& file, const std::string& key, const YAML::Node& node) {
  if (node.IsScalar()) return {node.as<std::string>()};
  if (!node.IsSequence()) throw UsageError(fmt::format("{}: '{}' must be a value or a list", file, key));
  std::vector<std::string> out;
  for (const auto& item : node) out.push_back(scalar(file, key, item));
  return out;
}

template <class T>
T number(const std::string& file, const std::string& key, const YAML::Node& node) {
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    throw UsageError(fmt::format("{}: '{}' must be a number", file, key));
  }
}

bool boolean(const std::string& file, const std::string& key, const YAML::Node& node) {
  try {
    return node.as<bool>();
  } catch (const YAML::Exception&) {
    throw UsageError(fmt::format("{}: '{}' must be true or false", file, key));
  }
}

}  // namespace

void add_server_flags(CLI::App* cmd, ServerFlags& f, const std::string& listen_flag) {
  cmd->add_option("--db", f.db, fmt::format("Database URL or conninfo (env {}); use a read-only role", kDbEnv));
  cmd->add_option(listen_flag, f.listen, "Address to listen on (HOST:PORT; port 0 picks a free one)")
      ->capture_default_str();
  cmd->add_option("--auth", f.auth, "Authentication: none (loopback only), trusted-header or token")
      ->capture_default_str();
  cmd->add_option("--identity-header", f.identity_header,
                  "trusted-header: the header holding the identity (X-Forwarded-Email, Tailscale-User-Login)");
  cmd->add_option("--trusted-proxy", f.trusted_proxies, "trusted-header: CIDR of the proxy allowed to set it (repeat)");
  cmd->add_option("--tokens", f.tokens, "token: file of 'identity sha256hex' lines");
  cmd->add_option("--allowed-origin", f.allowed_origins,
                  "Another origin the server is reached at, e.g. https://db.example.com (repeat)");
  cmd->add_option("--audit-log", f.audit_log, "Audit log: a file (appended) or - for stdout");
  cmd->add_option("--max-connections", f.max_connections, "Database connections at most")->capture_default_str();
  cmd->add_option("--identity-concurrency", f.identity_concurrency, "Statements one identity may run at once")
      ->capture_default_str();
  cmd->add_option("--max-connections-per-peer", f.max_connections_per_peer,
                  "HTTP connections one client address may hold at once (0: no cap; --trusted-proxy peers are not counted)")
      ->capture_default_str();
  cmd->add_option("--row-limit", f.row_limit, "Rows a statement returns at most")->capture_default_str();
  cmd->add_option("--timeout", f.timeout, "Statement timeout, and the longest wait for a connection")
      ->capture_default_str();
  cmd->add_option("--journal", f.journal, "Database holding the pgshift migration journal, when not --db");
  cmd->add_option("--base-path", f.base_path, "Serve everything under this prefix (e.g. /ops/db)");
  cmd->add_flag("--allow-privileged-role", f.allow_privileged_role,
                "Run even when the --db role is a superuser or may read files, run programs or signal sessions");
  cmd->add_option("--allow-function", f.allow_functions,
                  "Allow a function the catalog policy refuses (extension, user-defined): schema.name or schema.* (repeat)");
  cmd->add_option("--allow-foreign-table", f.allow_foreign_tables,
                  "Allow reading a foreign table (it can run a program or reach another server): schema.name (repeat)");
  cmd->add_option("-c,--config", f.config, "YAML file with these settings (flags win)");
}

void apply_config_file(CLI::App* cmd, ServerFlags& f, const ExtraKeys& extra, const std::string& listen_flag) {
  if (f.config.empty()) return;
  const std::string& file = f.config;
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    throw UsageError(fmt::format("{}: {}", file, e.what()));
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) throw UsageError(fmt::format("{}: expected a mapping of settings", file));
  auto given = [&](const std::string& flag) { return cmd->count(flag) > 0; };
  using Setter = std::function<void(const YAML::Node&)>;
  const std::string listen_key = listen_flag.substr(2);
  std::map<std::string, std::pair<std::string, Setter>> keys = {
      {"db", {"--db", [&](const YAML::Node& n) { f.db = scalar(file, "db", n); }}},
      {listen_key, {listen_flag, [&](const YAML::Node& n) { f.listen = scalar(file, listen_key, n); }}},
      {"auth", {"--auth", [&](const YAML::Node& n) { f.auth = scalar(file, "auth", n); }}},
      {"identity-header", {"--identity-header", [&](const YAML::Node& n) { f.identity_header = scalar(file, "identity-header", n); }}},
      {"trusted-proxy", {"--trusted-proxy", [&](const YAML::Node& n) { f.trusted_proxies = list(file, "trusted-proxy", n); }}},
      {"tokens", {"--tokens", [&](const YAML::Node& n) { f.tokens = scalar(file, "tokens", n); }}},
      {"allowed-origin", {"--allowed-origin", [&](const YAML::Node& n) { f.allowed_origins = list(file, "allowed-origin", n); }}},
      {"audit-log", {"--audit-log", [&](const YAML::Node& n) { f.audit_log = scalar(file, "audit-log", n); }}},
      {"max-connections", {"--max-connections", [&](const YAML::Node& n) { f.max_connections = number<int>(file, "max-connections", n); }}},
      {"identity-concurrency", {"--identity-concurrency", [&](const YAML::Node& n) { f.identity_concurrency = number<int>(file, "identity-concurrency", n); }}},
      {"max-connections-per-peer", {"--max-connections-per-peer", [&](const YAML::Node& n) { f.max_connections_per_peer = number<int>(file, "max-connections-per-peer", n); }}},
      {"row-limit", {"--row-limit", [&](const YAML::Node& n) { f.row_limit = number<long long>(file, "row-limit", n); }}},
      {"timeout", {"--timeout", [&](const YAML::Node& n) { f.timeout = scalar(file, "timeout", n); }}},
      {"journal", {"--journal", [&](const YAML::Node& n) { f.journal = scalar(file, "journal", n); }}},
      {"base-path", {"--base-path", [&](const YAML::Node& n) { f.base_path = scalar(file, "base-path", n); }}},
      {"allow-function", {"--allow-function", [&](const YAML::Node& n) { f.allow_functions = list(file, "allow-function", n); }}},
      {"allow-foreign-table", {"--allow-foreign-table", [&](const YAML::Node& n) { f.allow_foreign_tables = list(file, "allow-foreign-table", n); }}},
      {"allow-privileged-role", {"--allow-privileged-role", [&](const YAML::Node& n) { f.allow_privileged_role = boolean(file, "allow-privileged-role", n); }}},
  };
  for (const auto& item : root) {
    const std::string key = item.first.as<std::string>();
    if (auto it = keys.find(key); it != keys.end()) {
      if (!given(it->second.first)) it->second.second(item.second);
    } else if (auto ex = extra.find(key); ex != extra.end()) {
      ex->second(item.second);
    } else {
      std::string known;
      for (const auto& [k, v] : keys) known += (known.empty() ? "" : ", ") + k;
      for (const auto& [k, v] : extra) known += ", " + k;
      throw UsageError(fmt::format("{}: unknown key '{}' (known: {})", file, key, known));
    }
  }
}

http::ServerConfig server_config(const ServerFlags& f, const std::string& surface, const std::string& listen_flag) {
  http::ServerConfig c;
  c.surface = surface;
  c.listen = http::ListenAddress::parse(f.listen, listen_flag);
  c.auth.mode = http::parse_auth_mode(f.auth, "--auth");
  c.auth.identity_header = f.identity_header;
  for (const auto& p : f.trusted_proxies) c.auth.trusted_proxies.push_back(http::Cidr::parse(p, "--trusted-proxy"));
  c.auth.tokens_file = f.tokens;
  c.allowed_origins = f.allowed_origins;
  c.base_path = f.base_path;
  // Threads wait on sockets, not the database: enough that peers at their cap still leave room.
  c.threads = std::max(64, f.max_connections * 16);
  if (f.max_connections_per_peer < 0) throw UsageError("--max-connections-per-peer: 0 (no cap) or more");
  c.max_connections_per_peer = f.max_connections_per_peer;
  if (f.max_connections < 1 || f.max_connections > 1000) throw UsageError("--max-connections: between 1 and 1000");
  if (f.identity_concurrency < 1) throw UsageError("--identity-concurrency: at least 1");
  if (f.row_limit < 1 || f.row_limit > 1'000'000) throw UsageError("--row-limit: between 1 and 1000000");
  if (util::parse_duration(f.timeout, "--timeout").count() <= 0) throw UsageError("--timeout: must be positive");
  http::validate(c);
  return c;
}

pg::ConnInfo server_database(const ServerFlags& f) {
  if (!f.db.empty()) return pg::ConnInfo::parse(f.db, "--db");
  if (auto env = pg::ConnInfo::from_env(kDbEnv)) return *env;
  throw UsageError(fmt::format("no database: pass --db URL or set {}", kDbEnv));
}

query::Options gate_allowances(const ServerFlags& f) {
  query::Options o;
  o.allow_functions = f.allow_functions;
  o.allow_foreign_tables = f.allow_foreign_tables;
  query::validate(o);
  return o;
}

query::PoolOptions pool_options(const ServerFlags& f) {
  query::PoolOptions o;
  o.max_connections = f.max_connections;
  o.per_identity = f.identity_concurrency;
  o.acquire_timeout = util::parse_duration(f.timeout, "--timeout");
  return o;
}

}  // namespace pgshift::cli
