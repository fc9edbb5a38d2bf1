// `pgshift query`: one read-only statement through the gate and the query engine; the result
// on stdout in the chosen format, the summary (rows, truncation, time) on stderr.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/cli.hpp"
#include "pg/connection.hpp"
#include "pg/error.hpp"
#include "query/format.hpp"
#include "query/format_budget.hpp"
#include "query/query.hpp"
#include "query/role_guard.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"

namespace pgshift::cli {
namespace {

constexpr const char* kDbEnv = "PGSHIFT_DB_URL";

struct QueryFlags {
  std::string db;
  long long limit = 1000;
  std::string timeout = "5s";
  std::string format = "table";
  bool json = false;
  bool allow_privileged_role = false;
  std::vector<std::string> allow_functions;
  std::vector<std::string> allow_foreign_tables;
  std::string sql;
};

// "pgshift: rejected [rule]: reason (at character N)" and a caret under the offending text.
int print_rejected(const std::string& sql, const sqlgate::Verdict& verdict) {
  std::string excerpt = sqlgate::caret_excerpt(sql, verdict.position);
  std::fprintf(stderr, "pgshift: rejected [%s]: %s\n%s%s", sqlgate::rule_name(verdict.rule),
               util::redact(verdict.message()).c_str(), util::redact(excerpt).c_str(), excerpt.empty() ? "" : "\n");
  return static_cast<int>(ExitCode::problems_found);
}

// A server error with a position (22P02, 42703, ...): the one line main() would print, then the
// caret under the user's text, as the console's SQL tab and MCP's `position` show it.
int print_server_error(const std::string& sql, const pg::SqlError& e) {
  std::string excerpt = sqlgate::caret_excerpt(sql, e.position());
  std::fprintf(stderr, "pgshift: %s (at character %d)\n%s%s", util::redact(e.what()).c_str(), e.position(),
               util::redact(excerpt).c_str(), excerpt.empty() ? "" : "\n");
  return static_cast<int>(e.exit_code());
}

std::string read_sql(const std::string& given) {
  if (!given.empty() && given != "-") return given;
  if (given.empty() && isatty(STDIN_FILENO)) {
    throw UsageError("no SQL: pass the statement as an argument, or on stdin (pgshift query --db URL - < file.sql)");
  }
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) throw UsageError("no SQL on stdin");
  return text;
}

pg::ConnInfo database(const QueryFlags& flags) {
  if (!flags.db.empty()) return pg::ConnInfo::parse(flags.db, "--db");
  if (auto from_env = pg::ConnInfo::from_env(kDbEnv)) return *from_env;
  throw UsageError(fmt::format("no database: pass --db URL or set {}", kDbEnv));
}

int run_query(const QueryFlags& flags, const Context& ctx) {
  query::Options options;
  options.limit = flags.limit;
  if (flags.limit < 1 || flags.limit > query::kMaxLimit) {
    throw UsageError(fmt::format("--limit: must be between 1 and {} (got {})", query::kMaxLimit, flags.limit));
  }
  options.allow_functions = flags.allow_functions;
  options.allow_foreign_tables = flags.allow_foreign_tables;
  options.timeout = util::parse_duration(flags.timeout, "--timeout");
  if (options.timeout.count() <= 0) throw UsageError("--timeout: must be positive");
  query::Format format = flags.json ? query::Format::json : query::parse_format(flags.format, "--format");
  query::validate(options);
  pg::ConnInfo info = database(flags);
  std::string sql = read_sql(flags.sql);

  // Refuse before connecting: a rejected statement needs no database.
  sqlgate::Verdict verdict = sqlgate::check(sql);
  spdlog::debug("sqlgate: {} fingerprint={} normalized={}", verdict.accepted ? "accepted" : "rejected",
                verdict.fingerprint, verdict.normalized);
  if (!verdict.accepted) return print_rejected(sql, verdict);

  pg::Connection conn = pg::Connection::open(info, "db");
  // The console and the MCP server refuse such a role without --allow-privileged-role; a
  // one-off command run by an operator warns instead (issue #23).
  if (!flags.allow_privileged_role) {
    query::RoleCheck role = query::inspect_role(conn);
    if (role.privileged()) {
      spdlog::warn("{} ({}): READ ONLY and the gate are the only barriers left (it can read server files, run "
                   "programs or signal sessions); connect as a read-only role, or pass --allow-privileged-role to "
                   "silence this warning",
                   role.describe(), conn.endpoint());
    }
  }
  query::Result result;
  try {
    result = query::run(conn, sql, options);
  } catch (const query::Rejected& rejected) {  // the catalog check, after connecting
    return print_rejected(sql, rejected.verdict());
  } catch (const pg::SqlError& e) {
    if (e.position() == 0) throw;
    return print_server_error(sql, e);
  }
  // The budget holds for a single value too: a value cut (on the server or here) is said on stderr.
  std::vector<query::CutValue> cuts = query::fit_to_budget(result, options.max_bytes);
  if (!cuts.empty()) spdlog::warn("{}", query::describe_cuts(cuts, options.max_bytes));
  std::string text = query::render(result, format);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  if (!ctx.quiet) std::fprintf(stderr, "%s\n", query::summary(result).c_str());
  return 0;
}

}  // namespace

void register_query(CLI::App& app, Context& ctx) {
  auto flags = std::make_shared<QueryFlags>();
  CLI::App* cmd = app.add_subcommand(
      "query", "Run one read-only statement (SELECT, VALUES, TABLE, EXPLAIN, SHOW) safely and print the result");
  cmd->add_option("--db", flags->db, fmt::format("Database URL or conninfo (env {})", kDbEnv));
  cmd->add_option("--limit", flags->limit, "Rows returned at most; the rest is reported as truncated")
      ->capture_default_str();
  cmd->add_option("--timeout", flags->timeout, "Statement timeout (e.g. 5s, 500ms, 2m)")->capture_default_str();
  cmd->add_option("--format", flags->format, "Output: table, csv, json or markdown")->capture_default_str();
  cmd->add_flag("--json", flags->json, "Same as --format json");
  cmd->add_option("--allow-function", flags->allow_functions,
                  "Allow this extension, user-defined, SECURITY DEFINER or volatile function by name: schema.name "
                  "or schema.* (repeatable; denied families such as pg_sleep or crosstab stay refused)")
      ->allow_extra_args(false);
  cmd->add_option("--allow-foreign-table", flags->allow_foreign_tables,
                  "Allow reading this foreign table: schema.name (repeatable; a foreign table can run a program or "
                  "reach another server)")
      ->allow_extra_args(false);
  cmd->add_flag("--allow-privileged-role", flags->allow_privileged_role,
                "Do not warn when the role is a superuser or may read server files, run programs or signal sessions");
  cmd->add_option("sql", flags->sql, "The statement; '-' or nothing reads it from stdin");
  cmd->callback([flags, &ctx] {
    ctx.prepare("query");
    ctx.exit_code = run_query(*flags, ctx);
  });
}

}  // namespace pgshift::cli
