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

#include "cli/cli.hpp"
#include "mcp/rate_limit.hpp"
#include "mcp/server.hpp"
#include "mcp/single_backend.hpp"
#include "mcp/stdio.hpp"
#include "pg/conninfo.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"

namespace pgshift::cli {
namespace {

constexpr const char* kDbEnv = "PGSHIFT_DB_URL";

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

// Audit lines: one JSON object per line, "time" first, to a file (appended) or stderr ("-").
class AuditFile {
 public:
  explicit AuditFile(const std::string& path) {
    if (path.empty()) return;
    if (path == "-") {
      out_ = stderr;
      return;
    }
    out_ = std::fopen(path.c_str(), "a");
    if (!out_) throw RuntimeError(fmt::format("--audit-log: cannot open {} for appending", path));
    owned_ = true;
  }
  ~AuditFile() {
    if (owned_) std::fclose(out_);
  }
  void write(const nlohmann::json& record) {
    if (!out_) return;
    nlohmann::ordered_json line;
    auto now = std::chrono::system_clock::now();
    line["time"] = fmt::format("{:%FT%T}Z", std::chrono::floor<std::chrono::milliseconds>(now));
    for (auto& [k, v] : record.items()) line[k] = v;
    std::string text = util::redact(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) + "\n";
    std::lock_guard lock(mutex_);
    std::fwrite(text.data(), 1, text.size(), out_);
    std::fflush(out_);
  }

 private:
  std::FILE* out_ = nullptr;
  bool owned_ = false;
  std::mutex mutex_;
};

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
  AuditFile audit(f.audit_log);
  mcp::SingleBackend backend(db, journal, [&audit](const nlohmann::json& r) { audit.write(r); });
  // Connect once before serving, so a wrong URL fails at startup, not at the first tool call.
  backend.with_database(caller, "pgshift/mcp", [](pg::Connection&) {});
  mcp::Server server(options, backend);
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
  cmd->callback([flags, cmd, &ctx] {
    ctx.prepare("mcp");
    ctx.exit_code = run_mcp(*flags, cmd);
  });
}

}  // namespace pgshift::cli
