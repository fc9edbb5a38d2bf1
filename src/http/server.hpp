// The HTTP service the console and the MCP server run on (cpp-httplib underneath). A surface
// creates a Server, registers its routes, and calls run(); the Server owns everything that must
// be the same on both surfaces:
//
//   - listening (127.0.0.1:8977 unless told; port 0 picks a free one) with a bounded thread pool
//     and a listen backlog of 1024 (cpp-httplib's 5 made a burst of connects wait for SYN
//     retransmits); refusing --auth none on a non-loopback address (UsageError at construction);
//   - identity (http/auth.hpp) for every route but the public ones (/healthz, /readyz, /metrics);
//     401 with a one-line JSON reason otherwise (WWW-Authenticate: Bearer in token mode);
//   - Host check (421) on every request, Origin rules per route (403), both before any handler
//     runs and before a POST body is read (http/origin.hpp);
//   - limits: request body (413; a declared Content-Length beyond the limit is answered at once,
//     without reading the body, and the connection closes), request target (414); a request's
//     headers must arrive within header_timeout and its body within body_timeout (408), and one
//     peer holds at most max_connections_per_peer connections (503 beyond; trusted proxies are
//     not counted): slow clients cannot hold every thread (http/connection_guard.hpp);
//   - headers on every response: a strict Content-Security-Policy (no inline script or style),
//     X-Frame-Options DENY, X-Content-Type-Options nosniff, Referrer-Policy no-referrer, and
//     Cache-Control no-store unless the route is `cacheable`;
//   - metrics (http/metrics.hpp): pgshift_http_requests_total{route,status},
//     pgshift_http_request_duration_seconds{route}; served at {base}/metrics with the surface's
//     own families and collectors; {base}/healthz (the process) and {base}/readyz (the readiness
//     function, e.g. "the database answers");
//   - clean shutdown: on stop() or SIGINT/SIGTERM, new requests get 503, running ones have
//     `shutdown_grace` to finish, then the on_shutdown_deadline hooks run (cancel statements),
//     the listener closes and run() returns.
//
// Routes: route(method, pattern, name, handler, options). pattern is a std::regex matched against
// the whole path after the base path ("/api/tables/([^/]+)/([^/]+)"); groups are in
// Request::match(i). name labels metrics ("api_tables_browse"). Routes are tried in registration
// order. Origin rules: OriginRule::console_post (Origin same-origin or, without one,
// Sec-Fetch-Site: same-origin, and X-Pgshift-Request: 1) is applied to every POST route whose
// options say OriginRule::none; OriginRule::if_present (MCP: an Origin, when sent, must be
// same-origin) may be set for any method.
//
// Handlers run on the pool's threads, may throw (500 with a generic JSON body, logged), and write
// the httplib::Response directly (a chunked content provider for SSE is fine; it should end when
// Server::stopping() becomes true).
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http/address.hpp"
#include "http/auth.hpp"
#include "http/connection_guard.hpp"
#include "http/disconnect.hpp"
#include "http/metrics.hpp"
#include "http/origin.hpp"
#include "util/duration.hpp"

