// The tools the MCP server offers. Every tool is read-only (annotations.readOnlyHint: true) and
// has an inputSchema and an outputSchema; a successful call returns structuredContent that
// conforms to the outputSchema, and the same JSON as text inside an untrusted-data fence
// (mcp/untrusted.hpp), because table comments, values and query text are written by whoever
// can write to the database, and an agent must not take them as instructions.
//
//   list_schemas                  schemas with owners, relation counts, comments
//   list_tables(schema?)          tables, views, ... with sizes, estimated rows, comments
//   describe_table(schema, table) columns, keys, foreign keys both ways, indexes
//   query(sql, limit?)            one statement through sqlgate + query::run (limit <= the cap)
//   explain(sql)                  EXPLAIN (FORMAT JSON) of a gated query, never ANALYZE
//   health                        stats::health: every check with severity and advice
//   top_queries(order?, limit?)   stats::top_queries (pg_stat_statements)
//   migration_status              stats::migration of the journal database
// No tool returns a connection string or a password, and no tool writes.
//
// A tool failure (invalid arguments, a rejected statement, a timeout, an SQL error) is a
// ToolResult with is_error and a JSON text saying what went wrong and what to do; only
// programming errors escape as exceptions.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "query/audited_run.hpp"
#include "mcp/server.hpp"

namespace pgshift::mcp {

// What a running tool may use, and its audit trail. A tool that runs agent SQL does it with
// query::run_audited (who() is the caller it passes), which writes the audit line itself and
// sets `audited`; for the other tools the server writes one line from `record` when
// touched_database is set.
struct ToolContext {
  const ServerOptions& options;
  Resources& resources;
  const Caller& caller;
  const Session& session;
  query::CancelSignal& cancel;
  std::string tool;
  std::string correlation_id;  // application_name pgshift/mcp/<id> while the tool's SQL runs
  audit::Record record;
  bool touched_database = false;
  bool audited = false;

  query::Caller who() const;   // surface mcp, identity, session, correlation id, extra
  nlohmann::json extra() const;  // tool, client name/version, protocol version
};

struct ToolResult {
  nlohmann::json structured;  // object; absent from the reply when is_error
  nlohmann::json error;       // is_error: {"error": {...}} shown to the agent as text
  bool is_error = false;
  bool untrusted = true;      // wrap the text in an untrusted-data fence
};

struct Tool {
  std::string name;
  std::string title;
  std::string description;
  nlohmann::json input_schema;
  nlohmann::json output_schema;
  std::function<ToolResult(const nlohmann::json& arguments, ToolContext& ctx)> call;

  nlohmann::json definition() const;  // the tools/list entry
};

Tool make_tool(std::string name, std::string title, std::string description, nlohmann::json input_schema,
               nlohmann::json output_schema, decltype(Tool::call) call);

const std::vector<Tool>& tools();
const Tool* find_tool(const std::string& name);

// A failure result: {"error": {"code": code, "message": message, ...extra}}.
ToolResult tool_error(std::string code, std::string message, nlohmann::json extra = nlohmann::json::object());

// The tool families, defined next to their code (tools_catalog.cpp, tools_query.cpp,
// tools_stats.cpp).
std::vector<Tool> catalog_tools();
std::vector<Tool> query_tools();
std::vector<Tool> stats_tools();

}  // namespace pgshift::mcp
