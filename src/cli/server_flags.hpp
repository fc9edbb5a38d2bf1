// The flags every server of the read-only window takes (`pgshift console`, `pgshift mcp --http`),
// their -c YAML file, and what they become: an http::ServerConfig, the pool's options, the
// database. One definition so both commands accept, default and refuse exactly the same things.
//
// YAML keys are the long flag names without dashes' prefix: listen, auth, identity-header,
// trusted-proxy (list), tokens, allowed-origin (list), audit-log, max-connections,
// max-connections-per-peer,
// identity-concurrency, row-limit, timeout, journal, base-path, allow-privileged-role, db,
// allow-function (list), allow-foreign-table (list).
// A flag given on the command line wins over the file. An unknown key is a usage error naming it
// (exit 2); so is a value of the wrong shape.
#pragma once

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "http/server.hpp"
#include "pg/conninfo.hpp"
#include "query/pool.hpp"
#include "query/query.hpp"

namespace pgshift::cli {

struct ServerFlags {
  std::string db;
  std::string listen = "127.0.0.1:8977";
  std::string auth = "none";
  std::string identity_header;
  std::vector<std::string> trusted_proxies;
  std::string tokens;
  std::vector<std::string> allowed_origins;
  std::string audit_log;
  int max_connections = 4;
  int identity_concurrency = 2;
  int max_connections_per_peer = 16;
  long long row_limit = 1000;
  std::string timeout = "5s";
  std::string journal;
  std::string base_path;
  bool allow_privileged_role = false;
  std::vector<std::string> allow_functions;       // the gate's catalog policy: schema.name or schema.*
  std::vector<std::string> allow_foreign_tables;  // schema.name
  std::string config;
};

// Adds the flags to cmd with flags' current values as defaults (MCP sets tighter ones first).
// listen_flag names the listen option ("--listen" for the console, "--http" for mcp).
void add_server_flags(CLI::App* cmd, ServerFlags& flags, const std::string& listen_flag = "--listen");

// Surface-specific YAML keys: key -> what to do with its node.
using ExtraKeys = std::map<std::string, std::function<void(const YAML::Node&)>>;

// Reads flags.config (when set) into the flags that were not given on the command line.
void apply_config_file(CLI::App* cmd, ServerFlags& flags, const ExtraKeys& extra = {},
                       const std::string& listen_flag = "--listen");

// The HTTP service's configuration. Throws UsageError (bad flags, --auth none off loopback, ...).
http::ServerConfig server_config(const ServerFlags& flags, const std::string& surface,
                                 const std::string& listen_flag = "--listen");

// --db or PGSHIFT_DB_URL; UsageError when neither.
pg::ConnInfo server_database(const ServerFlags& flags);

// The gate's allow-lists as query::Options (checked: a bad entry is a UsageError, exit 2).
query::Options gate_allowances(const ServerFlags& flags);

// Pool options: --max-connections, --identity-concurrency, waiting up to --timeout.
query::PoolOptions pool_options(const ServerFlags& flags);

}  // namespace pgshift::cli
