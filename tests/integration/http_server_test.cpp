// http::Server over real loopback HTTP: the checks every surface inherits (auth modes with a
// trusted and an untrusted peer, Host, Origin and X-Pgshift-Request, limits), the security
// headers, /healthz /readyz /metrics, disconnect notification, and shutdown.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "http/own_sockets.hpp"
#include "http/server.hpp"
#include "support/http_client.hpp"
#include "support/support.hpp"
#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

// A server with a GET and a POST route that echo the identity, run on a thread.
class Running {
 public:
  explicit Running(http::ServerConfig config) : server_(std::move(config)) {
    server_.route(http::Method::get, "/who", "who", [](const http::Request& req, httplib::Response& res) {
      http::send_json(res, 200, {{"identity", req.identity}, {"peer", req.peer}});
    });
    server_.route(http::Method::post, "/run", "run", [this](const http::Request& req, httplib::Response& res) {
      ++posts_run;
      http::send_json(res, 200, {{"identity", req.identity}, {"body", req.raw.body}});
    });
    server_.route(http::Method::post, "/mcp", "mcp", [](const http::Request&, httplib::Response& res) {
      http::send_json(res, 200, {{"ok", true}});
    }, http::RouteOptions{http::Access::authenticated, http::OriginRule::if_present, false});
    server_.route(http::Method::get, "/slow", "slow", [this](const http::Request& req, httplib::Response& res) {
      std::atomic<bool> gone{false};
      auto guard = req.on_disconnect([&] { gone = true; });
      watched = guard.active();
      for (int i = 0; i < 100 && !gone && !release; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      disconnected = gone.load();
      res.set_content("done", "text/plain");
    });
    port = server_.bind();
    thread_ = std::thread([this] { server_.run(); });
  }
  ~Running() {
    server_.stop();
    thread_.join();
  }
  http::Server& server() { return server_; }

  int port = 0;
  std::atomic<int> posts_run{0};
  std::atomic<bool> watched{false}, disconnected{false}, release{false};

 private:
  http::Server server_;
  std::thread thread_;
};

http::ServerConfig local_config() {
  http::ServerConfig c;
  c.listen = http::ListenAddress::parse("127.0.0.1:0", "--listen");
  c.threads = 8;
  c.shutdown_grace = util::Millis(1000);
  return c;
}

HttpRequest post(int port, const std::string& target, std::vector<std::pair<std::string, std::string>> headers) {
  HttpRequest r;
  r.method = "POST";
  r.target = target;
  r.body = "{}";
  r.headers = std::move(headers);
  (void)port;
  return r;
}

// Starts `count` non-blocking connects to 127.0.0.1:port and returns how many completed their
// handshake within `wait` (nobody accepts them: they sit in the listen queue). A connect whose
// SYN the kernel dropped because the queue was full is retried after 1 s, so with wait well
// under that it counts as not completed. The sockets are closed before returning.
int handshakes_completed(int port, int count, util::Millis wait) {
  std::vector<int> fds;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < count; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(wait);
  int done = 0;
  for (int fd : fds) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, 0) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) ++done;
    ::close(fd);
  }
  return done;
}

// A raw connection from `source` (127.0.0.2 is another peer than the 127.0.0.1 of http_get)
// that writes what it is told and reads whatever the server answers.
class RawClient {
 public:
  RawClient(int port, const std::string& source) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &src.sin_addr);
    ::bind(fd_, reinterpret_cast<const sockaddr*>(&src), sizeof src);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<uint16_t>(port));
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) == 0;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& data) {
    return !ended_ && ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Reads what arrived, without waiting; true once the server answered or closed.
  bool poll_answer() {
    char buf[4096];
    while (!ended_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) break;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        ended_ = true;
        error_ = n < 0 ? errno : 0;
        break;
      }
      received_.append(buf, static_cast<size_t>(n));
    }
    return ended_ || received_.find("\r\n\r\n") != std::string::npos;
  }
  int status() const { return received_.size() >= 12 ? std::stoi(received_.substr(9, 3)) : 0; }
  const std::string& received() const { return received_; }
  int error() const { return error_; }

 private:
  int error_ = 0;
  int fd_ = -1;
  bool connected_ = false;
  bool ended_ = false;
  std::string received_;
};

}  // namespace

TEST(HttpServer, SecurityHeadersOnEveryResponse) {
  Running s(local_config());
  for (const char* target : {"/who", "/nowhere", "/healthz"}) {
    HttpResponse r = http_get(s.port, target);
    EXPECT_NE(r.status, 0) << target;
    std::string csp = r.header("content-security-policy");
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << target;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
    EXPECT_EQ(r.header("x-frame-options"), "DENY");
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
    EXPECT_EQ(r.header("referrer-policy"), "no-referrer");
    EXPECT_EQ(r.header("cache-control"), "no-store");
  }
  EXPECT_EQ(http_get(s.port, "/who").status, 200);
  HttpResponse missing = http_get(s.port, "/nowhere");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("not found"), std::string::npos);
}

