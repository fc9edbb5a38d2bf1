// `pgshift console`'s doors over real HTTP: the three auth modes (an untrusted peer 127.0.0.2
// with the identity header is refused), Host (DNS rebinding) and Origin/X-Pgshift-Request
// (CSRF) with nothing run, the security headers, and --allow-privileged-role's warning.
#include <http/auth.hpp>

#include "console_fixture.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using json = nlohmann::json;

namespace {

constexpr const char* kMarker = "SELECT 'csrf-marker-4711' AS marker";

class ConsoleSecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("console-security", {{"log_statement", "'all'"}}).release();
    cluster_->create_database("app");
    pg::Connection admin = connect(*cluster_, "app");
    run_sql(admin, kConsoleSchema);
  }
  static void TearDownTestSuite() { delete cluster_; }
  static HttpRequest sql_post(const std::vector<std::pair<std::string, std::string>>& headers) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/api/sql";
    r.body = json{{"sql", kMarker}}.dump();
    r.headers = headers;
    r.headers.emplace_back("Content-Type", "application/json");
    return r;
  }
  static LocalCluster* cluster_;
};
LocalCluster* ConsoleSecurityTest::cluster_ = nullptr;

}  // namespace

TEST_F(ConsoleSecurityTest, TrustedHeaderFromTheProxyOnly) {
  std::string audit = fmt::format("/tmp/pgshift-console-sec-audit-{}.jsonl", getpid());
  ServerProcess s = ServerProcess::start({"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--auth",
                                          "trusted-header", "--identity-header", "X-Forwarded-Email",
                                          "--trusted-proxy", "127.0.0.1/32", "--audit-log", audit});
  const std::pair<std::string, std::string> alice{"X-Forwarded-Email", "alice@example.com"};
  HttpResponse page = http_get(s.port(), "/", {alice});
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("alice@example.com"), std::string::npos);
  for (const char* path : {"/", "/api/overview", "/queries", "/api/queries?sort=calls&dir=asc", "/settings",
                           "/api/settings", "/tables/public/customers/structure",
                           "/api/tables/public/customers/structure", "/api/table-list",
                           "/api/tables/public/customers/count"}) {
    EXPECT_EQ(http_get(s.port(), path).status, 401) << path;
  }
  HttpRequest other;
  other.target = "/api/overview";
  other.bind_address = "127.0.0.2";
  other.headers = {alice};
  EXPECT_EQ(http_request(s.port(), other).status, 401);
  HttpRequest other_sql = sql_post({alice, {"Origin", fmt::format("http://127.0.0.1:{}", s.port())}, {"X-Pgshift-Request", "1"}});
  other_sql.bind_address = "127.0.0.2";
  EXPECT_EQ(http_request(s.port(), other_sql).status, 401);
  // The trusted peer's statement is attributed to the header's identity.
  HttpResponse ok = http_post_same_origin(s.port(), "/api/sql", json{{"sql", "SELECT 1"}}.dump(), {alice});
  ASSERT_EQ(ok.status, 200) << ok.body;
  std::string lines = read_file(audit);
  EXPECT_NE(lines.find("\"identity\":\"alice@example.com\""), std::string::npos) << lines;
  EXPECT_EQ(lines.find(kMarker), std::string::npos);
  std::remove(audit.c_str());
}

TEST_F(ConsoleSecurityTest, BearerTokens) {
  std::string tokens = fmt::format("/tmp/pgshift-console-tokens-{}", getpid());
  std::ofstream(tokens) << "# console tokens\nops-bot " << http::sha256_hex("tok-3f9a-secret") << "\n";
  ServerProcess s = ServerProcess::start(
      {"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--auth", "token", "--tokens", tokens});
  EXPECT_EQ(http_get(s.port(), "/api/overview", {{"Authorization", "Bearer tok-3f9a-secret"}}).status, 200);
  HttpResponse bad = http_get(s.port(), "/api/overview", {{"Authorization", "Bearer tok-3f9a-secreT"}});
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.header("www-authenticate"), "Bearer");
  EXPECT_EQ(http_get(s.port(), "/api/overview").status, 401);
  EXPECT_EQ(http_get(s.port(), "/healthz").status, 200);
  EXPECT_EQ(s.output().find("tok-3f9a-secret"), std::string::npos);
  std::remove(tokens.c_str());
}

