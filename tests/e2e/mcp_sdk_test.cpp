// `pgshift mcp` driven by the official MCP TypeScript SDK client (node scripts in tests/e2e/mcp,
// node_modules from scripts/install-deps): over stdio, initialize, list the tools, call every
// tool and validate its structuredContent against its outputSchema (ajv, JSON Schema 2020-12),
// limits, cancellation of a long query (its backend stops, seen in pg_stat_activity), the
// project's bypass corpus through the query tool (every entry isError with its rule, the canary
// unchanged) and the legitimate corpus (every entry succeeds), the rate limit, the audit log.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "http/auth.hpp"
#include "pg/quote.hpp"
#include "support/canary.hpp"
#include "support/http_client.hpp"
#include "support/query_corpus.hpp"
#include "support/support.hpp"
#include "util/process.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using json = nlohmann::json;

namespace {

const char* const kTools[] = {"list_schemas", "list_tables", "describe_table", "query",
                              "explain",      "health",      "top_queries",    "migration_status"};

class McpSdkTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("mcp-sdk", {{"autovacuum", "off"},
                                         {"shared_preload_libraries", "'pgaudit,pg_stat_statements'"},
                                         {"pgaudit.log", "'read'"},
                                         {"log_line_prefix", "'%m [%p] app=%a '"}})
                   .release();
    cluster_->create_database("canary");
    pg::Connection admin = connect(*cluster_, "canary");
    run_sql(admin, kCanarySchema);
    run_sql(admin, "CREATE EXTENSION pg_stat_statements");
    run_sql(admin, fmt::format("CREATE ROLE reader LOGIN PASSWORD {};"
                               "GRANT pg_read_all_data, pg_read_all_stats, pg_read_all_settings TO reader",
                               pg::quote_literal(localpg::kLocalPassword)));
    dir_ = new std::string(std::filesystem::temp_directory_path() / ("pgshift-mcp-sdk-" + std::to_string(getpid())));
    std::filesystem::create_directories(*dir_);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  // Runs tests/e2e/mcp/<script> with a config file; returns its JSON report.
  static json run_script(const std::string& script, json config) {
    config["binary"] = PGSHIFT_BINARY;
    std::string config_path = *dir_ + "/" + script + ".json";
    std::ofstream(config_path) << config.dump();
    util::ProcessSpec spec;
    spec.argv = {util::which("node"), std::string(PGSHIFT_SOURCE_DIR) + "/tests/e2e/mcp/" + script, config_path};
    spec.cwd = PGSHIFT_SOURCE_DIR;
    spec.unset_env = {"PGSHIFT_DB_URL"};
    util::RunResult r = util::run(spec, util::Millis(170'000));
    EXPECT_FALSE(r.timed_out) << script << " timed out\n" << r.err;
    EXPECT_EQ(r.exit_code, 0) << script << " failed:\n" << r.err << r.out.substr(0, 4000);
    json report = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(report.is_discarded()) << "not JSON:\n" << r.out.substr(0, 4000) << r.err;
    return report.is_discarded() ? json::object() : report;
  }

  static std::vector<std::string> sql_of(const std::vector<CorpusEntry>& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.sql);
    return out;
  }

  static LocalCluster* cluster_;
  static std::string* dir_;
};
LocalCluster* McpSdkTest::cluster_ = nullptr;
std::string* McpSdkTest::dir_ = nullptr;

void expect_every_tool_works(const json& report) {
  std::set<std::string> listed;
  for (const auto& t : report["tools"]) {
    listed.insert(t["name"].get<std::string>());
    EXPECT_TRUE(t["readOnlyHint"].get<bool>()) << t;
    EXPECT_TRUE(t["hasInputSchema"].get<bool>()) << t;
    EXPECT_TRUE(t["hasOutputSchema"].get<bool>()) << t;
  }
  for (const char* name : kTools) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(listed.count(name)) << "tools/list lacks " << name;
    const json& call = report["calls"][name];
    ASSERT_TRUE(call.value("called", false)) << call.dump();
    EXPECT_FALSE(call["isError"].get<bool>()) << call["text"];
    EXPECT_TRUE(call["valid"].get<bool>()) << call["validationErrors"];
    EXPECT_TRUE(call["fenced"].get<bool>()) << "text content is not in an untrusted-data fence: " << call["text"];
    EXPECT_TRUE(call["textMatchesStructured"].get<bool>()) << call["text"];
  }
  const json& calls = report["calls"];
  // What a user would check in each answer.
  std::set<std::string> schemas;
  for (const auto& s : calls["list_schemas"]["structured"]["schemas"]) schemas.insert(s["name"]);
  EXPECT_TRUE(schemas.count("public") && schemas.count("shadow"));
  EXPECT_FALSE(schemas.count("pg_catalog"));
  std::set<std::string> tables;
  for (const auto& t : calls["list_tables"]["structured"]["tables"]) tables.insert(t["name"]);
  for (const char* t : {"accounts", "orders", "events", "categories", "big_orders", "order_totals"}) {
    EXPECT_TRUE(tables.count(t)) << t;
  }
  const json& orders = calls["describe_table"]["structured"];
  EXPECT_EQ(orders["primary_key"], json::array({"id"}));
  ASSERT_EQ(orders["foreign_keys"].size(), 1u);
  EXPECT_EQ(orders["foreign_keys"][0]["references"]["table"], "accounts");
  EXPECT_EQ(orders["row_estimate"], 300);
  bool has_brin = false;
  for (const auto& i : orders["indexes"]) has_brin |= i["method"] == "brin";
  EXPECT_TRUE(has_brin);
  // The reader the console's structure view shares (the SDK validated it against the outputSchema).
  for (const char* member : {"constraints", "triggers", "policies", "partitions"}) {
    EXPECT_TRUE(orders[member].is_array()) << member << ": " << orders.dump();
  }
  EXPECT_EQ(orders["row_security"]["enabled"], false);
  for (const auto& i : orders["indexes"]) EXPECT_TRUE(i.contains("scans")) << i.dump();
  const json& q = calls["query"]["structured"];
  EXPECT_EQ(q["row_count"], 5);
  EXPECT_TRUE(q["truncated"].get<bool>());
  EXPECT_EQ(q["columns"][1]["type"], "numeric(12,2)");
  EXPECT_EQ(q["correlation_id"].get<std::string>().size(), 16u);
  EXPECT_TRUE(calls["explain"]["structured"]["plan"].contains("Plan"));
  EXPECT_EQ(calls["health"]["structured"]["id"], "health");
  EXPECT_EQ(calls["top_queries"]["structured"]["id"], "top_queries");
  EXPECT_EQ(calls["migration_status"]["structured"]["id"], "migration");
}