TEST(HttpServer, NoneAuthIsLocalAndRefusedOffLoopback) {
  Running s(local_config());
  HttpResponse r = http_get(s.port, "/who");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"identity\":\"local\""), std::string::npos) << r.body;
  http::ServerConfig open = local_config();
  open.listen = http::ListenAddress::parse("0.0.0.0:0", "--listen");
  EXPECT_THROW(http::Server{open}, UsageError);
}

TEST(HttpServer, TrustedHeaderOnlyFromTheTrustedProxy) {
  http::ServerConfig c = local_config();
  c.auth.mode = http::AuthMode::trusted_header;
  c.auth.identity_header = "X-Forwarded-Email";
  c.auth.trusted_proxies = {http::Cidr::parse("127.0.0.1/32", "--trusted-proxy")};
  Running s(c);
  HttpResponse ok = http_get(s.port, "/who", {{"X-Forwarded-Email", "alice@example.com"}});
  ASSERT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("alice@example.com"), std::string::npos);
  EXPECT_EQ(http_get(s.port, "/who").status, 401);  // no header
  HttpRequest from_other;
  from_other.target = "/who";
  from_other.bind_address = "127.0.0.2";
  from_other.headers = {{"X-Forwarded-Email", "alice@example.com"}};
  HttpResponse untrusted = http_request(s.port, from_other);
  EXPECT_EQ(untrusted.status, 401) << untrusted.body;
  EXPECT_EQ(untrusted.body.find("alice@example.com"), std::string::npos);
  // An appending proxy passes the client's value on, then its own: two values are refused, in
  // either order, and neither identity is served.
  HttpResponse twice = http_get(s.port, "/who", {{"X-Forwarded-Email", "alice@example.com"},
                                                 {"X-Forwarded-Email", "root@example.com"}});
  EXPECT_EQ(twice.status, 401) << twice.body;
  EXPECT_NE(twice.body.find("more than one X-Forwarded-Email"), std::string::npos) << twice.body;
  EXPECT_EQ(http_get(s.port, "/who", {{"X-Forwarded-Email", "root@example.com"},
                                      {"X-Forwarded-Email", "alice@example.com"}}).status, 401);
  EXPECT_EQ(http_get(s.port, "/who", {{"X-Forwarded-Email", "alice@example.com, root@example.com"}}).status, 401);
  // Probes and metrics need no identity.
  EXPECT_EQ(http_get(s.port, "/healthz").status, 200);
  from_other.target = "/metrics";
  EXPECT_EQ(http_request(s.port, from_other).status, 200);
}

TEST(HttpServer, BearerTokens) {
  std::string path = fmt::format("/tmp/pgshift-http-tokens-{}", getpid());
  std::ofstream(path) << "robot " << http::sha256_hex("s3cret-token-value") << "\n";
  http::ServerConfig c = local_config();
  c.auth.mode = http::AuthMode::token;
  c.auth.tokens_file = path;
  Running s(c);
  HttpResponse ok = http_get(s.port, "/who", {{"Authorization", "Bearer s3cret-token-value"}});
  ASSERT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("robot"), std::string::npos);
  HttpResponse bad = http_get(s.port, "/who", {{"Authorization", "Bearer s3cret-token-valuf"}});
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.header("www-authenticate"), "Bearer");
  EXPECT_EQ(http_get(s.port, "/who").status, 401);
  std::remove(path.c_str());
}

TEST(HttpServer, HostHeaderMustNameThisServer) {
  Running s(local_config());
  EXPECT_EQ(http_get(s.port, "/who", {{"Host", "evil.example"}}).status, 421);
  EXPECT_EQ(http_get(s.port, "/healthz", {{"Host", fmt::format("evil.example:{}", s.port)}}).status, 421);
  EXPECT_EQ(http_get(s.port, "/who", {{"Host", fmt::format("localhost:{}", s.port)}}).status, 200);
}

