// The MCP server, transport-agnostic: given one parsed JSON-RPC message from a client, produce
// the reply. The stdio transport (mcp/stdio.hpp) and Streamable HTTP (mcp/http_transport.hpp)
// only frame messages and map replies to their wire.
//
//   initialize                 negotiates the protocol revision (kProtocolVersions, newest
//                              first; an unknown request gets the newest), records clientInfo
//   notifications/initialized  accepted
//   ping                       {}
//   tools/list                 every tool of mcp/tools.hpp
//   tools/call                 runs a tool; an unknown tool is -32602; a tool that fails
//                              (rejected SQL, timeout, SQL error, over the rate limit) is a
//                              result with isError: true saying what to do
//   notifications/cancelled    cancels that request's running statement (PQcancel); the
//                              cancelled request gets no response
// Anything else: -32601. Requests other than initialize and ping before initialize: -32002.
//
// A Session holds what initialize negotiated and nothing that grants anything: who the caller is
// comes with every message (Caller), from the transport's authentication, so a later stateless
// revision (no initialize, version in _meta) is a thin layer over handle().
//
// handle() blocks while a tool runs; call it from a worker thread per request and call it for
// notifications/cancelled from another thread. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.hpp"
#include "mcp/jsonrpc.hpp"
#include "mcp/rate_limit.hpp"
#include "pg/connection.hpp"
#include "query/pool.hpp"
#include "query/query.hpp"
#include "stats/diagnostics.hpp"

namespace pgshift::mcp {

// Newest first; the first is what a client asking for another revision gets.
inline constexpr std::string_view kProtocolVersions[] = {"2025-11-25", "2025-06-18", "2025-03-26"};
bool supported_protocol_version(std::string_view version);

struct Session {
  std::string id;                // HTTP: the MCP-Session-Id; stdio: random; in every audit line
  std::string protocol_version;  // "" until initialize
  std::string client_name;       // clientInfo
  std::string client_version;
};

// Who sent a message, from the transport (stdio: --identity or the OS user; HTTP: the auth mode).
struct Caller {
  std::string identity;
  std::string client_address;  // "" on stdio
};

struct ServerOptions {
  query::Options query;          // limit is the cap a call's `limit` may not exceed
  double rate_per_minute = 60;   // tool calls (and initializes) per identity
  stats::Options stats;
  std::string database;          // redacted endpoint, for the initialize instructions
};

// What the tools run on: the shared pool of read-only connections to the inspected database,
// the journal database's pool (the same pool when --journal is not given), the audit log.
struct Resources {
  query::Pool& db;
  query::Pool& journal;
  audit::Log& log;
};

// What handle() produced. retry_after: the caller is over its rate limit (the HTTP transport
// answers 429 with Retry-After when the message is not a tools/call).
struct Reply {
  std::optional<nlohmann::json> message;  // nullopt: nothing to send (notification, cancelled)
  std::optional<util::Millis> retry_after;
};

class Server {
 public:
  Server(ServerOptions options, Resources resources);

  Reply handle(Session& session, const Caller& caller, const jsonrpc::Message& message);

  // Cancels every running call of the session (its client went away or ended it).
  void cancel_session(const std::string& session_id);
  // Cancels one running request (its HTTP client went away before the answer).
  void cancel_request(const std::string& session_id, const nlohmann::json& request_id);

  const ServerOptions& options() const { return options_; }

 private:
  nlohmann::json initialize(Session& session, const nlohmann::json& params) const;
  Reply call_tool(Session& session, const Caller& caller, const jsonrpc::Message& message);
  void cancel(const Session& session, const nlohmann::json& params);

  ServerOptions options_;
  Resources resources_;
  RateLimiter limiter_;
  std::mutex mutex_;
  // session id + request id → the running call
  std::map<std::pair<std::string, std::string>, std::shared_ptr<query::CancelSignal>> running_;
};

}  // namespace pgshift::mcp
