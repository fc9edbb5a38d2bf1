// health, top_queries, migration_status: stats' diagnostics (stats/diagnostics.hpp), whose
// fixed SQL runs in its own read-only transactions; the result is the Report's JSON form.
#include <fmt/format.h>

#include <algorithm>

#include "mcp/tool_support.hpp"
#include "stats/diagnostics.hpp"

namespace pgshift::mcp {
namespace {

using json = nlohmann::json;

// stats::Report::to_json() (stats/report.hpp).
json report_schema() {
  json finding = object_schema({{"severity", {{"enum", {"info", "warning", "critical"}}}},
                                {"code", {{"type", "string"}}},
                                {"object", {{"type", "string"}}},
                                {"message", {{"type", "string"}}},
                                {"advice", {{"type", "string"}}}},
                               {"severity", "code", "message"}, false);
  json findings = {{"type", "array"}, {"items", finding}};
  json fact = object_schema({{"id", {{"type", "string"}}},
                             {"label", {{"type", "string"}}},
                             {"value", json::object()},
                             {"unit", {{"type", "string"}}},
                             {"hint", {{"type", "string"}}}},
                            {"id", "label"}, false);
  json section = object_schema(
      {{"id", {{"type", "string"}}},
       {"title", {{"type", "string"}}},
       {"explanation", {{"type", "string"}}},
       {"columns",
        {{"type", "array"},
         {"items", object_schema({{"name", {{"type", "string"}}}, {"type", {{"type", "string"}}}}, {"name"}, false)}}},
       {"rows", {{"type", "array"}, {"items", {{"type", "array"}}}}},
       {"findings", findings}},
      {"id", "columns", "rows"}, false);
  return object_schema({{"id", {{"type", "string"}}},
                        {"title", {{"type", "string"}}},
                        {"server_version_num", {{"type", "integer"}}},
                        {"facts", {{"type", "array"}, {"items", fact}}},
                        {"sections", {{"type", "array"}, {"items", section}}},
                        {"findings", findings}},
                       {"id", "facts", "sections", "findings"}, false);
}

ToolResult report_result(const stats::Report& report) { return ToolResult{report.to_json(), {}, false, true}; }

// A tool without arguments whose answer is one report read on a lease of the pool `which` picks.
Tool report_tool(std::string name, std::string title, std::string description, query::Pool& (*which)(ToolContext&),
                 stats::Report (*read)(pg::Connection&, const stats::Options&)) {
  return make_tool(std::move(name), std::move(title), std::move(description), object_schema(json::object()),
                   report_schema(), [which, read](const json&, ToolContext& ctx) {
                     ToolResult r;
                     with_lease(ctx, which(ctx),
                                [&](pg::Connection& conn) { r = report_result(read(conn, ctx.options.stats)); });
                     return r;
                   });
}

query::Pool& database(ToolContext& ctx) { return ctx.resources.db; }
query::Pool& journal(ToolContext& ctx) { return ctx.resources.journal; }
stats::Report health(pg::Connection& conn, const stats::Options& o) { return stats::health(conn, o); }
stats::Report migration(pg::Connection& conn, const stats::Options& o) { return stats::migration(conn, o); }

Tool health_tool() {
  return report_tool("health", "Database health",
                     "Runs every health check in one call (cache hit ratio, bloat, unused and invalid indexes, "
                     "long-running and blocked queries, transaction ID wraparound, sequences near exhaustion, "
                     "replication lag, archiver failures) and returns each finding with its severity and what to do.",
                     database, health);
}

json order_names() {
  json names = json::array();
  for (stats::QueryOrder o : stats::kQueryOrders) names.push_back(stats::query_order_name(o));
  return names;
}

Tool top_queries_tool() {
  return make_tool(
      "top_queries", "Top queries",
      fmt::format(
          "The statements that cost the most, from pg_stat_statements, by total time (default), mean or max time, "
          "calls, rows or shared blocks hit/read, with advice (the slowest per call, the one reading most blocks); "
          "`limit` rows (default 20, at most {}). When pg_stat_statements is not installed the result says how to "
          "enable it.",
          stats::kTopQueriesMaxLimit),
      object_schema({{"order", {{"enum", order_names()}, {"description", "Sort order (descending)"}}},
                     {"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", stats::kTopQueriesMaxLimit}}}}),
      report_schema(), [](const json& args, ToolContext& ctx) {
        stats::QueryOrder order = stats::QueryOrder::total_time;
        if (auto o = string_arg(args, "order", false)) {
          json names = order_names();
          if (std::find(names.begin(), names.end(), *o) == names.end()) {
            throw InvalidArguments("argument 'order' must be one of " + stats::query_order_names());
          }
          order = stats::query_order_from_string(*o);
        }
        int limit = static_cast<int>(integer_arg(args, "limit", 1, stats::kTopQueriesMaxLimit).value_or(20));
        ToolResult r;
        with_lease(ctx, ctx.resources.db, [&](pg::Connection& conn) {
          r = report_result(stats::top_queries(conn, order, limit, ctx.options.stats));
        });
        return r;
      });
}

Tool migration_status_tool() {
  return report_tool("migration_status", "Migration status",
                     "The pgshift migration recorded in the journal database (phase, direction, replication lag, "
                     "soak clock, last verify, recent journal entries); a no-migration finding when none is recorded.",
                     journal, migration);
}

}  // namespace

std::vector<Tool> stats_tools() { return {health_tool(), top_queries_tool(), migration_status_tool()}; }

}  // namespace pgshift::mcp
