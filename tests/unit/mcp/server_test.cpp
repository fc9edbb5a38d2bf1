// The protocol layer of mcp::Server without a database: lifecycle, negotiation, dispatch and
// the errors of what never reaches a tool. The pool here reaches no database, so a message that
// would touch one fails.
#include "mcp/server.hpp"

#include <gtest/gtest.h>

#include "mcp/tools.hpp"

using namespace pgshift;
using namespace pgshift::mcp;
using json = nlohmann::json;

namespace {

// A pool to a port nobody listens on: a message that needs the database fails the test.
query::Pool& no_database() {
  static query::Pool pool(pg::ConnInfo::parse("postgresql://nobody@127.0.0.1:1/none", "test"), {});
  return pool;
}

struct Audit {
  audit::Log log{""};
  std::vector<audit::Record> records;
  Audit() {
    log.set_observer([this](const audit::Record& r) { records.push_back(r); });
  }
};

struct Fixture {
  Audit audit;
  Server server{ServerOptions{}, {no_database(), no_database(), audit.log}};
  Session session{"s1", "", "", ""};
  Caller caller{"alice", ""};

  json send(const std::string& text) {
    Reply r = server.handle(session, caller, jsonrpc::parse(text));
    return r.message ? *r.message : json();
  }
  json initialize(const std::string& version) {
    return send(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":")" + version +
                R"(","capabilities":{},"clientInfo":{"name":"c","version":"2"}}})");
  }
};

}  // namespace

TEST(McpServer, NegotiatesTheProtocolRevision) {
  for (const char* v : {"2025-11-25", "2025-06-18", "2025-03-26"}) {
    Fixture f;
    EXPECT_EQ(f.initialize(v)["result"]["protocolVersion"], v);
    EXPECT_EQ(f.session.protocol_version, v);
  }
  Fixture f;
  json r = f.initialize("2024-11-05");
  EXPECT_EQ(r["result"]["protocolVersion"], "2025-11-25") << "an unsupported request gets the newest";
  EXPECT_EQ(r["result"]["serverInfo"]["name"], "pgshift");
  EXPECT_TRUE(r["result"]["capabilities"].contains("tools"));
  EXPECT_EQ(f.session.client_name, "c");
  EXPECT_EQ(f.session.client_version, "2");
}

TEST(McpServer, AnswersPingListsToolsAndRefusesWhatIsUnknown) {
  Fixture f;
  EXPECT_EQ(f.send(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})")["error"]["code"], jsonrpc::kNotInitialized);
  EXPECT_EQ(f.send(R"({"jsonrpc":"2.0","id":2,"method":"ping"})")["result"], json::object());
  f.initialize("2025-11-25");
  EXPECT_TRUE(f.send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})").is_null());
  json list = f.send(R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})")["result"]["tools"];
  ASSERT_EQ(list.size(), tools().size());
  for (const auto& t : list) {
    EXPECT_TRUE(t["annotations"]["readOnlyHint"].get<bool>()) << t["name"];
    EXPECT_EQ(t["inputSchema"]["type"], "object") << t["name"];
    EXPECT_EQ(t["outputSchema"]["type"], "object") << t["name"];
    EXPECT_FALSE(t["description"].get<std::string>().empty());
  }
  EXPECT_EQ(f.send(R"({"jsonrpc":"2.0","id":4,"method":"resources/list"})")["error"]["code"], jsonrpc::kMethodNotFound);
  json unknown = f.send(R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"drop_all"}})");
  EXPECT_EQ(unknown["error"]["code"], jsonrpc::kInvalidParams);
  EXPECT_EQ(unknown["id"], 5);
  EXPECT_EQ(f.send(R"({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{}})")["error"]["code"],
            jsonrpc::kInvalidParams);
  EXPECT_EQ(f.send("[1,2]")["error"]["code"], jsonrpc::kInvalidRequest);
  EXPECT_EQ(f.send("{")["error"]["code"], jsonrpc::kParseError);
  EXPECT_TRUE(f.send(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}})").is_null());
}

TEST(McpServer, ARejectedStatementIsAToolErrorWithRuleAndPositionAndIsAudited) {
  Fixture f;
  f.initialize("2025-11-25");
  json r = f.send(R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"query",)"
                  R"("arguments":{"sql":"SELECT 1; DROP TABLE t"}}})");
  ASSERT_TRUE(r["result"]["isError"].get<bool>()) << r;
  EXPECT_FALSE(r["result"].contains("structuredContent"));
  json error = json::parse(r["result"]["content"][0]["text"].get<std::string>())["error"];
  EXPECT_EQ(error["code"], "rejected");
  EXPECT_EQ(error["rule"], "multiple-statements");
  EXPECT_GT(error["position"].get<int>(), 0);
  ASSERT_EQ(f.audit.records.size(), 1u);
  EXPECT_EQ(f.audit.records[0].outcome, audit::Outcome::rejected);
  EXPECT_EQ(f.audit.records[0].rule, "multiple-statements");
  EXPECT_EQ(f.audit.records[0].identity, "alice");
  EXPECT_EQ(f.audit.records[0].session_id, "s1");
  EXPECT_EQ(f.audit.records[0].extra["tool"], "query");
  // Arguments are checked before anything runs.
  json bad = f.send(R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"query","arguments":{"sql":1}}})");
  EXPECT_TRUE(bad["result"]["isError"].get<bool>());
  json extra = f.send(R"({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"health","arguments":{"x":1}}})");
  EXPECT_TRUE(extra["result"]["isError"].get<bool>());
}

TEST(McpServer, OverTheRateLimitInitializeIsAProtocolErrorWithRetryAfter) {
  Audit audit;
  ServerOptions options;
  options.rate_per_minute = 1;
  Server server(options, {no_database(), no_database(), audit.log});
  Session s{"s", "", "", ""};
  Caller c{"bob", ""};
  auto init = jsonrpc::parse(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})");
  EXPECT_FALSE(server.handle(s, c, init).retry_after);
  Reply again = server.handle(s, c, init);
  ASSERT_TRUE(again.retry_after);
  EXPECT_EQ((*again.message)["error"]["code"], jsonrpc::kRateLimited);
  Reply call = server.handle(s, c, jsonrpc::parse(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"health"}})"));
  EXPECT_TRUE((*call.message)["result"]["isError"].get<bool>()) << "a tool call over the limit is a tool error";
}
