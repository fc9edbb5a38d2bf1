// list_schemas, list_tables, describe_table: fixed catalog SQL (catalog/describe.hpp) in the
// query engine's read-only transaction.
#include <fmt/format.h>

#include "catalog/describe.hpp"
#include "mcp/tool_support.hpp"

namespace pgshift::mcp {
namespace {

using json = nlohmann::json;

constexpr int kMaxTables = 1000;

json table_schema() {
  return object_schema({{"schema", {{"type", "string"}}},
                        {"name", {{"type", "string"}}},
                        {"kind", {{"type", "string"}}},
                        {"partition_of", nullable("string")},
                        {"size_bytes", nullable("integer")},
                        {"row_estimate", nullable("integer")},
                        {"comment", nullable("string")}},
                       {"schema", "name", "kind"}, false);
}

Tool list_schemas_tool() {
  return make_tool(
      "list_schemas", "List schemas",
      "Lists the database's schemas (PostgreSQL's internal ones left out) with owner, number of "
      "tables and views, and comment.",
      object_schema(json::object()),
      object_schema({{"schemas",
                      {{"type", "array"},
                       {"items", object_schema({{"name", {{"type", "string"}}},
                                                {"owner", {{"type", "string"}}},
                                                {"relations", {{"type", "integer"}}},
                                                {"comment", nullable("string")}},
                                               {"name", "owner", "relations"}, false)}}}},
                    {"schemas"}),
      [](const json&, ToolContext& ctx) {
        ToolResult r;
        read_only(ctx, [&](pg::Connection& conn) { r.structured = {{"schemas", catalog::list_schemas(conn)}}; });
        return r;
      });
}

Tool list_tables_tool() {
  return make_tool(
      "list_tables", "List tables",
      fmt::format(
          "Lists tables, partitioned tables, views, materialized views and foreign tables with total size, estimated "
          "rows and comment; only those of `schema` when given. At most {} entries (`truncated` says there are more).",
          kMaxTables),
      object_schema({{"schema", {{"type", "string"}, {"description", "Only this schema's tables"}}}}),
      object_schema({{"tables", {{"type", "array"}, {"items", table_schema()}}}, {"truncated", {{"type", "boolean"}}}},
                    {"tables", "truncated"}),
      [](const json& args, ToolContext& ctx) {
        auto schema = string_arg(args, "schema", false);
        ToolResult r;
        read_only(ctx, [&](pg::Connection& conn) {
          bool more = false;
          json tables = catalog::list_tables(conn, schema, kMaxTables, more);
          r.structured = {{"tables", std::move(tables)}, {"truncated", more}};
        });
        return r;
      });
}

Tool describe_table_tool() {
  json column = object_schema({{"name", {{"type", "string"}}},
                               {"type", {{"type", "string"}}},
                               {"nullable", {{"type", "boolean"}}},
                               {"default", nullable("string")},
                               {"identity", nullable("string")},
                               {"generated", nullable("string")},
                               {"comment", nullable("string")}},
                              {"name", "type", "nullable"}, false);
  json names = {{"type", "array"}, {"items", {{"type", "string"}}}};
  return make_tool(
      "describe_table", "Describe a table",
      "Describes one table, view, materialized view or foreign table: columns with types, "
      "nullability, defaults, identity, generated expressions and comments; primary key; unique, check and "
      "exclusion constraints; foreign keys in both directions; indexes with size and scans; triggers; row-level "
      "security and its policies; partition key, parent and partitions; row estimate and sizes (the same reader "
      "as the console's structure view).",
      object_schema({{"schema", {{"type", "string"}, {"description", "Schema name, e.g. public"}}},
                     {"table", {{"type", "string"}, {"description", "Table or view name"}}}},
                    {"schema", "table"}),
      object_schema({{"schema", {{"type", "string"}}},
                     {"name", {{"type", "string"}}},
                     {"kind", {{"type", "string"}}},
                     {"row_estimate", nullable("integer")},
                     {"size_bytes", nullable("integer")},
                     {"comment", nullable("string")},
                     {"columns", {{"type", "array"}, {"items", column}}},
                     {"primary_key", names},
                     {"foreign_keys",
                      {{"type", "array"},
                       {"items", object_schema({{"name", {{"type", "string"}}},
                                                {"columns", names},
                                                {"references", object_schema({{"schema", {{"type", "string"}}},
                                                                              {"table", {{"type", "string"}}},
                                                                              {"columns", names}},
                                                                             {"schema", "table", "columns"}, false)},
                                                {"definition", {{"type", "string"}}}},
                                               {"name", "columns", "references"}, false)}}},
                     {"referenced_by",
                      {{"type", "array"},
                       {"items", object_schema({{"name", {{"type", "string"}}},
                                                {"schema", {{"type", "string"}}},
                                                {"table", {{"type", "string"}}},
                                                {"columns", names},
                                                {"referenced_columns", names},
                                                {"definition", {{"type", "string"}}}},
                                               {"name", "schema", "table", "columns"}, false)}}},
                     {"indexes",
                      {{"type", "array"},
                       {"items", object_schema({{"name", {{"type", "string"}}},
                                                {"definition", {{"type", "string"}}},
                                                {"method", {{"type", "string"}}},
                                                {"primary", {{"type", "boolean"}}},
                                                {"unique", {{"type", "boolean"}}},
                                                {"valid", {{"type", "boolean"}}},
                                                {"size_bytes", {{"type", "integer"}}},
                                                {"scans", nullable("integer")}},
                                               {"name", "definition"}, false)}}},
                     {"table_bytes", nullable("integer")},
                     {"index_bytes", nullable("integer")},
                     {"constraints",
                      {{"type", "array"},
                       {"items", object_schema({{"name", {{"type", "string"}}},
                                                {"type", {{"enum", {"unique", "check", "exclusion"}}}},
                                                {"columns", names},
                                                {"definition", {{"type", "string"}}},
                                                {"validated", {{"type", "boolean"}}}},
                                               {"name", "type", "definition"}, false)}}},
                     {"triggers",
                      {{"type", "array"},
                       {"items", object_schema({{"name", {{"type", "string"}}},
                                                {"definition", {{"type", "string"}}},
                                                {"enabled", {{"type", "string"}}}},
                                               {"name", "definition"}, false)}}},
                     {"row_security", object_schema({{"enabled", {{"type", "boolean"}}}, {"forced", {{"type", "boolean"}}}},
                                                    {"enabled", "forced"}, false)},
                     {"policies",
                      {{"type", "array"},
                       {"items", object_schema({{"name", {{"type", "string"}}},
                                                {"command", {{"type", "string"}}},
                                                {"permissive", {{"type", "boolean"}}},
                                                {"roles", names},
                                                {"using", nullable("string")},
                                                {"with_check", nullable("string")}},
                                               {"name", "command"}, false)}}},
                     {"partition_key", nullable("string")},
                     {"partition_of", {{"type", {"object", "null"}}}},
                     {"partitions",
                      {{"type", "array"},
                       {"items", object_schema({{"schema", {{"type", "string"}}},
                                                {"table", {{"type", "string"}}},
                                                {"bound", nullable("string")},
                                                {"size_bytes", nullable("integer")}},
                                               {"schema", "table"}, false)}}}},
                    {"schema", "name", "kind", "columns", "primary_key", "foreign_keys", "referenced_by", "indexes",
                     "constraints", "triggers", "row_security", "policies", "partitions"},
                    false),
      [](const json& args, ToolContext& ctx) {
        std::string schema = *string_arg(args, "schema", true);
        std::string table = *string_arg(args, "table", true);
        ToolResult r;
        bool found = false;
        read_only(ctx, [&](pg::Connection& conn) {
          if (auto doc = catalog::describe_table(conn, schema, table)) {
            r.structured = std::move(*doc);
            found = true;
          }
        });
        if (!found) {
          return tool_error("not-found", fmt::format("no table, view or foreign table named {}.{} (names are "
                                                     "case-sensitive; list_tables shows what exists)",
                                                     schema, table));
        }
        return r;
      });
}

}  // namespace

std::vector<Tool> catalog_tools() { return {list_schemas_tool(), list_tables_tool(), describe_table_tool()}; }

}  // namespace pgshift::mcp