TEST(HttpServer, PostNeedsSameOriginAndTheCustomHeader) {
  Running s(local_config());
  const std::string self = fmt::format("http://127.0.0.1:{}", s.port);
  EXPECT_EQ(http_request(s.port, post(s.port, "/run", {{"Origin", self}, {"X-Pgshift-Request", "1"}})).status, 200);
  EXPECT_EQ(http_request(s.port, post(s.port, "/run", {{"Sec-Fetch-Site", "same-origin"}, {"X-Pgshift-Request", "1"}}))
                .status,
            200);
  int ran = s.posts_run;
  EXPECT_EQ(http_request(s.port, post(s.port, "/run", {{"Origin", "http://evil.example"}, {"X-Pgshift-Request", "1"}}))
                .status,
            403);
  EXPECT_EQ(http_request(s.port, post(s.port, "/run", {{"Origin", self}})).status, 403);
  EXPECT_EQ(http_request(s.port, post(s.port, "/run", {{"X-Pgshift-Request", "1"}})).status, 403);
  EXPECT_EQ(http_request(s.port, post(s.port, "/run", {{"Sec-Fetch-Site", "cross-site"}, {"X-Pgshift-Request", "1"}}))
                .status,
            403);
  EXPECT_EQ(http_request(s.port, post(s.port, "/run", {{"Origin", "null"}, {"X-Pgshift-Request", "1"}})).status, 403);
  EXPECT_EQ(s.posts_run, ran) << "a refused POST reached its handler";
  // MCP's rule: Origin checked when present, absent is a non-browser client.
  EXPECT_EQ(http_request(s.port, post(s.port, "/mcp", {})).status, 200);
  EXPECT_EQ(http_request(s.port, post(s.port, "/mcp", {{"Origin", "http://evil.example"}})).status, 403);
}

TEST(HttpServer, BodyAndUrlLimits) {
  http::ServerConfig c = local_config();
  c.max_body_bytes = 1024;
  c.max_target_bytes = 512;
  Running s(c);
  const std::string self = fmt::format("http://127.0.0.1:{}", s.port);
  HttpRequest big = post(s.port, "/run", {{"Origin", self}, {"X-Pgshift-Request", "1"}});
  big.body = std::string(4096, 'x');
  EXPECT_EQ(http_request(s.port, big).status, 413);
  EXPECT_EQ(http_get(s.port, "/who?x=" + std::string(1000, 'a')).status, 414);
  EXPECT_EQ(http_get(s.port, "/who?x=" + std::string(100, 'a')).status, 200);
}

