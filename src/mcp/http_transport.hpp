// Streamable HTTP (MCP 2025-11-25, basic/transports.mdx) at one endpoint (default /mcp) of the
// shared http::Server, which has already checked Host (421), authenticated the caller (401) and
// checked Origin when one is sent (403) before anything here runs.
//
//   POST    Accept must list application/json and text/event-stream (406), Content-Type
//           application/json (415); the body is ONE JSON-RPC message (a batch or bad JSON: 400
//           with a JSON-RPC error without id).
//           initialize (without MCP-Session-Id): a new session; the answer carries
//             MCP-Session-Id (128 random bits, hex). Over the rate limit: 429 + Retry-After.
//           anything else: MCP-Session-Id required (400), unknown, ended or another identity's
//             (404); MCP-Protocol-Version, when sent, must be a supported revision (400).
//           notifications and responses: 202, no body.
//           requests: 200 application/json with the response; a tools/call whose _meta has a
//             progressToken gets text/event-stream instead: a progress notification, then the
//             response. A client that disconnects cancels its running statement.
//   GET     405 (this server sends no unsolicited messages), Allow: POST, DELETE.
//   DELETE  ends the session (204), cancelling its running calls; then 404 for that id.
//
// Sessions hold only what initialize negotiated (mcp::Session) plus the identity that created
// them; each request is authenticated on its own. Idle sessions end after kSessionIdle; at most
// kMaxSessions exist (503 beyond).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "http/server.hpp"
#include "mcp/server.hpp"

namespace pgshift::mcp {

inline constexpr std::chrono::minutes kSessionIdle{60};
inline constexpr size_t kMaxSessions = 10'000;

class HttpTransport {
 public:
  // Registers POST, GET and DELETE on `path` of http.
  HttpTransport(Server& server, http::Server& http, std::string path = "/mcp");

  size_t sessions() const;

 private:
  struct Entry {
    Session session;
    std::string identity;
    std::chrono::steady_clock::time_point used;
  };
  void post(const http::Request& req, httplib::Response& res);
  void remove(const http::Request& req, httplib::Response& res);
  // The caller's session, or nullopt after writing the 400/404 answer.
  std::optional<Session> find_session(const http::Request& req, httplib::Response& res);
  void answer(const http::Request& req, httplib::Response& res, Session session, const jsonrpc::Message& message);

  Server& server_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> sessions_;
};

}  // namespace pgshift::mcp
