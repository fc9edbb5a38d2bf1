// The HTTP service: checks before routing, metrics after, clean shutdown; see http/server.hpp.
#include "http/server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <regex>

#include "http/own_sockets.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/redact.hpp"

namespace pgshift::http {
namespace {

using Clock = std::chrono::steady_clock;

// No inline script or style anywhere: the pages load {base}/assets/app.js and app.css only.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
constexpr std::string_view kCustomHeader = "X-Pgshift-Request";
constexpr std::string_view kRequests = "pgshift_http_requests_total";
// Connections the kernel may hold, accepted but not yet taken by the listener (see
// http/own_sockets.hpp: cpp-httplib's own is 5).
constexpr int kListenBacklog = 1024;
constexpr std::string_view kDuration = "pgshift_http_request_duration_seconds";
constexpr std::string_view kRefused = "pgshift_http_connections_refused_total";

// What pre-routing learnt about the request this thread is serving (the same worker thread runs
// pre-routing, the handler and the logger of one request, one request at a time).
struct RequestState {
  std::string route = "unmatched";
  std::string identity;
  Clock::time_point start;
  bool started = false;
};
thread_local RequestState t_state;

std::string regex_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

void validate_base_path(const std::string& base) {
  if (base.empty()) return;
  bool ok = base.front() == '/' && base.back() != '/' && base.find("//") == std::string::npos;
  for (char c : base) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || std::string_view("/-._~").find(c) != std::string_view::npos);
  if (!ok) throw UsageError(fmt::format("--base-path: '{}' must look like /ops/db (letters, digits, - . _ ~; no trailing /)", base));
}

const char* method_name(Method m) {
  switch (m) {
    case Method::get: return "GET";
    case Method::post: return "POST";
    case Method::del: return "DELETE";
  }
  return "?";
}

void set_security_headers(httplib::Response& res, bool cacheable) {
  res.set_header("Content-Security-Policy", std::string(kContentSecurityPolicy));
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", cacheable ? "private, max-age=300" : "no-store");
}

// Every value of a header, in arrival order (none when name is "").
std::vector<std::string> header_values(const httplib::Request& req, const std::string& name) {
  std::vector<std::string> out;
  if (name.empty()) return out;
  for (size_t i = 0; i < req.get_header_value_count(name); ++i) out.push_back(req.get_header_value(name, i));
  return out;
}

const char* status_text(int status) {
  switch (status) {
    case 400: return "bad request";
    case 401: return "authentication required";
    case 403: return "forbidden";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 408: return "request timeout";
    case 417: return "expectation failed";
    case 413: return "the request body is too large";
    case 414: return "the request URL is too long";
    case 421: return "misdirected request";
    case 429: return "too many requests";
    case 500: return "internal error";
    case 503: return "service unavailable";
    default: return "error";
  }
}

}  // namespace

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                  "application/json; charset=utf-8");
}

void send_error(httplib::Response& res, int status, std::string_view message) {
  send_json(res, status, {{"error", {{"message", util::redact(message)}}}});
}

void send_busy(httplib::Response& res, int retry_after_seconds, std::string_view message) {
  res.set_header("Retry-After", std::to_string(retry_after_seconds));
  send_error(res, 503, message);
}

Request::Request(const httplib::Request& r, Server& s) : raw(r), server_(s) {
  const size_t q = r.target.find('?');
  if (q == std::string::npos) return;
  std::string_view rest = std::string_view(r.target).substr(q + 1);
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key(pair.substr(0, eq));
    std::string value(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    query_.emplace(httplib::detail::decode_url(key, true), httplib::detail::decode_url(value, true));
  }
}

std::string Request::param(const std::string& name) const {
  auto it = query_.find(name);
  return it == query_.end() ? std::string() : it->second;
}

std::vector<std::string> Request::params(const std::string& name) const {
  std::vector<std::string> out;
  for (auto [it, end] = query_.equal_range(name); it != end; ++it) out.push_back(it->second);
  return out;
}