TEST_F(McpSdkTest, StdioServesEveryToolRefusesEveryBypassAndCancels) {
  auto bypass = load_corpus("bypass.txt");
  auto legit = load_corpus("legit.txt");
  const std::string audit_log = *dir_ + "/stdio-audit.jsonl";
  pg::Connection observer = connect(*cluster_, "canary");
  const Checksum before = checksum(observer, false);

  json report = run_script("stdio.mjs", {{"db_url", cluster_->url("canary", "reader")},
                                         {"admin_url", cluster_->url("canary")},
                                         {"audit_log", audit_log},
                                         {"bypass", sql_of(bypass)},
                                         {"legit", sql_of(legit)}});
  ASSERT_TRUE(report.contains("calls")) << report.dump().substr(0, 4000);

  EXPECT_EQ(report["server"]["name"], "pgshift");
  EXPECT_TRUE(report["capabilities"].contains("tools"));
  EXPECT_EQ(report["ping"], json::object());
  expect_every_tool_works(report);

  EXPECT_TRUE(report["unknownTool"]["threw"].get<bool>());
  EXPECT_EQ(report["unknownTool"]["code"], -32602);
  EXPECT_TRUE(report["overCap"]["isError"].get<bool>()) << report["overCap"];
  EXPECT_EQ(report["overCap"]["error"]["code"], "invalid-arguments");
  EXPECT_EQ(report["bytesCap"]["structured"]["truncated_by"], "bytes") << report["bytesCap"];
  EXPECT_LT(report["bytesCap"]["structured"]["row_count"].get<int>(), 10);
  EXPECT_EQ(report["missingArg"]["error"]["code"], "invalid-arguments") << report["missingArg"];
  EXPECT_EQ(report["notFound"]["error"]["code"], "not-found") << report["notFound"];
  EXPECT_EQ(report["explainWrite"]["error"]["code"], "rejected") << report["explainWrite"];
  // 22P02 at the quote of 'x': character 46 of the caller's text, for query and explain alike
  // (explain sends "EXPLAIN (FORMAT JSON) " before it: the position is moved back).
  for (const char* tool : {"queryBadInput", "explainBadInput"}) {
    const json& e = report[tool]["error"];
    EXPECT_EQ(e["sqlstate"], "22P02") << tool << ": " << report[tool];
    EXPECT_EQ(e["position"], 46) << tool << ": " << report[tool];
    EXPECT_NE(e.value("excerpt", "").find("LINE 3: WHERE account_id = 'x'"), std::string::npos) << report[tool];
  }

  // Cancellation: the backend stops running the statement promptly; the server keeps serving.
  const json& cancel = report["cancel"];
  ASSERT_TRUE(cancel["sawRunning"].get<bool>()) << cancel;
  EXPECT_TRUE(cancel["applicationName"].get<std::string>().starts_with("pgshift/mcp/")) << cancel;
  ASSERT_FALSE(cancel["stoppedAfterMs"].is_null()) << "the backend kept running the statement: " << cancel;
  EXPECT_LT(cancel["stoppedAfterMs"].get<int>(), 1000) << cancel;
  std::printf("stdio: backend stopped %d ms after notifications/cancelled\n", cancel["stoppedAfterMs"].get<int>());
  EXPECT_EQ(report["afterCancel"]["structured"]["rows"][0]["answer"], 42) << report["afterCancel"];

  // Every bypass attempt is a tool error naming the gate's rule; nothing changed.
  ASSERT_EQ(report["bypass"].size(), bypass.size());
  for (size_t i = 0; i < bypass.size(); ++i) {
    SCOPED_TRACE(bypass[i].where() + ": " + bypass[i].sql);
    const json& r = report["bypass"][i];
    ASSERT_TRUE(r.value("isError", false)) << r;
    EXPECT_EQ(r["error"]["code"], "rejected") << r;
    EXPECT_EQ(r["error"]["rule"], bypass[i].rule) << r;
  }
  Checksum after = checksum(observer, false);
  EXPECT_EQ(after, before) << "the canary changed:\n" << diff(before, after);

  ASSERT_EQ(report["legit"].size(), legit.size());
  for (size_t i = 0; i < legit.size(); ++i) {
    SCOPED_TRACE(legit[i].where() + ": " + legit[i].sql);
    const json& r = report["legit"][i];
    ASSERT_FALSE(r.value("isError", true)) << r;
    EXPECT_GE(r["structured"]["row_count"].get<long long>(), std::min<long long>(legit[i].min_rows, 200));
  }

  // Rate limit 3/min: initialize and two calls pass, the third call says when to retry.
  ASSERT_EQ(report["rate"].size(), 3u);
  EXPECT_FALSE(report["rate"][0]["isError"].get<bool>()) << report["rate"];
  EXPECT_FALSE(report["rate"][1]["isError"].get<bool>()) << report["rate"];
  EXPECT_TRUE(report["rate"][2]["isError"].get<bool>()) << report["rate"];
  EXPECT_EQ(report["rate"][2]["error"]["code"], "rate-limited");
  EXPECT_GT(report["rate"][2]["error"]["retry_after_seconds"].get<double>(), 0);

  // Audit: one line per database call and per rejected statement, with who, which session,
  // the correlation id and the client.
  std::ifstream in(audit_log);
  std::string line;
  int lines = 0, rejected = 0, ok_queries = 0;
  while (std::getline(in, line)) {
    json r = json::parse(line);
    ++lines;
    EXPECT_EQ(r["surface"], "mcp");
    EXPECT_EQ(r["identity"], "e2e-agent");
    EXPECT_EQ(r["session_id"].get<std::string>().size(), 32u);
    EXPECT_EQ(r["correlation_id"].get<std::string>().size(), 16u);
    EXPECT_EQ(r["extra"]["clientInfo"]["name"], "pgshift-e2e-stdio");
    EXPECT_EQ(r["extra"]["clientInfo"]["version"], "7.1.0");
    EXPECT_FALSE(r["extra"]["tool"].get<std::string>().empty());
    if (r["outcome"] == "rejected") ++rejected;
    if (r["outcome"] == "ok" && r["extra"]["tool"] == "query") ++ok_queries;
    expect_no_password(line);
  }
  EXPECT_GE(rejected, static_cast<int>(bypass.size()));
  EXPECT_GE(ok_queries, static_cast<int>(legit.size()));
  EXPECT_GT(lines, 0);
  expect_no_password(report.dump());
}

}  // namespace

