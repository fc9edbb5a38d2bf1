// The SQL tab's plans over real HTTP: an EXPLAIN runs as EXPLAIN (FORMAT JSON) with the user's
// other options (plan_format "json", the tree's input), FORMAT TEXT stays text, EXPLAIN ANALYZE
// stays refused by the gate (caret on the user's text), a server error's position lands in the
// user's text, and the audit line records the statement that ran.
#include "console_fixture.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using json = nlohmann::json;

namespace {

class ConsolePlanTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("console-plan").release();
    cluster_->create_database("app");
    pg::Connection admin = connect(*cluster_, "app");
    run_sql(admin, kConsoleSchema);
    audit_ = new std::string(fmt::format("/tmp/pgshift-console-plan-audit-{}.jsonl", getpid()));
    server_ = new ServerProcess(
        ServerProcess::start({"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--audit-log", *audit_}));
  }
  static void TearDownTestSuite() {
    delete server_;
    std::remove(audit_->c_str());
    delete audit_;
    delete cluster_;
  }
  static HttpResponse sql(const std::string& text) {
    return http_post_same_origin(server_->port(), "/api/sql", json{{"sql", text}}.dump());
  }
  // The plan's JSON (rows[0][0]) of an EXPLAIN that ran as FORMAT JSON.
  static json plan_of(const std::string& text) {
    HttpResponse r = sql(text);
    EXPECT_EQ(r.status, 200) << text << ": " << r.body;
    json doc = json_of(r);
    EXPECT_EQ(doc.value("plan_format", ""), "json") << text << ": " << r.body;
    EXPECT_EQ(doc["kind"], "explain");
    EXPECT_EQ(doc["rows"].size(), 1u);
    json plan = json::parse(doc["rows"][0][0].get<std::string>(), nullptr, false);
    EXPECT_TRUE(plan.is_array() && plan[0].contains("Plan")) << doc["rows"][0][0];
    return plan.is_array() ? plan[0]["Plan"] : json();
  }
  static LocalCluster* cluster_;
  static ServerProcess* server_;
  static std::string* audit_;
};
LocalCluster* ConsolePlanTest::cluster_ = nullptr;
ServerProcess* ConsolePlanTest::server_ = nullptr;
std::string* ConsolePlanTest::audit_ = nullptr;

}  // namespace

TEST_F(ConsolePlanTest, ExplainRunsAsJsonWithTheUsersOptions) {
  json p = plan_of("EXPLAIN SELECT * FROM events e JOIN customers c ON c.id = e.customer_id WHERE e.kind = 'click'");
  EXPECT_TRUE(p.contains("Total Cost"));
  EXPECT_TRUE(p.contains("Plans")) << p.dump();
  // The options the user gave are kept.
  json costless = plan_of("explain (costs off) select * from customers where id = 1");
  EXPECT_FALSE(costless.contains("Total Cost")) << costless.dump();
  json verbose = plan_of("EXPLAIN VERBOSE SELECT name FROM customers");
  EXPECT_TRUE(verbose.contains("Output")) << verbose.dump();
  // Comments and a trailing semicolon are fine; FORMAT JSON asked for is taken as it is.
  plan_of("/* why so slow? */ EXPLAIN -- the plan\n  SELECT count(*) FROM events;");
  plan_of("EXPLAIN (FORMAT JSON, SETTINGS) SELECT 1");
  // The audit line is the statement that ran.
  EXPECT_NE(read_file(*audit_).find("EXPLAIN (costs off, FORMAT JSON) select * from customers"), std::string::npos)
      << read_file(*audit_);
}

TEST_F(ConsolePlanTest, OtherFormatsStayAsAsked) {
  HttpResponse r = sql("EXPLAIN (FORMAT TEXT) SELECT * FROM customers");
  ASSERT_EQ(r.status, 200) << r.body;
  json doc = json_of(r);
  EXPECT_FALSE(doc.contains("plan_format"));
  EXPECT_NE(doc["rows"][0][0].get<std::string>().find("Seq Scan on customers"), std::string::npos) << r.body;
  EXPECT_FALSE(json_of(sql("SELECT 'EXPLAIN SELECT 1'")).contains("plan_format"));
}

TEST_F(ConsolePlanTest, AnalyzeStaysRefusedAndPositionsPointAtTheUsersText) {
  HttpResponse a = sql("EXPLAIN ANALYZE SELECT * FROM customers");
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_EQ(json_of(a)["error"]["rule"], "explain-analyze");
  HttpResponse b = sql("EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM customers");
  EXPECT_EQ(b.status, 400) << b.body;
  // 'nope' starts at character 23 of what the user wrote, whatever the console ran.
  HttpResponse missing = sql("EXPLAIN SELECT * FROM nope");
  ASSERT_EQ(missing.status, 422) << missing.body;
  EXPECT_EQ(json_of(missing)["error"]["sqlstate"], "42P01");
  EXPECT_EQ(json_of(missing)["error"]["position"], 23) << missing.body;
  HttpResponse opts = sql("EXPLAIN (verbose) SELECT nope FROM customers");
  ASSERT_EQ(opts.status, 422) << opts.body;
  EXPECT_EQ(json_of(opts)["error"]["position"], 26) << opts.body;
}