std::string Request::match(size_t i) const {
  if (i >= raw.matches.size()) return "";
  return raw.matches[i].str();  // httplib decoded the path before matching
}

DisconnectWatcher::Guard Request::on_disconnect(std::function<void()> fn) const {
  int fd = find_connected_socket(raw.remote_addr, raw.remote_port, raw.local_port);
  return server_.watcher_->watch(fd, std::move(fn));
}

void validate(const ServerConfig& config) {
  validate_base_path(config.base_path);
  if (config.auth.mode == AuthMode::none && !is_loopback(config.listen.host)) {
    throw UsageError(fmt::format("--auth none on {}: anyone who can reach that address could read the database; "
                                 "listen on 127.0.0.1, or use --auth trusted-header or --auth token",
                                 config.listen.host));
  }
  if (config.threads < 2) throw UsageError("http threads must be at least 2");
  Authenticator check_auth(config.auth);
  OriginCheck check_origins(config.listen, config.allowed_origins);
}

Server::Server(ServerConfig config)
    : config_((validate(config), std::move(config))),
      auth_(config_.auth),
      origin_(config_.listen, config_.allowed_origins),
      http_(std::make_unique<GuardedHttpServer>(
          ConnectionLimits{config_.header_timeout, config_.body_timeout, ConnectionLimits{}.max_header_bytes,
                           config_.max_connections_per_peer, config_.auth.trusted_proxies},
          [this](std::string_view reason) { metrics_.add(std::string(kRefused), {{"reason", std::string(reason)}}); })),
      watcher_(std::make_unique<DisconnectWatcher>()) {
  metrics_.describe(std::string(kRequests), "counter", "HTTP requests by route and status");
  metrics_.describe(std::string(kDuration), "histogram", "HTTP request duration by route, seconds");
  metrics_.describe(std::string(kRefused), "counter",
                    "Connections refused or cut: per_peer, header_timeout, header_too_large, body_timeout");

  const int threads = config_.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http_->set_payload_max_length(config_.max_body_bytes);
  // httplib writes headers and body separately; with Nagle a keep-alive client's delayed ACK
  // holds the body back ~40 ms.
  http_->set_tcp_nodelay(true);
  http_->set_keep_alive_max_count(1000);
  http_->set_keep_alive_timeout(5);
  http_->set_read_timeout(10, 0);
  http_->set_write_timeout(10, 0);
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    return pre_route(req, res);
  });
  http_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    double seconds = t_state.started ? std::chrono::duration<double>(Clock::now() - t_state.start).count() : 0;
    metrics_.add(std::string(kRequests), {{"route", t_state.route}, {"status", std::to_string(res.status)}});
    metrics_.observe(std::string(kDuration), {{"route", t_state.route}}, seconds);
    spdlog::debug("{} {} {} {} -> {} ({:.1f} ms)", config_.surface, req.remote_addr, req.method, req.path,
                  res.status, seconds * 1000);
    t_state = RequestState{};
  });
  // A body declared larger than the limit is refused before the client sends it.
  http_->set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!declares_too_large_body(req)) return 100;
    set_security_headers(res, false);
    GuardedHttpServer::close_after_response();
    res.status = 413;
    return 413;
  });
  http_->set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty() || res.is_chunked_content_provider_ || res.content_provider_) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (ReadFailure failure = GuardedHttpServer::read_failure(); failure != ReadFailure::none) {
      set_security_headers(res, false);
      res.set_header("Connection", "close");
      send_json(res, status_of(failure), {{"error", {{"message", describe(failure, http_->limits())}}}});
      return httplib::Server::HandlerResponse::Handled;
    }
    send_json(res, res.status, {{"error", {{"message", status_text(res.status)}}}});
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_->set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("{}: {} {} failed: {}", config_.surface, req.method, req.path, util::redact(what));
    res.headers.erase("Content-Length");
    send_error(res, 500, "internal error (see the server log)");
  });
  serve_builtin_routes();
}

Server::~Server() {
  stop();
  if (listener_.joinable()) {
    http_->stop();
    listener_.join();
  }
}

