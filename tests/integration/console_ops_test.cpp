// `pgshift console` in operation: the audit line of a statement and its correlation id in the
// PostgreSQL log (%a), /metrics in the Prometheus text format, a 5M-row SELECT * (first page,
// truncated, bounded memory), a client that disconnects mid-query (its backend is cancelled),
// SIGTERM (running statements cancelled after the grace period, exit 0), and
// --identity-concurrency (one identity's extra statement queues; another identity is served).
#include <atomic>
#include <chrono>
#include <regex>
#include <set>
#include <thread>

#include "console_fixture.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using json = nlohmann::json;

namespace {

constexpr const char* kLongQuery = "SELECT count(*) FROM generate_series(1, 4000000000)";

class ConsoleOpsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("console-ops", {{"log_statement", "'all'"}}).release();
    cluster_->create_database("app");
    pg::Connection admin = connect(*cluster_, "app");
    run_sql(admin, kConsoleSchema);
    run_sql(admin, "CREATE UNLOGGED TABLE big AS SELECT g AS id, md5(g::text) AS label FROM generate_series(1, 5000000) g");
    audit_ = new std::string(fmt::format("/tmp/pgshift-console-ops-audit-{}.jsonl", getpid()));
    server_ = new ServerProcess(ServerProcess::start({"console", "--db", reader_url(*cluster_), "--listen",
                                                      "127.0.0.1:0", "--audit-log", *audit_, "--timeout", "60s"}));
  }
  static void TearDownTestSuite() {
    delete server_;
    std::remove(audit_->c_str());
    delete audit_;
    delete cluster_;
  }
  static std::vector<json> audit_lines() {
    std::vector<json> out;
    std::stringstream in(read_file(*audit_));
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
  }
  static int active_console_backends(pg::Connection& admin) {
    return static_cast<int>(admin.exec("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE "
                                       "'pgshift/console/%' AND state = 'active'")
                                .scalar_int64());
  }

  static LocalCluster* cluster_;
  static ServerProcess* server_;
  static std::string* audit_;
};
LocalCluster* ConsoleOpsTest::cluster_ = nullptr;
ServerProcess* ConsoleOpsTest::server_ = nullptr;
std::string* ConsoleOpsTest::audit_ = nullptr;

}  // namespace

