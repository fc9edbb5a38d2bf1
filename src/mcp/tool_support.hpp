// Helpers the tool families share: reading arguments against their schema's intent (a wrong
// type is a tool error naming the argument, not a protocol error), running fixed SQL in the
// query engine's read-only transaction, and the JSON Schema fragments the output schemas reuse.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>

#include "mcp/tools.hpp"
#include "pg/connection.hpp"

namespace pgshift::mcp {

// Thrown by the argument readers; the server turns it into an "invalid-arguments" tool error.
class InvalidArguments : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A string argument; required ones throw InvalidArguments when absent or not a string.
std::optional<std::string> string_arg(const nlohmann::json& args, const char* name, bool required);
std::optional<long long> integer_arg(const nlohmann::json& args, const char* name, long long min, long long max);
// Refuses arguments the schema does not list (additionalProperties: false).
void only_known_args(const nlohmann::json& args, const nlohmann::json& input_schema);

// fn on a leased connection of `pool` (the caller's identity), with application_name
// pgshift/mcp/<correlation id> for the session, cancellable through ctx.cancel while it runs;
// for diagnostics that run their own read-only transactions (stats).
void with_lease(ToolContext& ctx, query::Pool& pool, const std::function<void(pg::Connection&)>& fn);
// fn inside query::ReadOnlyTransaction with the server's timeouts, for fixed catalog SQL.
void read_only(ToolContext& ctx, const std::function<void(pg::Connection&)>& fn);

// {"type": "object", "properties": props, "required": required, "additionalProperties": false}
nlohmann::json object_schema(nlohmann::json properties, nlohmann::json required = nlohmann::json::array(),
                             bool closed = true);
// A type or null: {"type": [type, "null"]}
nlohmann::json nullable(const char* type);

}  // namespace pgshift::mcp