void Server::route(Method method, const std::string& pattern, const std::string& name, Handler handler,
                   RouteOptions options) {
  if (method == Method::post && options.origin == OriginRule::none) options.origin = OriginRule::console_post;
  std::string full = regex_escape(config_.base_path) + pattern;
  routes_.push_back(Route{method, pattern, name, options});
  route_regexes_.emplace_back(method, std::regex(full));
  auto wrapped = [this, handler = std::move(handler)](const httplib::Request& raw, httplib::Response& res) {
    Request req(raw, *this);
    req.route = t_state.route;
    req.identity = t_state.identity;
    req.peer = raw.remote_addr;
    ++active_;
    struct Done {
      std::atomic<int>& n;
      ~Done() { --n; }
    } done{active_};
    handler(req, res);
  };
  switch (method) {
    case Method::get: http_->Get(full, wrapped); break;
    case Method::post: http_->Post(full, wrapped); break;
    case Method::del: http_->Delete(full, wrapped); break;
  }
}

bool Server::declares_too_large_body(const httplib::Request& req) const {
  const std::string declared = req.get_header_value("Content-Length");
  if (declared.empty()) return false;
  if (declared.find_first_not_of("0123456789") != std::string::npos) return false;  // httplib answers 400
  if (declared.size() > 18) return true;
  return std::stoull(declared) > config_.max_body_bytes;
}

const Server::Route* Server::find_route(const httplib::Request& req) const {
  for (size_t i = 0; i < routes_.size(); ++i) {
    if (method_name(route_regexes_[i].first) == req.method && std::regex_match(req.path, route_regexes_[i].second)) {
      return &routes_[i];
    }
  }
  return nullptr;
}

httplib::Server::HandlerResponse Server::pre_route(const httplib::Request& req, httplib::Response& res) {
  using R = httplib::Server::HandlerResponse;
  t_state = RequestState{};
  t_state.start = Clock::now();
  t_state.started = true;
  const Route* route = find_route(req);
  if (route) t_state.route = route->name;
  set_security_headers(res, route && route->options.cacheable);

  if (req.target.size() > config_.max_target_bytes) {
    send_error(res, 414, fmt::format("the request URL is longer than {} bytes", config_.max_target_bytes));
    return R::Handled;
  }
  if (declares_too_large_body(req)) {
    // Answered now, without reading (or waiting for) the body; the connection then closes.
    GuardedHttpServer::close_after_response();
    res.set_header("Connection", "close");
    send_error(res, 413, fmt::format("the request body is larger than {} bytes", config_.max_body_bytes));
    return R::Handled;
  }
  if (stopping_) {
    res.set_header("Connection", "close");
    send_busy(res, 5, "the server is shutting down");
    return R::Handled;
  }
  const std::string host = req.get_header_value("Host");
  if (!origin_.host_allowed(host, req.local_addr, req.local_port)) {
    send_error(res, 421, fmt::format("Host '{}' is not this server's address; add its origin with --allowed-origin",
                                     host.substr(0, 200)));
    return R::Handled;
  }
  if (!route) return R::Unhandled;  // 404 from the router
  if (route->options.access == Access::authenticated) {
    AuthOutcome who = auth_.authenticate(req.remote_addr, header_values(req, config_.auth.identity_header),
                                         header_values(req, "Authorization"));
    if (!who.ok) {
      if (config_.auth.mode == AuthMode::token) res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, 401, who.reason);
      return R::Handled;
    }
    t_state.identity = who.identity;
    if (!config_.per_request_warning.empty()) spdlog::warn("{}", config_.per_request_warning);
  }
  const std::string origin = req.get_header_value("Origin");
  const std::string fetch_site = req.get_header_value("Sec-Fetch-Site");
  switch (route->options.origin) {
    case OriginRule::none: break;
    case OriginRule::console_post:
      if (!origin_.same_origin(host, origin, fetch_site)) {
        send_error(res, 403, origin.empty() ? "cross-site request refused: no Origin and no Sec-Fetch-Site: same-origin"
                                            : "cross-site request refused: Origin '" + origin.substr(0, 200) +
                                                  "' is not this console (see --allowed-origin)");
        return R::Handled;
      }
      if (req.get_header_value(std::string(kCustomHeader)) != "1") {
        send_error(res, 403, "cross-site request refused: the header X-Pgshift-Request: 1 is missing");
        return R::Handled;
      }
      break;
    case OriginRule::if_present:
      if (!origin_.origin_if_present(host, origin, fetch_site)) {
        send_error(res, 403, "cross-site request refused: Origin '" + origin.substr(0, 200) + "' is not allowed");
        return R::Handled;
      }
      break;
  }
  return R::Unhandled;
}

