// query and explain: the agent's SQL through the gate and the engine (query::run), nothing else.
#include <fmt/format.h>

#include "mcp/tool_support.hpp"
#include "query/format.hpp"
#include "query/format_budget.hpp"
#include "query/user_position.hpp"
#include "util/utf8.hpp"

namespace pgshift::mcp {
namespace {

using json = nlohmann::json;

// Agent SQL: gate, pool lease, query::run, audit line, all in query::run_audited.
query::Result run_sql(ToolContext& ctx, const std::string& sql, const query::Options& options) {
  ctx.audited = true;
  ctx.touched_database = true;
  return query::run_audited(ctx.resources.db, ctx.resources.log, ctx.who(), sql, options, &ctx.cancel);
}

Tool query_tool() {
  json column = object_schema(
      {{"name", {{"type", "string"}}}, {"type", {{"type", "string"}}}, {"type_oid", {{"type", "integer"}}}},
      {"name", "type"}, false);
  return make_tool(
      "query", "Run a read-only query",
      "Runs one read-only statement (SELECT, VALUES, TABLE, WITH of plain queries, EXPLAIN without ANALYZE, "
      "SHOW) and returns columns with their types and the rows. Writes, DDL, several statements, locking "
      "clauses and dangerous functions are refused with the rule, the reason and the position, so the SQL can be "
      "fixed. Results stop at `limit` rows (default and maximum: the server's row limit) or at the server's "
      "result-size budget; `truncated` says there was more. A value larger than what is left of the budget is cut "
      "(listed in `cut_values` with its full size). The statement is cancelled after the server's "
      "timeout.",
      object_schema(
          {{"sql", {{"type", "string"}, {"description", "One read-only SQL statement"}}},
           {"limit",
            {{"type", "integer"}, {"minimum", 1}, {"description", "Rows returned at most (<= the server's cap)"}}}},
          {"sql"}),
      object_schema({{"kind", {{"type", "string"}}},
                     {"fingerprint", {{"type", "string"}}},
                     {"columns", {{"type", "array"}, {"items", column}}},
                     {"rows", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                     {"row_count", {{"type", "integer"}}},
                     {"truncated", {{"type", "boolean"}}},
                     {"truncated_by", {{"enum", json::array({"limit", "bytes", nullptr})}}},
                     {"limit", {{"type", "integer"}}},
                     {"max_result_bytes", {{"type", "integer"}}},
                     {"cut_values",
                      {{"type", "array"},
                       {"items", object_schema({{"row", {{"type", "integer"}}},
                                                {"column", {{"type", "string"}}},
                                                {"bytes", {{"type", "integer"}}},
                                                {"kept", {{"type", "integer"}}}},
                                               {"row", "column", "bytes", "kept"}, false)}}},
                     {"elapsed_ms", {{"type", "number"}}},
                     {"correlation_id", {{"type", "string"}}}},
                    {"columns", "rows", "row_count", "truncated", "elapsed_ms"}, false),
      [](const json& args, ToolContext& ctx) {
        std::string sql = *string_arg(args, "sql", true);
        query::Options options = ctx.options.query;
        if (auto limit = integer_arg(args, "limit", 1, options.limit)) options.limit = *limit;
        // Every value goes twice into the reply (the text content and structuredContent): each copy
        // gets 7/16 of --max-result-bytes (1/8 is left for the envelope: keys, names, escapes), so
        // the reply stays within it. Values longer than that are cut on the server, and the budget
        // holds for a single value too.
        const long long budget = options.max_bytes;
        options.max_bytes = std::max(1LL, budget / 16 * 7);
        query::Result result = run_sql(ctx, sql, options);
        std::vector<query::CutValue> cuts = query::fit_to_budget(result, options.max_bytes);
        json out = query::result_json(result);
        out["max_result_bytes"] = budget;
        if (!cuts.empty()) out["cut_values"] = query::cuts_json(result, cuts);
        out["correlation_id"] = ctx.correlation_id;
        return ToolResult{std::move(out), {}, false, true};
      });
}

Tool explain_tool() {
  return make_tool(
      "explain", "Explain a query",
      "Shows PostgreSQL's plan for one read-only query (EXPLAIN (FORMAT JSON), never ANALYZE: the "
      "query is planned, not run). The query passes the same gate as the query tool.",
      object_schema({{"sql", {{"type", "string"}, {"description", "One SELECT, VALUES, TABLE or WITH query"}}}},
                    {"sql"}),
      object_schema({{"plan", {{"type", "object"}}},
                     {"fingerprint", {{"type", "string"}}},
                     {"elapsed_ms", {{"type", "number"}}},
                     {"correlation_id", {{"type", "string"}}}},
                    {"plan"}, false),
      [](const json& args, ToolContext& ctx) {
        std::string sql = *string_arg(args, "sql", true);
        sqlgate::Verdict v = sqlgate::check(sql);
        if (!v.accepted) run_sql(ctx, sql, ctx.options.query);  // audits the rejection, throws Rejected
        if (v.kind != sqlgate::Kind::query) {
          return tool_error("not-a-query", fmt::format("explain takes a query (SELECT, VALUES, TABLE or WITH), not {}; "
                                                       "pass the query itself",
                                                       sqlgate::kind_name(v.kind)));
        }
        // EXPLAIN of the statement as the gate split it; the whole text passes the gate again.
        constexpr std::string_view kExplain = "EXPLAIN (FORMAT JSON) ";
        std::string text = std::string(kExplain) + v.statement;
        query::Result result;
        try {
          result = run_sql(ctx, text, ctx.options.query);
        } catch (const pg::SqlError& e) {
          throw query::on_user_text(e, kExplain, sql, v.statement);  // the caret under the caller's text
        }
        if (result.rows.empty() || result.rows[0].empty() || !result.rows[0][0]) {
          return tool_error("no-plan", "PostgreSQL returned no plan");
        }
        json plan = json::parse(util::sanitize_utf8(*result.rows[0][0]), nullptr, false);
        if (plan.is_array() && !plan.empty()) plan = plan[0];
        if (!plan.is_object()) return tool_error("no-plan", "PostgreSQL's plan was not a JSON object");
        return ToolResult{{{"plan", std::move(plan)},
                           {"fingerprint", v.fingerprint},
                           {"elapsed_ms", result.elapsed.count()},
                           {"correlation_id", ctx.correlation_id}},
                          {},
                          false,
                          true};
      });
}

}  // namespace

std::vector<Tool> query_tools() { return {query_tool(), explain_tool()}; }

}  // namespace pgshift::mcp