namespace {

TEST_F(McpSdkTest, StartupRefusesUnknownConfigKeysAndMissingDatabase) {
  const std::string config = *dir_ + "/mcp.yaml";
  std::ofstream(config) << "db: " << cluster_->url("canary", "reader") << "\nrow-limit: 10\nrow_limt: 5\n";
  CliRun typo = run_pgshift({"mcp", "-c", config});
  EXPECT_EQ(typo.exit_code, 2) << typo.all();
  EXPECT_NE(typo.err.find("unknown key 'row_limt'"), std::string::npos) << typo.err;
  EXPECT_TRUE(typo.out.empty()) << "stdout carries the protocol only: " << typo.out;
  expect_no_password(typo.all());
  CliRun none = run_pgshift({"mcp"});
  EXPECT_EQ(none.exit_code, 2) << none.all();
  EXPECT_NE(none.err.find("PGSHIFT_DB_URL"), std::string::npos) << none.err;
  CliRun bad_rate = run_pgshift({"mcp", "--db", cluster_->url("canary", "reader"), "--rate", "lots"});
  EXPECT_EQ(bad_rate.exit_code, 2) << bad_rate.all();
  CliRun superuser = run_pgshift({"mcp", "--db", cluster_->url("canary")});
  EXPECT_EQ(superuser.exit_code, 2) << superuser.all();
  EXPECT_NE(superuser.err.find("superuser"), std::string::npos) << superuser.err;
  expect_no_password(superuser.all());
}

}  // namespace

