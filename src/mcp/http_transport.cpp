// mcp::HttpTransport: the status-code rules of Streamable HTTP around mcp::Server::handle().
#include "mcp/http_transport.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "audit/audit.hpp"

namespace pgshift::mcp {
namespace {

using json = nlohmann::json;

bool lists(const std::string& header, std::string_view type) {
  return header.find(type) != std::string::npos || header.find("*/*") != std::string::npos;
}

void protocol_error(httplib::Response& res, int status, int code, std::string_view message) {
  http::send_json(res, status, jsonrpc::error(nullptr, code, message));
}

std::string sse_event(const json& message) { return "event: message\ndata: " + jsonrpc::dump(message) + "\n\n"; }

bool wants_progress(const jsonrpc::Message& m) {
  if (m.method != "tools/call" || !m.params.is_object()) return false;
  auto meta = m.params.find("_meta");
  if (meta == m.params.end() || !meta->is_object()) return false;
  auto token = meta->find("progressToken");
  return token != meta->end() && (token->is_string() || token->is_number_integer());
}

}  // namespace

HttpTransport::HttpTransport(Server& server, http::Server& http, std::string path) : server_(server) {
  const http::RouteOptions options{http::Access::authenticated, http::OriginRule::if_present, false};
  http.route(http::Method::post, path, "mcp_post", [this](const http::Request& q, httplib::Response& r) { post(q, r); },
             options);
  http.route(
      http::Method::get, path, "mcp_get",
      [](const http::Request&, httplib::Response& res) {
        res.set_header("Allow", "POST, DELETE");
        protocol_error(res, 405, jsonrpc::kInvalidRequest,
                       "Method Not Allowed: this server offers no SSE stream on GET; POST JSON-RPC messages");
      },
      options);
  http.route(http::Method::del, path, "mcp_delete",
             [this](const http::Request& q, httplib::Response& r) { remove(q, r); }, options);
}

size_t HttpTransport::sessions() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::optional<Session> HttpTransport::find_session(const http::Request& req, httplib::Response& res) {
  const std::string id = req.header("MCP-Session-Id");
  if (id.empty()) {
    protocol_error(res, 400, jsonrpc::kInvalidRequest, "Bad Request: MCP-Session-Id header is required (initialize first)");
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.identity != req.identity ||
      std::chrono::steady_clock::now() - it->second.used > kSessionIdle) {
    if (it != sessions_.end() && it->second.identity == req.identity) sessions_.erase(it);
    protocol_error(res, 404, jsonrpc::kInvalidRequest, "Not Found: no such session (it ended); initialize again");
    return std::nullopt;
  }
  const std::string version = req.header("MCP-Protocol-Version");
  if (!version.empty() && !supported_protocol_version(version)) {
    protocol_error(res, 400, jsonrpc::kInvalidRequest,
                   fmt::format("Bad Request: unsupported MCP-Protocol-Version '{}' (this session negotiated {})",
                               version, it->second.session.protocol_version));
    return std::nullopt;
  }
  it->second.used = std::chrono::steady_clock::now();
  return it->second.session;
}

void HttpTransport::post(const http::Request& req, httplib::Response& res) {
  const std::string accept = req.header("Accept");
  if (!lists(accept, "application/json") || !lists(accept, "text/event-stream")) {
    protocol_error(res, 406, jsonrpc::kInvalidRequest,
                   "Not Acceptable: Accept must list application/json and text/event-stream");
    return;
  }
  if (req.header("Content-Type").find("application/json") == std::string::npos) {
    protocol_error(res, 415, jsonrpc::kInvalidRequest, "Unsupported Media Type: Content-Type must be application/json");
    return;
  }
  jsonrpc::Message message = jsonrpc::parse(req.raw.body);
  if (message.kind == jsonrpc::Message::Kind::invalid) {
    http::send_json(res, 400, jsonrpc::error(message.id, message.error_code, message.error_message));
    return;
  }
  const Caller caller{req.identity, req.peer};
  if (message.kind == jsonrpc::Message::Kind::request && message.method == "initialize") {
    if (!req.header("MCP-Session-Id").empty()) {
      protocol_error(res, 400, jsonrpc::kInvalidRequest, "Bad Request: initialize starts a session; send it without MCP-Session-Id");
      return;
    }
    Session session;
    session.id = audit::new_session_id();
    Reply reply = server_.handle(session, caller, message);
    if (reply.retry_after) {
      res.set_header("Retry-After", std::to_string((reply.retry_after->count() + 999) / 1000));
      http::send_json(res, 429, *reply.message);
      return;
    }
    {
      std::lock_guard lock(mutex_);
      const auto now = std::chrono::steady_clock::now();
      std::erase_if(sessions_, [&](const auto& e) { return now - e.second.used > kSessionIdle; });
      if (sessions_.size() >= kMaxSessions) {
        http::send_busy(res, 60, "too many MCP sessions; retry later");
        return;
      }
      sessions_[session.id] = Entry{session, req.identity, now};
    }
    res.set_header("MCP-Session-Id", session.id);
    http::send_json(res, 200, *reply.message);
    return;
  }
  std::optional<Session> session = find_session(req, res);
  if (!session) return;
  if (message.kind != jsonrpc::Message::Kind::request) {
    server_.handle(*session, caller, message);
    res.status = 202;
    return;
  }
  answer(req, res, std::move(*session), message);
}

void HttpTransport::answer(const http::Request& req, httplib::Response& res, Session session,
                           const jsonrpc::Message& message) {
  const Caller caller{req.identity, req.peer};
  if (!wants_progress(message)) {
    auto guard = req.on_disconnect([this, id = session.id, rid = message.id] { server_.cancel_request(id, rid); });
    Reply reply = server_.handle(session, caller, message);
    if (!reply.message) {  // cancelled: the client asked not to hear back
      res.status = 202;
      return;
    }
    if (reply.retry_after) {
      res.set_header("Retry-After", std::to_string((reply.retry_after->count() + 999) / 1000));
      http::send_json(res, 429, *reply.message);
      return;
    }
    http::send_json(res, 200, *reply.message);
    return;
  }
  // Progress requested: an SSE stream with a progress notification, then the response. The
  // provider runs after this handler returns, on the same connection thread.
  // The disconnect guard is taken here (the Request does not outlive the handler) and kept by
  // the provider until the stream ends.
  const json token = message.params["_meta"]["progressToken"];
  auto guard = std::make_shared<http::DisconnectWatcher::Guard>(
      req.on_disconnect([this, id = session.id, rid = message.id] { server_.cancel_request(id, rid); }));
  res.status = 200;
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, guard, session, caller, message, token](size_t, httplib::DataSink& sink) mutable {
        std::string first = sse_event(jsonrpc::notification(
            "notifications/progress",
            {{"progressToken", token}, {"progress", 0}, {"message", "running on the database"}}));
        sink.write(first.data(), first.size());
        Reply reply = server_.handle(session, caller, message);
        if (reply.message) {
          std::string last = sse_event(*reply.message);
          sink.write(last.data(), last.size());
        }
        sink.done();
        guard.reset();
        return true;
      });
}

void HttpTransport::remove(const http::Request& req, httplib::Response& res) {
  std::optional<Session> session = find_session(req, res);
  if (!session) return;
  {
    std::lock_guard lock(mutex_);
    sessions_.erase(session->id);
  }
  server_.cancel_session(session->id);
  spdlog::info("mcp: session {} of {} ended by the client", session->id, req.identity);
  res.status = 204;
}

}  // namespace pgshift::mcp
