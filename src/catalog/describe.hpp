// Catalog reads for browsing a database (the MCP server's list_schemas, list_tables and
// describe_table tools; usable by the console): what schemas, tables and columns there are, as
// JSON documents of a fixed shape. Fixed SQL, values bound; the caller decides the transaction
// (the MCP server runs them inside query::ReadOnlyTransaction, with its timeouts).
//
// Internal schemas are left out everywhere: pg_catalog, information_schema, pg_toast*, pg_temp*
// and pgshift's own state schema. Every text passes util::sanitize_utf8. Works on PostgreSQL
// 13–17. Throws pg::SqlError on server errors.
//
//   list_schemas   [{"name", "owner", "relations", "comment"}]
//   list_tables    [{"schema", "name", "kind" (table|partitioned table|view|materialized view|
//                    foreign table), "partition_of" (or null), "size_bytes" (null for views),
//                    "row_estimate" (null when never analyzed), "comment"}], at most `limit`
//   describe_table {"schema", "name", "kind", "row_estimate", "size_bytes" (a partitioned table:
//                   the sums over its partitions), "table_bytes", "index_bytes", "comment",
//                   "columns": [{"name", "type", "nullable", "default", "identity",
//                                "generated", "comment"}],
//                   "primary_key": [column...] (empty when none),
//                   "foreign_keys": [{"name", "columns", "references": {"schema", "table",
//                                     "columns"}, "definition"}],          (this table's)
//                   "referenced_by": [{"name", "schema", "table", "columns",
//                                      "referenced_columns", "definition"}], (other tables')
//                   "indexes": [{"name", "definition", "method", "primary", "unique", "valid",
//                                "size_bytes", "scans" (idx_scan, null when unknown)}],
//                   "constraints": [{"name", "type" (unique|check|exclusion), "columns",
//                                    "definition", "validated"}],
//                   "triggers": [{"name", "definition", "enabled" (enabled|disabled|
//                                 replica only|always)}],   (internal ones left out)
//                   "row_security": {"enabled", "forced"},
//                   "policies": [{"name", "command", "permissive", "roles", "using",
//                                 "with_check"}],
//                   "partition_key" (or null), "partition_of": {"schema", "table", "bound"} or
//                   null, "partitions": [{"schema", "table", "bound", "size_bytes"}]}
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "pg/connection.hpp"

namespace pgshift::catalog {

nlohmann::json list_schemas(pg::Connection& conn);

// Tables, views, materialized views and foreign tables, by schema and name; only `schema`'s
// when given. Returns at most `limit` entries; `more` is set when there were more.
nlohmann::json list_tables(pg::Connection& conn, const std::optional<std::string>& schema, int limit, bool& more);

// nullopt when schema.table is not a table, view, materialized view or foreign table of a user
// schema (the console's structure view and MCP's describe_table both answer "not found").
std::optional<nlohmann::json> describe_table(pg::Connection& conn, const std::string& schema,
                                             const std::string& table);

}  // namespace pgshift::catalog