TEST(HttpServer, ADeclaredTooLargeBodyIsRefusedBeforeItIsSent) {
  http::ServerConfig c = local_config();
  c.max_body_bytes = 1 << 20;
  Running s(c);
  // The client declares 2 MiB and then trickles the body: reading (or skipping) it would keep the
  // request open for as long as the client likes. The answer comes while the body is unsent.
  RawClient client(s.port, "127.0.0.1");
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send(fmt::format("POST /run HTTP/1.1\r\nHost: 127.0.0.1:{0}\r\nOrigin: http://127.0.0.1:{0}\r\n"
                                      "X-Pgshift-Request: 1\r\nContent-Length: 2097152\r\n\r\n",
                                      s.port)));
  size_t sent = 0;
  EXPECT_TRUE(wait_until([&] {
    if (client.poll_answer()) return true;
    sent += client.send("x") ? 1 : 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return false;
  }, util::Millis(20'000)));
  EXPECT_EQ(client.status(), 413) << client.received();
  EXPECT_NE(client.received().find("larger than 1048576 bytes"), std::string::npos) << client.received();
  EXPECT_LT(sent, 2097152u);
  EXPECT_EQ(s.posts_run, 0);
}

TEST(HttpServer, SlowClientsDoNotStarveOthers) {
  http::ServerConfig c = local_config();  // 8 threads
  c.max_connections_per_peer = 4;
  c.header_timeout = util::Millis(3'000);
  Running s(c);
  // 60 clients from 127.0.0.2 send a request line, then one header line every 250 ms and never
  // the blank line that ends the headers.
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 60; ++i) {
    slow.push_back(std::make_unique<RawClient>(s.port, "127.0.0.2"));
    ASSERT_TRUE(slow.back()->connected());
    slow.back()->send(fmt::format("GET /who HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", s.port));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::thread trickle([&] {
    while (!stop) {
      int done = 0;
      for (auto& client : slow) {
        if (client->poll_answer()) {
          ++done;
        } else {
          client->send("X-Slow: 1\r\n");
        }
      }
      answered = done;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  });
  // Meanwhile another client is served, and so is the probe.
  auto start = std::chrono::steady_clock::now();
  HttpResponse who = http_request(s.port, HttpRequest{"GET", "/who", {}, "", ""}, util::Millis(15'000));
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(who.status, 200) << "starved by 60 slow clients";
  EXPECT_EQ(http_request(s.port, HttpRequest{"GET", "/healthz", {}, "", ""}, util::Millis(15'000)).status, 200);
  std::printf("served in %.1f ms while 60 slow clients trickled headers\n", ms);
  // Every slow client is answered: beyond the per-peer cap at once (503), the others when their
  // headers did not arrive in time (408).
  EXPECT_TRUE(wait_until([&] { return answered == 60; }, util::Millis(30'000))) << answered << " of 60 answered";
  stop = true;
  trickle.join();
  int refused = 0, timed_out = 0;
  for (auto& client : slow) {
    refused += client->status() == 503;
    timed_out += client->status() == 408;
    if (client->status() != 503 && client->status() != 408) {
      ADD_FAILURE() << "answered " << client->status() << " after " << client->received().size() << " bytes: "
                    << client->received().substr(0, 200) << " errno " << client->error();
    }
  }
  EXPECT_EQ(refused + timed_out, 60);
  EXPECT_GE(refused, 1);
  EXPECT_GE(timed_out, 1);
  EXPECT_LE(timed_out, 4) << "more connections than the per-peer cap were served at once";
  HttpResponse m = http_get(s.port, "/metrics");
  EXPECT_NE(m.body.find("pgshift_http_connections_refused_total{reason=\"per_peer\"}"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("pgshift_http_connections_refused_total{reason=\"header_timeout\"}"), std::string::npos);
}

TEST(HttpServer, OversizedHeadersAreRefused) {
  Running s(local_config());
  std::vector<std::pair<std::string, std::string>> headers;
  for (int i = 0; i < 100; ++i) headers.emplace_back(fmt::format("X-Filler-{}", i), std::string(1000, 'a'));
  HttpResponse r = http_get(s.port, "/who", headers);
  EXPECT_EQ(r.status, 431) << r.body;
}

TEST(HttpServer, ProbesAndMetrics) {
  Running s(local_config());
  bool ready = false;
  s.server().set_readiness([&] { return ready; });
  EXPECT_EQ(http_get(s.port, "/readyz").status, 503);
  ready = true;
  EXPECT_EQ(http_get(s.port, "/readyz").status, 200);
  http_get(s.port, "/who");
  http_get(s.port, "/who", {{"Host", "evil.example"}});
  HttpResponse m = http_get(s.port, "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.header("content-type").find("text/plain"), std::string::npos);
  EXPECT_NE(m.body.find("# TYPE pgshift_http_requests_total counter"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("pgshift_http_requests_total{route=\"who\",status=\"200\"} 1"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("pgshift_http_requests_total{route=\"who\",status=\"421\"} 1"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("# TYPE pgshift_http_request_duration_seconds histogram"), std::string::npos);
}

TEST(HttpServer, BasePathPrefixesEveryRoute) {
  http::ServerConfig c = local_config();
  c.base_path = "/ops/db";
  Running s(c);
  EXPECT_EQ(http_get(s.port, "/ops/db/who").status, 200);
  EXPECT_EQ(http_get(s.port, "/ops/db/healthz").status, 200);
  EXPECT_EQ(http_get(s.port, "/who").status, 404);
  c.base_path = "/ops/db/";
  EXPECT_THROW(http::Server{c}, UsageError);
}

TEST(HttpServer, NoticesAClientThatLeaves) {
  Running s(local_config());
  HttpRequest r;
  r.target = "/slow";
  http_send_and_close(s.port, r, util::Millis(300));
  EXPECT_TRUE(wait_until([&] { return s.disconnected.load(); }, util::Millis(4000)));
  EXPECT_TRUE(s.watched);
}

TEST(HttpServer, StopLetsRunningRequestsFinish) {
  auto s = std::make_unique<Running>(local_config());
  std::thread client([&] {
    HttpResponse r = http_get(s->port, "/slow");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "done");
  });
  ASSERT_TRUE(wait_until([&] { return s->watched.load(); }, util::Millis(4000)));
  std::thread stopper([&] { s->server().stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  s->release = true;
  stopper.join();
  client.join();
  s.reset();
}

TEST(HttpServer, ABurstOfConnectionsIsHeldInTheListenQueue) {
  // What the widening changes, on a plain socket: backlog 1 holds 2 handshakes, 64 holds all.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  EXPECT_EQ(http::find_listening_socket(port), fd);
  EXPECT_LE(handshakes_completed(port, 20, util::Millis(300)), 3) << "backlog 1 overflows";
  ASSERT_TRUE(http::widen_listen_backlog(port, 64));
  EXPECT_EQ(handshakes_completed(port, 20, util::Millis(300)), 20);
  ::close(fd);
  EXPECT_FALSE(http::widen_listen_backlog(port, 64)) << "no such socket any more";

  // The server listens with room for a burst (cpp-httplib's own backlog is 5): bound, not yet
  // accepting, it holds 50 handshakes.
  http::Server server(local_config());
  const int server_port = server.bind();
  EXPECT_EQ(handshakes_completed(server_port, 50, util::Millis(300)), 50);
}