TEST_F(ConsoleOpsTest, AuditLineAndTheCorrelationIdInTheServerLog) {
  HttpResponse r = http_post_same_origin(server_->port(), "/api/sql",
                                         json{{"sql", "SELECT name FROM customers WHERE id = 3"}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = json_of(r)["correlation_id"];
  EXPECT_EQ(r.header("x-pgshift-correlation-id"), id);
  http_post_same_origin(server_->port(), "/api/sql", json{{"sql", "DROP TABLE customers"}}.dump());
  http_post_same_origin(server_->port(), "/api/sql", json{{"sql", "SELECT 1/0"}}.dump());
  auto lines = audit_lines();
  const json* ok = nullptr;
  for (const auto& l : lines) {
    if (l["correlation_id"] == id) ok = &l;
  }
  ASSERT_NE(ok, nullptr) << read_file(*audit_);
  EXPECT_EQ((*ok)["surface"], "console");
  EXPECT_EQ((*ok)["identity"], "local");
  EXPECT_EQ((*ok)["client_address"], "127.0.0.1");
  EXPECT_EQ((*ok)["session_id"].get<std::string>().size(), 32u);
  EXPECT_EQ((*ok)["statement"], "SELECT name FROM customers WHERE id = 3");
  EXPECT_NE((*ok)["normalized"].get<std::string>().find("id = $1"), std::string::npos);
  EXPECT_FALSE((*ok)["fingerprint"].get<std::string>().empty());
  EXPECT_EQ((*ok)["outcome"], "ok");
  EXPECT_EQ((*ok)["rows"], 1);
  EXPECT_EQ((*ok)["truncated"], false);
  EXPECT_EQ((*ok)["bytes"], std::string("Carol O'Hara").size());
  EXPECT_GE((*ok)["duration_ms"].get<double>(), 0);
  EXPECT_EQ((*ok)["extra"]["route"], "api_sql");
  const json& rejected = lines[lines.size() - 2];
  EXPECT_EQ(rejected["outcome"], "rejected");
  EXPECT_FALSE(rejected["rule"].is_null());
  EXPECT_EQ(lines.back()["outcome"], "error");
  EXPECT_EQ(lines.back()["sqlstate"], "22012");
  // log_line_prefix has %a: the statement's log line carries pgshift/console/<id>.
  std::string log = read_file(cluster_->log_file());
  bool found = false;
  for (size_t at = log.find("] pgshift/console/" + id + " "); at != std::string::npos && !found;
       at = log.find("] pgshift/console/" + id + " ", at + 1)) {
    found = log.substr(at, log.find('\n', at) - at).find("FROM customers WHERE id = 3") != std::string::npos;
  }
  EXPECT_TRUE(found) << "no log line of the statement with pgshift/console/" << id;
  // The table browser's statements are audited the same way.
  HttpResponse b = http_get(server_->port(), "/api/tables/public/customers?f=" + url_encode("name:=:Bob"));
  ASSERT_EQ(b.status, 200);
  EXPECT_EQ(audit_lines().back()["extra"]["table"], "public.customers");
  expect_no_password(read_file(*audit_));
}

TEST_F(ConsoleOpsTest, MetricsParseAsPrometheusText) {
  http_get(server_->port(), "/api/overview");
  http_post_same_origin(server_->port(), "/api/sql", json{{"sql", "SELECT 1"}}.dump());
  http_post_same_origin(server_->port(), "/api/sql", json{{"sql", "VACUUM"}}.dump());
  HttpResponse m = http_get(server_->port(), "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.header("content-type").find("text/plain; version=0.0.4"), std::string::npos);
  static const std::regex kSample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$)");
  static const std::regex kType(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  std::map<std::string, std::string> types;
  std::set<std::string> samples;
  std::stringstream in(m.body);
  for (std::string line; std::getline(in, line);) {
    std::smatch g;
    if (line.starts_with("# HELP ")) continue;
    if (line.starts_with("# TYPE ")) {
      ASSERT_TRUE(std::regex_match(line, g, kType)) << line;
      types[g[1]] = g[2];
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, g, kSample)) << "not a sample line: " << line;
    samples.insert(g[1]);
  }
  const std::map<std::string, std::string> expected = {
      {"pgshift_http_requests_total", "counter"},
      {"pgshift_http_request_duration_seconds", "histogram"},
      {"pgshift_statements_total", "counter"},
      {"pgshift_pool_connections_in_use", "gauge"},
      {"pgshift_pool_waiting", "gauge"},
      {"pgshift_pg_up", "gauge"},
      {"pgshift_archiver_failed_count", "counter"}};
  for (const auto& [name, type] : expected) EXPECT_EQ(types[name], type) << name << "\n" << m.body;
  EXPECT_TRUE(samples.count("pgshift_http_request_duration_seconds_bucket"));
  EXPECT_NE(m.body.find("pgshift_pg_up 1\n"), std::string::npos);
  EXPECT_NE(m.body.find("pgshift_statements_total{outcome=\"ok\",rule=\"\"}"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("pgshift_statements_total{outcome=\"rejected\",rule=\""), std::string::npos);
  EXPECT_NE(m.body.find("pgshift_http_requests_total{route=\"api_overview\",status=\"200\"}"), std::string::npos);
  EXPECT_EQ(http_get(server_->port(), "/healthz").status, 200);
  EXPECT_EQ(http_get(server_->port(), "/readyz").status, 200);
}

TEST_F(ConsoleOpsTest, FiveMillionRowSelectStarReturnsTheFirstPageInBoundedMemory) {
  const long long before_kb = peak_rss_kb(server_->pid());
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = http_post_same_origin(server_->port(), "/api/sql", json{{"sql", "SELECT * FROM big"}}.dump());
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    json j = json_of(r);
    EXPECT_EQ(j["rows"].size(), 1000u);
    EXPECT_EQ(j["truncated"], true);
    EXPECT_EQ(j["truncated_by"], "limit");
    EXPECT_EQ(j["rows"][0][0], "1");
  }
  HttpResponse csv = http_post_same_origin(server_->port(), "/api/sql?format=csv", json{{"sql", "SELECT * FROM big"}}.dump());
  EXPECT_EQ(line_count(csv.body), 1001u);
  const long long after_kb = peak_rss_kb(server_->pid());
  // 5M rows of (int, md5 text) are ~300 MB of values; the console keeps 1000 of them.
  EXPECT_LT(after_kb, 100 * 1024) << "peak RSS " << after_kb << " kB (before " << before_kb << " kB)";
}

TEST_F(ConsoleOpsTest, AClientThatDisconnectsCancelsItsStatement) {
  pg::Connection admin = connect(*cluster_, "app");
  HttpRequest r;
  r.method = "POST";
  r.target = "/api/sql";
  r.body = json{{"sql", kLongQuery}}.dump();
  r.headers = {{"Origin", fmt::format("http://127.0.0.1:{}", server_->port())},
               {"X-Pgshift-Request", "1"},
               {"Content-Type", "application/json"}};
  std::thread client([&] { http_send_and_close(server_->port(), r, util::Millis(1500)); });
  ASSERT_TRUE(wait_until([&] { return active_console_backends(admin) == 1; }, util::Millis(10'000)));
  client.join();
  // --timeout is 60s: only the disconnect can end it this soon.
  EXPECT_TRUE(wait_until([&] { return active_console_backends(admin) == 0; }, util::Millis(10'000)));
  ASSERT_TRUE(wait_until([&] { return !audit_lines().empty() && audit_lines().back()["statement"] == kLongQuery; },
                         util::Millis(5'000)));
  EXPECT_EQ(audit_lines().back()["outcome"], "cancelled");
  // The console still serves, on a clean connection.
  EXPECT_EQ(http_post_same_origin(server_->port(), "/api/sql", json{{"sql", "SELECT 1"}}.dump()).status, 200);
}

TEST_F(ConsoleOpsTest, SigtermCancelsRunningStatementsAndExitsZero) {
  pg::Connection admin = connect(*cluster_, "app");
  ServerProcess s = ServerProcess::start({"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--timeout", "120s"});
  HttpResponse answer;
  std::thread client([&] {
    answer = http_post_same_origin(s.port(), "/api/sql", json{{"sql", kLongQuery}}.dump());
  });
  ASSERT_TRUE(wait_until([&] { return active_console_backends(admin) == 1; }, util::Millis(10'000)));
  auto start = std::chrono::steady_clock::now();
  std::optional<int> code = s.terminate(util::Millis(30'000));
  client.join();
  ASSERT_TRUE(code.has_value()) << "did not exit after SIGTERM:\n" << s.output();
  EXPECT_EQ(*code, 0) << s.output();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_EQ(answer.status, 422) << answer.body;  // the statement was cancelled, and the client told
  EXPECT_NE(answer.body.find("\"cancelled\":true"), std::string::npos) << answer.body;
  EXPECT_NE(s.output().find("shutting down"), std::string::npos);
  EXPECT_TRUE(wait_until([&] { return active_console_backends(admin) == 0; }, util::Millis(5'000)));
  EXPECT_EQ(http_get(s.port(), "/healthz").status, 0) << "still accepting after exit";
}

TEST_F(ConsoleOpsTest, ABusyPoolAnswers503WithRetryAfter) {
  ServerProcess s = ServerProcess::start({"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0",
                                          "--max-connections", "1", "--timeout", "2s"});
  std::vector<HttpResponse> answers(3);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < answers.size(); ++i) {
    clients.emplace_back([&, i] {
      answers[i] = http_post_same_origin(s.port(), "/api/sql", json{{"sql", kLongQuery}}.dump());
    });
  }
  for (auto& c : clients) c.join();
  int busy = 0, timed_out = 0;
  for (const auto& a : answers) {
    if (a.status == 503) {
      ++busy;
      EXPECT_EQ(a.header("retry-after"), "1");
      EXPECT_NE(a.body.find("busy"), std::string::npos) << a.body;
    }
    if (a.status == 422 && a.body.find("\"timed_out\":true") != std::string::npos) ++timed_out;
  }
  // One connection, three statements of 2 s each, waiting at most 2 s: not all can run.
  EXPECT_GE(busy, 1);
  EXPECT_GE(timed_out, 1);
  EXPECT_EQ(busy + timed_out, 3);
}

// --identity-concurrency 2 (query/pool.hpp): a third statement of the same identity waits for one
// of its own to finish (up to --timeout, then 503), while another identity is served at once.
TEST_F(ConsoleOpsTest, IdentityConcurrencyQueuesOnlyThatIdentity) {
  using Clock = std::chrono::steady_clock;
  pg::Connection admin = connect(*cluster_, "app");
  ServerProcess s = ServerProcess::start({"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--auth",
                                          "trusted-header", "--identity-header", "X-Forwarded-Email", "--trusted-proxy",
                                          "127.0.0.1/32", "--max-connections", "4", "--identity-concurrency", "2",
                                          "--timeout", "60s"});
  struct Answer {
    HttpResponse response;
    Clock::time_point at;
  };
  auto post_as = [&](const std::string& identity, const std::string& sql, Answer& out) {
    out.response = http_post_same_origin(s.port(), "/api/sql", json{{"sql", sql}}.dump(), {{"X-Forwarded-Email", identity}});
    out.at = Clock::now();
  };
  // Alice's long statements are those in their cursor's FETCH (DECLARE and the gate's catalog
  // checks come before it); cancelling one there ends it for sure, as an operator would.
  constexpr const char* kAliceLong = "FROM pg_stat_activity WHERE application_name LIKE 'pgshift/console/%' AND "
                                     "backend_type = 'client backend' AND state = 'active' AND query LIKE 'FETCH%'";
  auto long_running = [&] { return admin.exec(fmt::format("SELECT count(*) {}", kAliceLong)).scalar_int64(); };
  auto cancel_one = [&] {
    EXPECT_EQ(admin.exec(fmt::format("SELECT pg_cancel_backend(pid) {} LIMIT 1", kAliceLong)).scalar(), "t");
    return Clock::now();
  };
  std::atomic<int> alice_long_done{0};
  std::atomic<bool> third_done{false};
  std::vector<Answer> alice_long(2);
  Answer third, bob;
  std::vector<std::thread> clients;
  struct Cleanup {  // an assertion that returns early still ends Alice's statements and joins
    pg::Connection& admin;
    std::vector<std::thread>& threads;
    ~Cleanup() {
      admin.exec("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'pgshift/console/%'");
      for (auto& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } cleanup{admin, clients};

  for (auto& a : alice_long) {
    clients.emplace_back([&] {
      post_as("alice@example.com", kLongQuery, a);
      ++alice_long_done;
    });
  }
  ASSERT_TRUE(wait_until([&] { return long_running() == 2; }, util::Millis(10'000)));

  // Alice's third statement is queued: the pool counts it as waiting, and it does not start.
  clients.emplace_back([&] {
    post_as("alice@example.com", "SELECT 'third'", third);
    third_done = true;
  });
  ASSERT_TRUE(wait_until([&] { return http_get(s.port(), "/metrics").body.find("\npgshift_pool_waiting 1\n") != std::string::npos; },
                         util::Millis(5'000)));

  // Bob is served at once from the rest of the pool while Alice's two still run.
  const auto bob_sent = Clock::now();
  post_as("bob@example.com", "SELECT 'bob'", bob);
  ASSERT_EQ(bob.response.status, 200) << bob.response.body;
  EXPECT_EQ(json_of(bob.response)["rows"][0][0], "bob");
  EXPECT_LT(bob.at - bob_sent, std::chrono::milliseconds(2'000));
  EXPECT_EQ(alice_long_done.load(), 0) << "Bob waited for Alice's statements";
  EXPECT_FALSE(third_done.load()) << "Alice's third statement ran beside her two";
  EXPECT_EQ(long_running(), 2);

  // One of Alice's statements ends: her third one runs in its place.
  const auto first_ended = cancel_one();
  ASSERT_TRUE(wait_until([&] { return third_done.load(); }, util::Millis(10'000)));
  EXPECT_GT(third.at, first_ended);
  ASSERT_EQ(third.response.status, 200) << third.response.body;
  EXPECT_EQ(json_of(third.response)["rows"][0][0], "third");
  EXPECT_TRUE(wait_until([&] { return alice_long_done.load() == 1; }, util::Millis(5'000)));

  ASSERT_TRUE(wait_until([&] { return long_running() == 1; }, util::Millis(5'000)));
  cancel_one();
  for (auto& c : clients) c.join();
  for (const auto& a : alice_long) EXPECT_EQ(a.response.status, 422) << a.response.body;
}

TEST_F(ConsoleOpsTest, MigrationTabReadsTheJournalDatabase) {
  ServerProcess s = ServerProcess::start({"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0",
                                          "--journal", reader_url(*cluster_, "postgres")});
  HttpResponse r = http_get(s.port(), "/api/migration");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r)["id"], "migration");
  EXPECT_EQ(http_get(s.port(), "/migration").status, 200);
}