// ---- Streamable HTTP ------------------------------------------------------------------------

namespace {

// `pgshift mcp --http 127.0.0.1:0 ...` in the background; its port from its log.
class McpHttpServer {
 public:
  McpHttpServer(const std::string& dir, const std::string& name, std::vector<std::string> args) {
    log_ = dir + "/" + name + ".log";
    util::ProcessSpec spec;
    spec.argv = {PGSHIFT_BINARY, "mcp", "--http", "127.0.0.1:0"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.output_file = log_;
    spec.parent_death_signal = SIGTERM;
    spec.unset_env = {"PGSHIFT_DB_URL"};
    child_ = util::spawn(spec);
    std::regex port(R"(port (\d+)\))");
    bool up = wait_until(
        [&] {
          std::smatch m;
          std::string text = testing_read(log_);
          if (std::regex_search(text, m, port)) port_ = std::stoi(m[1]);
          return port_ > 0 || !child_.running();
        },
        util::Millis(20'000));
    if (!up || port_ <= 0) throw std::runtime_error("pgshift mcp --http did not start:\n" + testing_read(log_));
  }
  ~McpHttpServer() {
    child_.signal(SIGTERM);
    if (!child_.wait_for(util::Millis(10'000))) child_.signal(SIGKILL), child_.wait();
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }
  std::string log() const { return testing_read(log_); }
  static std::string testing_read(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

 private:
  std::string log_;
  util::Child child_;
  int port_ = 0;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

const Headers kMcpPost = {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};

HttpResponse mcp_post(int port, const std::string& body, Headers extra = {}) {
  HttpRequest r;
  r.method = "POST";
  r.target = "/mcp";
  r.headers = kMcpPost;
  r.headers.insert(r.headers.end(), extra.begin(), extra.end());
  r.body = body;
  return http_request(port, r);
}

const std::string kInitialize =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},)"
    R"("clientInfo":{"name":"raw-http","version":"0.9"}}})";

}  // namespace

TEST_F(McpSdkTest, HttpSdkClientConformanceAndEveryStatusRule) {
  McpHttpServer server(*dir_, "http-none", {"--db", cluster_->url("canary", "reader"), "--rate", "100000/min"});

  // The SDK client over Streamable HTTP.
  json report = run_script("http.mjs", {{"url", server.url()}, {"admin_url", cluster_->url("canary")}});
  ASSERT_TRUE(report.contains("calls")) << report.dump().substr(0, 4000) << server.log();
  EXPECT_EQ(report["protocolVersion"], "2025-11-25");
  EXPECT_EQ(report["sessionId"].get<std::string>().size(), 32u);
  expect_every_tool_works(report);
  EXPECT_EQ(report["rejected"]["error"]["rule"], "denied-function") << report["rejected"];
  const json& cancel = report["cancel"];
  ASSERT_TRUE(cancel["sawRunning"].get<bool>()) << cancel;
  ASSERT_FALSE(cancel["stoppedAfterMs"].is_null()) << cancel;
  EXPECT_LT(cancel["stoppedAfterMs"].get<int>(), 1000) << cancel;
  std::printf("http: backend stopped %d ms after notifications/cancelled\n", cancel["stoppedAfterMs"].get<int>());
  EXPECT_EQ(report["afterCancel"]["structured"]["rows"][0]["answer"], 42);
  EXPECT_EQ(report["afterDelete"]["status"], 404) << report["afterDelete"];

  // The conformance suite: every scenario that applies to a tools-only server passes, and the
  // baseline lists exactly those that do not.
  util::ProcessSpec conformance;
  conformance.argv = {util::which("node"), std::string(PGSHIFT_SOURCE_DIR) + "/node_modules/.bin/conformance",
                      "server", "--url", server.url(), "--expected-failures",
                      std::string(PGSHIFT_SOURCE_DIR) + "/tests/e2e/mcp/conformance-expected-failures.yaml"};
  conformance.cwd = PGSHIFT_SOURCE_DIR;
  util::RunResult suite = util::run(conformance, util::Millis(170'000));
  EXPECT_EQ(suite.exit_code, 0) << suite.out.substr(suite.out.size() > 6000 ? suite.out.size() - 6000 : 0) << suite.err;
  for (const char* s : {"server-initialize", "ping", "tools-list", "server-sse-multiple-streams",
                        "dns-rebinding-protection"}) {
    EXPECT_NE(suite.out.find(std::string("✓ ") + s + ":"), std::string::npos) << s << "\n" << suite.out;
  }

  // Raw HTTP: each status rule of the transport.
  const int port = server.port();
  HttpResponse init = mcp_post(port, kInitialize);
  ASSERT_EQ(init.status, 200) << init.body;
  const std::string sid = init.header("mcp-session-id");
  ASSERT_EQ(sid.size(), 32u);
  for (char c : sid) EXPECT_TRUE(c >= 0x21 && c <= 0x7e);
  const Headers session = {{"MCP-Session-Id", sid}, {"MCP-Protocol-Version", "2025-11-25"}};
  const std::string list = R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})";

  HttpResponse note = mcp_post(port, R"({"jsonrpc":"2.0","method":"notifications/initialized"})", session);
  EXPECT_EQ(note.status, 202);
  EXPECT_TRUE(note.body.empty()) << note.body;
  EXPECT_EQ(mcp_post(port, R"({"jsonrpc":"2.0","id":5,"result":{}})", session).status, 202) << "a response";
  HttpResponse ok = mcp_post(port, list, session);
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.header("content-type").find("application/json"), std::string::npos);
  EXPECT_EQ(json::parse(ok.body)["result"]["tools"].size(), 8u);

  EXPECT_EQ(mcp_post(port, list).status, 400) << "no MCP-Session-Id";
  EXPECT_EQ(mcp_post(port, list, {{"MCP-Session-Id", std::string(32, 'a')}}).status, 404) << "unknown session";
  EXPECT_EQ(mcp_post(port, list, {{"MCP-Session-Id", sid}, {"MCP-Protocol-Version", "1999-01-01"}}).status, 400);
  HttpResponse batch = mcp_post(port, "[" + list + "]", session);
  EXPECT_EQ(batch.status, 400);
  EXPECT_EQ(json::parse(batch.body)["error"]["code"], -32600);
  EXPECT_EQ(json::parse(mcp_post(port, "{oops", session).body)["error"]["code"], -32700);
  EXPECT_EQ(mcp_post(port, list, {{"MCP-Session-Id", sid}, {"Origin", "http://evil.example"}}).status, 403);
  EXPECT_EQ(mcp_post(port, list, {{"MCP-Session-Id", sid}, {"Host", "evil.example"}}).status, 421);
  HttpRequest only_json{"POST", "/mcp", {{"Content-Type", "application/json"}, {"Accept", "application/json"}, {"MCP-Session-Id", sid}}, list, ""};
  EXPECT_EQ(http_request(port, only_json).status, 406);
  HttpResponse get = http_get(port, "/mcp", {{"Accept", "text/event-stream"}, {"MCP-Session-Id", sid}});
  EXPECT_EQ(get.status, 405);

  // Progress requested: an SSE stream, a progress notification first, then the response.
  HttpResponse sse = mcp_post(port,
                              R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"query",)"
                              R"("arguments":{"sql":"SELECT 1 AS one"},"_meta":{"progressToken":"p1"}}})",
                              session);
  EXPECT_EQ(sse.status, 200);
  EXPECT_NE(sse.header("content-type").find("text/event-stream"), std::string::npos);
  auto progress_at = sse.body.find("notifications/progress"), result_at = sse.body.find("\"id\":3");
  EXPECT_NE(progress_at, std::string::npos) << sse.body;
  EXPECT_NE(result_at, std::string::npos) << sse.body;
  EXPECT_LT(progress_at, result_at);

  HttpRequest del{"DELETE", "/mcp", session, "", ""};
  EXPECT_EQ(http_request(port, del).status, 204);
  EXPECT_EQ(mcp_post(port, list, session).status, 404) << "an ended session";
  EXPECT_EQ(http_request(port, del).status, 404);
}

TEST_F(McpSdkTest, HttpTokensRateLimitAndTrustedHeaderAuditJoinPgaudit) {
  // --auth token, 2 requests a minute: 401 without a token, then 429 once over the rate.
  const std::string tokens = *dir_ + "/tokens";
  std::ofstream(tokens) << "ci-agent " << http::sha256_hex("s3cret-token-value") << "\n";
  {
    McpHttpServer server(*dir_, "http-token",
                         {"--db", cluster_->url("canary", "reader"), "--auth", "token", "--tokens", tokens, "--rate", "2/min"});
    EXPECT_EQ(mcp_post(server.port(), kInitialize).status, 401);
    EXPECT_EQ(mcp_post(server.port(), kInitialize, {{"Authorization", "Bearer wrong"}}).status, 401);
    const Headers bearer = {{"Authorization", "Bearer s3cret-token-value"}};
    EXPECT_EQ(mcp_post(server.port(), kInitialize, bearer).status, 200);
    EXPECT_EQ(mcp_post(server.port(), kInitialize, bearer).status, 200);
    HttpResponse limited = mcp_post(server.port(), kInitialize, bearer);
    EXPECT_EQ(limited.status, 429) << limited.body;
    EXPECT_GE(std::stoi(limited.header("retry-after").empty() ? "0" : limited.header("retry-after")), 1);
    EXPECT_EQ(server.log().find("s3cret-token-value"), std::string::npos);
  }

  // --auth trusted-header: the identity from the proxy's header lands in the audit line, with
  // the MCP session id and the correlation id; pgaudit's line of the statement carries the same
  // correlation id in application_name (%a).
  const std::string audit_log = *dir_ + "/http-audit.jsonl";
  McpHttpServer server(*dir_, "http-header",
                       {"--db", cluster_->url("canary", "reader"), "--auth", "trusted-header", "--identity-header",
                        "X-Test-User", "--trusted-proxy", "127.0.0.1/32", "--audit-log", audit_log});
  const Headers user = {{"X-Test-User", "alice@example.com"}};
  EXPECT_EQ(mcp_post(server.port(), kInitialize).status, 401) << "no identity header";
  HttpResponse init = mcp_post(server.port(), kInitialize, user);
  ASSERT_EQ(init.status, 200) << init.body;
  const std::string sid = init.header("mcp-session-id");
  Headers session = user;
  session.push_back({"MCP-Session-Id", sid});
  const std::string marker = "mcp_pgaudit_" + std::to_string(getpid());
  HttpResponse call = mcp_post(server.port(),
                               R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"query",)"
                               R"("arguments":{"sql":"SELECT count(*) AS )" + marker + R"( FROM accounts"}}})",
                               session);
  ASSERT_EQ(call.status, 200) << call.body;
  json structured = json::parse(call.body)["result"]["structuredContent"];
  const std::string correlation = structured["correlation_id"];
  ASSERT_EQ(correlation.size(), 16u);

  json line;
  ASSERT_TRUE(wait_until(
      [&] {
        std::ifstream in(audit_log);
        std::string text;
        while (std::getline(in, text)) {
          json r = json::parse(text);
          if (r["correlation_id"] == correlation) line = r;
        }
        return !line.is_null();
      },
      util::Millis(5'000)));
  EXPECT_EQ(line["surface"], "mcp");
  EXPECT_EQ(line["identity"], "alice@example.com");
  EXPECT_EQ(line["session_id"], sid);
  EXPECT_EQ(line["outcome"], "ok");
  EXPECT_EQ(line["rows"], 1);
  EXPECT_EQ(line["extra"]["tool"], "query");
  EXPECT_EQ(line["extra"]["clientInfo"]["name"], "raw-http");
  EXPECT_NE(line["statement"].get<std::string>().find(marker), std::string::npos);

  const std::string app = "app=pgshift/mcp/" + correlation;
  std::string pgaudit_line;
  ASSERT_TRUE(wait_until(
      [&] {
        std::ifstream in(cluster_->log_file());
        std::string text;
        while (std::getline(in, text)) {
          if (text.find("AUDIT:") != std::string::npos && text.find(marker) != std::string::npos) pgaudit_line = text;
        }
        return !pgaudit_line.empty();
      },
      util::Millis(5'000)))
      << "no pgaudit line for the statement in " << cluster_->log_file();
  EXPECT_NE(pgaudit_line.find(app), std::string::npos) << pgaudit_line;
  EXPECT_NE(pgaudit_line.find("READ"), std::string::npos) << pgaudit_line;
}