void Server::serve_builtin_routes() {
  RouteOptions open;
  open.access = Access::open;
  route(Method::get, "/healthz", "healthz", [](const Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain; charset=utf-8");
  }, open);
  route(Method::get, "/readyz", "readyz", [this](const Request&, httplib::Response& res) {
    bool ready = false;
    try {
      ready = !ready_ || ready_();
    } catch (const std::exception& e) {
      spdlog::debug("readiness check failed: {}", util::redact(e.what()));
    }
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n" : "not ready: the database does not answer\n", "text/plain; charset=utf-8");
  }, open);
  route(Method::get, "/metrics", "metrics", [this](const Request&, httplib::Response& res) {
    res.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
  }, open);
}

void Server::set_readiness(std::function<bool()> ready) { ready_ = std::move(ready); }

void Server::on_shutdown_deadline(std::function<void()> hook) { deadline_hooks_.push_back(std::move(hook)); }

int Server::bind() {
  std::lock_guard lock(run_mutex_);
  if (port_ >= 0) return port_;
  const ListenAddress& l = config_.listen;
  if (l.port == 0) {
    port_ = http_->bind_to_any_port(l.host);
  } else {
    port_ = http_->bind_to_port(l.host, l.port) ? l.port : -1;
  }
  if (port_ < 0) {
    throw RuntimeError(fmt::format("cannot listen on {}:{} (in use, or not an address of this machine)",
                                   l.host_for_url(), l.port));
  }
  if (!widen_listen_backlog(port_, kListenBacklog)) {
    spdlog::warn("{}: could not raise the listen backlog above cpp-httplib's 5; a burst of connections may wait",
                 config_.surface);
  }
  // With port 0 the Host check learns the port only now.
  config_.listen.port = port_;
  origin_ = OriginCheck(config_.listen, config_.allowed_origins);
  return port_;
}

std::string Server::url() const {
  return fmt::format("http://{}:{}{}", config_.listen.host_for_url(), port_, config_.base_path);
}

void Server::stop() { stopping_ = true; }

void Server::run() {
  bind();
  util::install_interrupt_handler();
  listener_ = std::thread([this] {
    http_->listen_after_bind();
    listener_done_ = true;
  });
  while (!stopping_ && !util::interrupted() && !listener_done_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  shutdown();
}

void Server::shutdown() {
  stopping_ = true;
  spdlog::info("{}: shutting down: no new requests; {} running", config_.surface, active_.load());
  auto wait_idle = [this](util::Millis limit) {
    auto until = Clock::now() + limit;
    while (active_ > 0 && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return active_ == 0;
  };
  if (!wait_idle(config_.shutdown_grace)) {
    spdlog::warn("{}: {} request(s) still running after {}; cancelling their statements", config_.surface,
                 active_.load(), util::format_duration(config_.shutdown_grace));
    for (auto& hook : deadline_hooks_) {
      try {
        hook();
      } catch (const std::exception& e) {
        spdlog::warn("{}: shutdown hook failed: {}", config_.surface, util::redact(e.what()));
      }
    }
    wait_idle(util::Millis(5'000));
  }
  http_->stop();
  if (listener_.joinable()) listener_.join();
  spdlog::info("{}: stopped", config_.surface);
}

}  // namespace pgshift::http
