// The 70,000-term expression of issue #23 (item 1) through every surface that runs user SQL:
// `pgshift query` (100,000 terms, from stdin), the console's /api/sql, MCP over stdio and MCP
// over HTTP. Before the nesting limit each process died of a stack overflow in libpg_query
// (SIGSEGV, exit 139) with no audit line. Now each answers with the nesting-limit rule, writes
// its audit line, stays alive and answers the next statement.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <csignal>
#include <regex>
#include <sstream>

#include "console_fixture.hpp"
#include "util/process.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using nlohmann::json;

namespace {

std::string deep_sum(size_t terms) {
  std::string sql = "SELECT 1";
  sql.reserve(8 + 2 * terms);
  for (size_t i = 0; i < terms; ++i) sql += "+1";
  return sql;
}

std::vector<json> jsonl(const std::string& text) {
  std::vector<json> out;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line, nullptr, false));
  }
  return out;
}

class QueryDeepInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("query-deep").release();
    cluster_->create_database("app");
    pg::Connection admin = connect(*cluster_, "app");
    run_sql(admin, kConsoleSchema);
  }
  static void TearDownTestSuite() { delete cluster_; }

  static std::string audit_path(const std::string& surface) {
    return fmt::format("/tmp/pgshift-deep-{}-{}.jsonl", surface, getpid());
  }
  // The audit lines of a surface's log, removed afterwards.
  static std::vector<json> audit_of(const std::string& surface) {
    std::vector<json> lines = jsonl(read_file(audit_path(surface)));
    std::remove(audit_path(surface).c_str());
    return lines;
  }
  static void expect_refused_then_ok(const std::vector<json>& audit) {
    ASSERT_EQ(audit.size(), 2u);
    EXPECT_EQ(audit[0]["outcome"], "rejected");
    EXPECT_EQ(audit[0]["rule"], "nesting-limit");
    EXPECT_EQ(audit[1]["outcome"], "ok");
  }

  static LocalCluster* cluster_;
};
LocalCluster* QueryDeepInputTest::cluster_ = nullptr;

