// JSON-RPC 2.0 as MCP uses it (2025-11-25): one message per text (a line on stdio, a POST body
// on HTTP). Batches (a JSON array) were removed from MCP in 2025-06-18 and are refused as an
// invalid request. A request has a string or integer id (never null); a notification has none;
// a response has an id and exactly one of result and error.
//
// parse() never throws: text that is not JSON is Kind::invalid with error_code parse_error
// (-32700); JSON that is not a valid message is Kind::invalid with invalid_request (-32600),
// carrying the id when one could be read, so the error response can name it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace pgshift::mcp::jsonrpc {

inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
// Implementation-defined server errors (-32000..-32099).
inline constexpr int kRateLimited = -32029;
inline constexpr int kNotInitialized = -32002;

struct Message {
  enum class Kind { request, notification, response, invalid };
  Kind kind = Kind::invalid;
  nlohmann::json id;      // null for notifications and unreadable ids
  std::string method;     // requests and notifications
  nlohmann::json params;  // an object (or null when absent)
  int error_code = 0;     // Kind::invalid: kParseError or kInvalidRequest
  std::string error_message;
};

Message parse(std::string_view text);

nlohmann::json result(const nlohmann::json& id, nlohmann::json value);
nlohmann::json error(const nlohmann::json& id, int code, std::string_view message,
                     const nlohmann::json& data = nullptr);
nlohmann::json notification(std::string_view method, nlohmann::json params);

// One line, no embedded newline (stdio framing); invalid UTF-8 replaced.
std::string dump(const nlohmann::json& message);

}  // namespace pgshift::mcp::jsonrpc