namespace pgshift::http {

enum class Method { get, post, del };
enum class Access { authenticated, open };  // open: no identity needed (probes, metrics)
enum class OriginRule { none, console_post, if_present };

struct RouteOptions {
  Access access = Access::authenticated;
  OriginRule origin = OriginRule::none;  // POST: console_post when none
  bool cacheable = false;                // embedded assets: Cache-Control max-age instead of no-store
};

struct ServerConfig {
  std::string surface = "console";      // in log lines
  ListenAddress listen;
  AuthConfig auth;
  std::vector<std::string> allowed_origins;
  std::string base_path;                // "" or "/ops/db" (no trailing slash)
  size_t max_body_bytes = 1 << 20;      // 413 beyond
  size_t max_target_bytes = 8192;       // 414 beyond (path + query)
  int threads = 64;                     // concurrent connections served (keep-alive holds one)
  int max_connections_per_peer = 16;    // 0: no cap; peers in auth.trusted_proxies are not counted
  util::Millis header_timeout{10'000};  // first byte of a request to the end of its headers
  util::Millis body_timeout{30'000};    // end of the headers to the end of the body
  util::Millis shutdown_grace{5'000};   // running requests finish within it, then are cancelled
  std::string per_request_warning;      // logged as a warning on every request (privileged role)
};

class Server;

// The checks Server's constructor makes, without building one (cli calls it before connecting to
// the database): auth configuration and tokens file, --auth none off loopback, allowed
// origins, base path. Throws UsageError.
void validate(const ServerConfig& config);

// What a handler gets: the raw request plus what the Server established about it.
class Request {
 public:
  const httplib::Request& raw;
  std::string route;     // the route's name
  std::string identity;  // "" on open routes
  std::string peer;      // TCP peer address

  std::string header(const std::string& name) const { return raw.get_header_value(name); }
  // Query parameters, split at the first '=' of each (so "f=country:=:FR" is f = "country:=:FR";
  // cpp-httplib keeps what follows the last '='), then percent-decoded ('+' is a space).
  bool has_param(const std::string& name) const { return query_.count(name) > 0; }
  std::string param(const std::string& name) const;  // the first value, "" when absent
  std::vector<std::string> params(const std::string& name) const;
  std::string match(size_t i) const;  // regex group i of the route's pattern (of the decoded path)

  // Calls fn once, from another thread, if the client disconnects before the guard is destroyed.
  DisconnectWatcher::Guard on_disconnect(std::function<void()> fn) const;

 private:
  friend class Server;
  Request(const httplib::Request& r, Server& s);
  Server& server_;
  std::multimap<std::string, std::string> query_;
};

using Handler = std::function<void(const Request&, httplib::Response&)>;

class Server {
 public:
  // Validates the configuration (auth, origins, base path). Throws UsageError.
  explicit Server(ServerConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void route(Method method, const std::string& pattern, const std::string& name, Handler handler,
             RouteOptions options = {});

  Metrics& metrics() { return metrics_; }
  const ServerConfig& config() const { return config_; }

  void set_readiness(std::function<bool()> ready);              // /readyz: 200 or 503
  void on_shutdown_deadline(std::function<void()> hook);        // e.g. pool.cancel_all()

  // Binds the listen address; returns the port. Throws RuntimeError (in use, no permission).
  int bind();
  // Serves (binding first if needed) until stop() or SIGINT/SIGTERM, then shuts down; returns
  // after the listener closed and every request ended.
  void run();
  void stop();                                  // thread-safe, idempotent
  bool stopping() const { return stopping_; }
  int port() const { return port_; }
  std::string url() const;                      // "http://127.0.0.1:8977/ops/db"

 private:
  friend class Request;
  struct Route {
    Method method;
    std::string pattern;
    std::string name;
    RouteOptions options;
  };
  httplib::Server::HandlerResponse pre_route(const httplib::Request& req, httplib::Response& res);
  const Route* find_route(const httplib::Request& req) const;
  bool declares_too_large_body(const httplib::Request& req) const;  // Content-Length > max_body_bytes
  void serve_builtin_routes();
  void shutdown();

  ServerConfig config_;
  Authenticator auth_;
  OriginCheck origin_;
  Metrics metrics_;
  std::unique_ptr<GuardedHttpServer> http_;
  std::unique_ptr<DisconnectWatcher> watcher_;
  std::vector<Route> routes_;
  std::vector<std::pair<Method, std::regex>> route_regexes_;  // parallel to routes_
  std::function<bool()> ready_;
  std::vector<std::function<void()>> deadline_hooks_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0};
  std::atomic<bool> listener_done_{false};
  int port_ = -1;
  std::thread listener_;
  std::mutex run_mutex_;
};

// Writes a JSON body (application/json; charset=utf-8) with a status; invalid UTF-8 is replaced.
void send_json(httplib::Response& res, int status, const nlohmann::json& body);
// {"error": {"message": message}} with a status.
void send_error(httplib::Response& res, int status, std::string_view message);
// 503 with Retry-After: seconds.
void send_busy(httplib::Response& res, int retry_after_seconds, std::string_view message);

}  // namespace pgshift::http