TEST_F(ConsoleSecurityTest, CrossSiteAndRebindingRequestsRunNothing) {
  std::string audit = fmt::format("/tmp/pgshift-console-csrf-audit-{}.jsonl", getpid());
  ServerProcess s = ServerProcess::start(
      {"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--audit-log", audit,
       "--allowed-origin", "https://db.example.com"});
  const std::string self = fmt::format("http://127.0.0.1:{}", s.port());
  struct Case {
    std::vector<std::pair<std::string, std::string>> headers;
    int status;
  };
  const std::vector<Case> cases = {
      {{{"Origin", "https://evil.example"}, {"X-Pgshift-Request", "1"}}, 403},
      {{{"Origin", self}}, 403},                                        // no custom header
      {{{"X-Pgshift-Request", "1"}}, 403},                              // no Origin, no Sec-Fetch-Site
      {{{"Sec-Fetch-Site", "cross-site"}, {"X-Pgshift-Request", "1"}}, 403},
      {{{"Origin", "null"}, {"X-Pgshift-Request", "1"}}, 403},
      {{{"Origin", self}, {"X-Pgshift-Request", "0"}}, 403},
      {{{"Host", "evil.example"}, {"Origin", "http://evil.example"}, {"X-Pgshift-Request", "1"}}, 421},
      {{{"Host", fmt::format("rebind.evil:{}", s.port())}, {"Origin", self}, {"X-Pgshift-Request", "1"}}, 421},
  };
  for (const auto& c : cases) {
    HttpResponse r = http_request(s.port(), sql_post(c.headers));
    EXPECT_EQ(r.status, c.status) << r.body;
  }
  EXPECT_EQ(http_get(s.port(), "/", {{"Host", "evil.example"}}).status, 421);
  // The allowed origins and same-origin fetches work.
  EXPECT_EQ(http_request(s.port(), sql_post({{"Origin", self}, {"X-Pgshift-Request", "1"}})).status, 200);
  EXPECT_EQ(http_request(s.port(), sql_post({{"Host", "db.example.com"}, {"Origin", "https://db.example.com"},
                                             {"X-Pgshift-Request", "1"}}))
                .status,
            200);
  EXPECT_EQ(http_request(s.port(), sql_post({{"Sec-Fetch-Site", "same-origin"}, {"X-Pgshift-Request", "1"}})).status,
            200);
  // Exactly the three accepted statements reached the audit log and the server.
  std::string lines = read_file(audit);
  EXPECT_EQ(line_count(lines), 3u) << lines;
  std::string log = read_file(cluster_->log_file());
  size_t seen = 0;
  for (size_t at = log.find("execute"); at != std::string::npos; at = log.find("execute", at + 1)) {
    size_t eol = log.find('\n', at);
    if (log.substr(at, eol - at).find("csrf-marker-4711") != std::string::npos) ++seen;
  }
  EXPECT_EQ(seen, 3u);
  std::remove(audit.c_str());
}

TEST_F(ConsoleSecurityTest, ResponsesCarryTheSecurityHeaders) {
  ServerProcess s = ServerProcess::start({"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0"});
  for (const char* path : {"/", "/api/overview", "/sql", "/assets/app.js", "/nope"}) {
    HttpResponse r = http_get(s.port(), path);
    const std::string csp = r.header("content-security-policy");
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << path;
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << path;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << path;
    EXPECT_EQ(r.header("x-frame-options"), "DENY") << path;
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff") << path;
    EXPECT_EQ(r.header("referrer-policy"), "no-referrer") << path;
  }
  EXPECT_EQ(http_get(s.port(), "/api/overview").header("cache-control"), "no-store");
  EXPECT_EQ(http_get(s.port(), "/").header("cache-control"), "no-store");
  // Limits.
  HttpRequest big = sql_post({{"Origin", fmt::format("http://127.0.0.1:{}", s.port())}, {"X-Pgshift-Request", "1"}});
  big.body = json{{"sql", "SELECT '" + std::string(2 << 20, 'x') + "'"}}.dump();
  EXPECT_EQ(http_request(s.port(), big).status, 413);
  EXPECT_EQ(http_get(s.port(), "/tables/public/customers?f=" + std::string(9000, 'a')).status, 414);
}

TEST_F(ConsoleSecurityTest, PrivilegedRoleOverrideWarnsOnEveryRequest) {
  ServerProcess s = ServerProcess::start(
      {"console", "--db", cluster_->url("app"), "--listen", "127.0.0.1:0", "--allow-privileged-role"});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http_get(s.port(), "/api/overview").status, 200);
  std::string out = s.output();
  size_t warnings = 0;
  for (size_t at = out.find("privileged database role"); at != std::string::npos;
       at = out.find("privileged database role", at + 1)) {
    ++warnings;
  }
  EXPECT_GE(warnings, 4u) << out;  // once at startup, once per request
  expect_no_password(out);
}
