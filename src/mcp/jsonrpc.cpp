// jsonrpc::parse: classify one message, with the JSON-RPC error codes for what is wrong.
#include "mcp/jsonrpc.hpp"

namespace pgshift::mcp::jsonrpc {
namespace {

Message invalid(int code, std::string message, nlohmann::json id = nullptr) {
  Message m;
  m.error_code = code;
  m.error_message = std::move(message);
  m.id = std::move(id);
  return m;
}

bool valid_id(const nlohmann::json& id) { return id.is_string() || id.is_number_integer(); }

}  // namespace

Message parse(std::string_view text) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) return invalid(kParseError, "Parse error: the message is not valid JSON");
  if (doc.is_array()) {
    return invalid(kInvalidRequest, "Invalid Request: JSON-RPC batches are not supported (removed in MCP 2025-06-18)");
  }
  if (!doc.is_object()) return invalid(kInvalidRequest, "Invalid Request: a message is a JSON object");
  nlohmann::json id = doc.contains("id") && valid_id(doc["id"]) ? doc["id"] : nlohmann::json();
  auto version = doc.find("jsonrpc");
  if (version == doc.end() || *version != "2.0") {
    return invalid(kInvalidRequest, "Invalid Request: \"jsonrpc\" must be \"2.0\"", id);
  }
  if (doc.contains("id") && !valid_id(doc["id"])) {
    return invalid(kInvalidRequest, "Invalid Request: \"id\" must be a string or an integer");
  }
  Message m;
  m.id = id;
  auto method = doc.find("method");
  if (method == doc.end()) {
    bool has_result = doc.contains("result"), has_error = doc.contains("error");
    if (!doc.contains("id") || has_result == has_error) {
      return invalid(kInvalidRequest, "Invalid Request: no \"method\", and not a response", id);
    }
    m.kind = Message::Kind::response;
    return m;
  }
  if (!method->is_string()) return invalid(kInvalidRequest, "Invalid Request: \"method\" must be a string", id);
  m.method = method->get<std::string>();
  if (auto params = doc.find("params"); params != doc.end()) {
    if (!params->is_object()) {
      return invalid(kInvalidRequest, "Invalid Request: \"params\" must be an object in MCP", id);
    }
    m.params = *params;
  }
  m.kind = doc.contains("id") ? Message::Kind::request : Message::Kind::notification;
  return m;
}

nlohmann::json result(const nlohmann::json& id, nlohmann::json value) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(value)}};
}

nlohmann::json error(const nlohmann::json& id, int code, std::string_view message, const nlohmann::json& data) {
  nlohmann::json e = {{"code", code}, {"message", message}};
  if (!data.is_null()) e["data"] = data;
  nlohmann::json out = {{"jsonrpc", "2.0"}, {"error", std::move(e)}};
  if (!id.is_null()) out["id"] = id;
  return out;
}

nlohmann::json notification(std::string_view method, nlohmann::json params) {
  return {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

std::string dump(const nlohmann::json& message) {
  return message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace pgshift::mcp::jsonrpc