TEST_F(QueryDeepInputTest, PgshiftQueryRefusesItWithTheRule) {
  util::ProcessSpec spec;
  spec.argv = {PGSHIFT_BINARY, "query", "--db", reader_url(*cluster_), "-"};
  util::RunResult r = util::run(spec, util::Millis(120'000), deep_sum(100'000));
  EXPECT_EQ(r.exit_code, 1) << r.err.substr(0, 2000);
  EXPECT_NE(r.err.find("rejected [nesting-limit]"), std::string::npos) << r.err.substr(0, 2000);
  EXPECT_NE(r.err.find("nests too deeply"), std::string::npos);
  CliRun ok = run_pgshift({"query", "--db", reader_url(*cluster_), "SELECT count(*) FROM customers"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST_F(QueryDeepInputTest, TheConsoleAnswersItAndTheNextStatement) {
  ServerProcess server = ServerProcess::start({"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0",
                                               "--audit-log", audit_path("console")});
  HttpResponse refused = http_post_same_origin(server.port(), "/api/sql", json{{"sql", deep_sum(70'000)}}.dump());
  EXPECT_EQ(refused.status, 400) << refused.body.substr(0, 500);
  EXPECT_EQ(json_of(refused)["error"]["rule"], "nesting-limit") << refused.body.substr(0, 500);
  HttpResponse ok = http_post_same_origin(server.port(), "/api/sql", json{{"sql", "SELECT count(*) FROM customers"}}.dump());
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(server.terminate(), 0) << server.output();
  expect_refused_then_ok(audit_of("console"));
}

TEST_F(QueryDeepInputTest, McpOverStdioAnswersItAndTheNextCall) {
  auto call = [](int id, const std::string& sql) {
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"},
                {"params", {{"name", "query"}, {"arguments", {{"sql", sql}}}}}}
               .dump() +
           "\n";
  };
  const std::string initialize =
      json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
           {"params", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()},
                       {"clientInfo", {{"name", "deep-test"}, {"version", "1"}}}}}}
          .dump() +
      "\n" + json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}.dump() + "\n";
  // stdin stays open until the replies are in: at end of input the server cancels running calls.
  int in[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  const std::string log = audit_path("mcp-stdio-out");
  util::ProcessSpec spec;
  spec.argv = {PGSHIFT_BINARY, "mcp", "--db", reader_url(*cluster_), "--audit-log", audit_path("mcp-stdio")};
  spec.stdin_fd = in[0];
  spec.output_file = log;
  spec.parent_death_signal = SIGTERM;
  util::Child child = util::spawn(spec);
  close(in[0]);
  std::map<int, json> replies;
  // Sends text, then waits for the reply with this id (or the process's end).
  auto send = [&](const std::string& text, int id) {
    for (size_t done = 0; done < text.size();) {
      ssize_t n = write(in[1], text.data() + done, text.size() - done);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
    wait_until(
        [&] {
          for (const json& m : jsonl(read_file(log))) {
            if (m.is_object() && m.contains("id") && m["id"].is_number_integer()) replies[m["id"].get<int>()] = m;
          }
          return replies.count(id) > 0 || !child.running();
        },
        util::Millis(60'000));
  };
  send(initialize, 1);
  send(call(2, deep_sum(70'000)), 2);
  send(call(3, "SELECT count(*) AS n FROM customers"), 3);
  close(in[1]);
  std::optional<int> code = child.wait_for(util::Millis(30'000));
  EXPECT_EQ(code, 0) << read_file(log).substr(0, 2000);
  std::remove(log.c_str());
  ASSERT_TRUE(replies.count(2) && replies.count(3));
  EXPECT_EQ(replies[2]["result"]["isError"], true) << replies[2].dump().substr(0, 1000);
  EXPECT_NE(replies[2].dump().find("nesting-limit"), std::string::npos) << replies[2].dump().substr(0, 1000);
  EXPECT_NE(replies[3]["result"].value("isError", false), true) << replies[3].dump();
  EXPECT_EQ(replies[3]["result"]["structuredContent"]["rows"][0]["n"], 4) << replies[3].dump();
  expect_refused_then_ok(audit_of("mcp-stdio"));
}

TEST_F(QueryDeepInputTest, McpOverHttpAnswersItAndTheNextCall) {
  const std::string log = audit_path("mcp-http-out");
  util::ProcessSpec spec;
  spec.argv = {PGSHIFT_BINARY, "mcp", "--db", reader_url(*cluster_), "--http", "127.0.0.1:0",
               "--audit-log", audit_path("mcp-http")};
  spec.output_file = log;
  spec.parent_death_signal = SIGTERM;
  util::Child child = util::spawn(spec);
  int port = 0;
  wait_until(
      [&] {
        std::smatch m;
        std::string text = read_file(log);
        if (std::regex_search(text, m, std::regex(R"(port (\d+)\))"))) port = std::stoi(m[1]);
        return port > 0 || !child.running();
      },
      util::Millis(30'000));
  ASSERT_GT(port, 0) << read_file(log);
  auto post = [&](const json& message, const std::string& session) {
    HttpRequest req;
    req.method = "POST";
    req.target = "/mcp";
    req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};
    if (!session.empty()) {
      req.headers.emplace_back("MCP-Session-Id", session);
      req.headers.emplace_back("MCP-Protocol-Version", "2025-06-18");
    }
    req.body = message.dump();
    return http_request(port, req);
  };
  HttpResponse init = post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                            {"params", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()},
                                        {"clientInfo", {{"name", "deep-test"}, {"version", "1"}}}}}},
                           "");
  ASSERT_EQ(init.status, 200) << init.body;
  const std::string session = init.header("mcp-session-id");
  ASSERT_FALSE(session.empty());
  EXPECT_EQ(post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, session).status, 202);
  auto call = [&](int id, const std::string& sql) {
    return post({{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"},
                 {"params", {{"name", "query"}, {"arguments", {{"sql", sql}}}}}},
                session);
  };
  HttpResponse refused = call(2, deep_sum(70'000));
  ASSERT_EQ(refused.status, 200) << refused.body.substr(0, 500);
  EXPECT_EQ(json_of(refused)["result"]["isError"], true);
  EXPECT_NE(refused.body.find("nesting-limit"), std::string::npos) << refused.body.substr(0, 500);
  HttpResponse ok = call(3, "SELECT count(*) AS n FROM customers");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json_of(ok)["result"]["structuredContent"]["rows"][0]["n"], 4) << ok.body;
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_for(util::Millis(20'000)), 0) << read_file(log);
  std::remove(log.c_str());
  expect_refused_then_ok(audit_of("mcp-http"));
}

}  // namespace
