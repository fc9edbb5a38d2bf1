// The console's query history over real HTTP (console/history_routes.hpp): each identity sees
// only its own statements (trusted-header identities, one proxy), no identity is 401, the new
// parameters (?outcome=, /sql?from=) attacked are 400 naming them, a cross-origin clear is 403,
// 100 per identity, --history-file survives a restart and skips a corrupt line; and the store
// itself (console::History) bounded in identities and compacting its file.
#include <sys/stat.h>
#include <unistd.h>

#include "console/history.hpp"
#include "console_fixture.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using json = nlohmann::json;

namespace {

using Header = std::pair<std::string, std::string>;
const Header kAlice{"X-Forwarded-Email", "alice@example.com"};
const Header kBob{"X-Forwarded-Email", "bob@example.com"};

class ConsoleHistoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("console-history").release();
    cluster_->create_database("app");
    pg::Connection admin = connect(*cluster_, "app");
    run_sql(admin, kConsoleSchema);
  }
  static void TearDownTestSuite() { delete cluster_; }

  static std::vector<std::string> proxied(std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--auth",
                                     "trusted-header", "--identity-header", "X-Forwarded-Email", "--trusted-proxy",
                                     "127.0.0.1/32", "--timeout", "1s"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  static HttpResponse run(int port, const std::string& sql, const Header& who) {
    return http_post_same_origin(port, "/api/sql", json{{"sql", sql}}.dump(), {who});
  }
  static json history(int port, const Header& who, const std::string& query = "") {
    HttpResponse r = http_get(port, "/api/history" + query, {who});
    EXPECT_EQ(r.status, 200) << r.body;
    return json_of(r);
  }
  static std::vector<std::string> statements(const json& doc) {
    std::vector<std::string> out;
    for (const auto& e : doc["entries"]) out.push_back(e["statement"]);
    return out;
  }
  static LocalCluster* cluster_;
};
LocalCluster* ConsoleHistoryTest::cluster_ = nullptr;

}  // namespace

TEST_F(ConsoleHistoryTest, EachIdentitySeesOnlyItsOwnStatementsWithTheirOutcomes) {
  std::string audit = fmt::format("/tmp/pgshift-console-history-audit-{}.jsonl", getpid());
  ServerProcess s = ServerProcess::start(proxied({"--audit-log", audit}));
  const int port = s.port();
  ASSERT_EQ(run(port, "SELECT 'alice-ok' AS a", kAlice).status, 200);
  ASSERT_EQ(run(port, "DELETE FROM customers", kAlice).status, 400);
  ASSERT_EQ(run(port, "SELECT 'abc'::int", kAlice).status, 422);
  ASSERT_EQ(run(port, "SELECT count(*) FROM generate_series(1, 2000000000)", kAlice).status, 422);
  ASSERT_EQ(http_get(port, "/api/tables/public/customers/count", {kAlice}).status, 200);
  ASSERT_EQ(http_get(port, "/api/tables/public/customers?sort=name", {kAlice}).status, 200);  // not a statement of hers
  ASSERT_EQ(run(port, "SELECT 'bob-ok' AS b", kBob).status, 200);

  json alice = history(port, kAlice);
  EXPECT_EQ(alice["identity"], "alice@example.com");
  EXPECT_EQ(alice["limit"], 100);
  EXPECT_EQ(alice["persisted"], false);
  ASSERT_EQ(alice["entries"].size(), 5u) << alice.dump(2);
  const json& e = alice["entries"];  // newest first
  EXPECT_EQ(e[0]["statement"], "SELECT count(*) FROM \"public\".\"customers\"");
  EXPECT_EQ(e[0]["route"], "api_table_count");
  EXPECT_EQ(e[0]["outcome"], "ok");
  EXPECT_EQ(e[0]["rows"], 1);
  EXPECT_EQ(e[1]["outcome"], "timeout");
  EXPECT_EQ(e[2]["outcome"], "error");
  EXPECT_EQ(e[2]["sqlstate"], "22P02");
  EXPECT_EQ(e[3]["outcome"], "rejected");
  EXPECT_FALSE(e[3]["rule"].get<std::string>().empty()) << e[3];
  EXPECT_EQ(e[4]["statement"], "SELECT 'alice-ok' AS a");
  EXPECT_EQ(e[4]["outcome"], "ok");
  EXPECT_GE(e[4]["duration_ms"].get<double>(), 0.0);
  EXPECT_EQ(e[4]["id"].get<std::string>().size(), 16u);
  // The id is the audit line's correlation id: the audit log stays the record.
  EXPECT_NE(read_file(audit).find("\"correlation_id\":\"" + e[4]["id"].get<std::string>() + "\""), std::string::npos);
  EXPECT_EQ(statements(history(port, kAlice, "?outcome=error")), std::vector<std::string>{"SELECT 'abc'::int"});

  json bob = history(port, kBob);
  EXPECT_EQ(statements(bob), std::vector<std::string>{"SELECT 'bob-ok' AS b"});
  EXPECT_EQ(alice.dump().find("bob-ok"), std::string::npos);
  HttpResponse bob_page = http_get(port, "/history", {kBob});
  ASSERT_EQ(bob_page.status, 200);
  EXPECT_NE(bob_page.body.find("bob-ok"), std::string::npos);
  EXPECT_EQ(bob_page.body.find("alice-ok"), std::string::npos);
  EXPECT_NE(bob_page.body.find("aria-current=\"page\" data-tab=\"history\""), std::string::npos);

  // Re-run: /sql?from=ID puts the statement into the editor and runs nothing; another identity's
  // id is not found.
  const std::string id = e[4]["id"];
  const size_t audit_lines = line_count(read_file(audit));
  HttpResponse editor = http_get(port, "/sql?from=" + id, {kAlice});
  ASSERT_EQ(editor.status, 200);
  EXPECT_NE(editor.body.find("<textarea id=\"sql-editor\""), std::string::npos);
  EXPECT_NE(editor.body.find("SELECT &#39;alice-ok&#39; AS a</textarea>"), std::string::npos) << editor.body;
  EXPECT_EQ(http_get(port, "/sql?from=" + id, {kBob}).status, 404);
  EXPECT_EQ(line_count(read_file(audit)), audit_lines) << "a GET ran a statement";
  HttpResponse alice_page = http_get(port, "/history", {kAlice});
  EXPECT_NE(alice_page.body.find("href=\"/sql?from=" + id + "\""), std::string::npos);

  // No identity: 401 everywhere.
  EXPECT_EQ(http_get(port, "/history").status, 401);
  EXPECT_EQ(http_get(port, "/api/history").status, 401);
  EXPECT_EQ(http_get(port, "/sql?from=" + id).status, 401);
  EXPECT_EQ(http_post_same_origin(port, "/api/history/clear", "").status, 401);

  // Bob clears his own: Alice's stays.
  HttpResponse cleared = http_post_same_origin(port, "/api/history/clear", "", {kBob});
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_EQ(json_of(cleared)["cleared"], 1);
  EXPECT_TRUE(history(port, kBob)["entries"].empty());
  EXPECT_EQ(history(port, kAlice)["entries"].size(), 5u);
  std::remove(audit.c_str());
}

TEST_F(ConsoleHistoryTest, AttackedParametersAndCrossOriginClearAreRefused) {
  ServerProcess s = ServerProcess::start(proxied());
  const int port = s.port();
  ASSERT_EQ(run(port, "SELECT 1", kAlice).status, 200);
  for (std::string q : {"?outcome=ok'%20OR%201=1", "?outcome=%3Cscript%3Ealert(1)%3C/script%3E",
                               "?outcome=ok;DROP%20TABLE%20customers", "?outcome=OK"}) {
    HttpResponse r = http_get(port, "/api/history" + q, {kAlice});
    EXPECT_EQ(r.status, 400) << q << ": " << r.body;
    EXPECT_EQ(json_of(r)["error"]["parameter"], "outcome") << r.body;
    HttpResponse page = http_get(port, "/history" + q, {kAlice});
    EXPECT_EQ(page.status, 400) << q;
    EXPECT_NE(page.body.find("outcome:"), std::string::npos);
    EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  }
  for (std::string q : {"?from=1'%20OR%201=1", "?from=%3Cscript%3E", "?from=../../etc/passwd",
                               "?from=ABCDEF0123456789", "?from="}) {
    HttpResponse page = http_get(port, "/sql" + q, {kAlice});
    EXPECT_EQ(page.status, 400) << q;
    EXPECT_NE(page.body.find("from:"), std::string::npos) << q;
  }
  // A well-formed id that is nobody's: 404.
  EXPECT_EQ(http_get(port, "/sql?from=0123456789abcdef", {kAlice}).status, 404);

  // Cross-origin, or without the console's header, a clear is refused and clears nothing.
  const std::string self = fmt::format("http://127.0.0.1:{}", port);
  for (const std::vector<Header>& headers :
       std::vector<std::vector<Header>>{{kAlice, {"Origin", "https://evil.example"}, {"X-Pgshift-Request", "1"}},
                                        {kAlice, {"Origin", self}},
                                        {kAlice, {"Sec-Fetch-Site", "cross-site"}, {"X-Pgshift-Request", "1"}}}) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/api/history/clear";
    r.headers = headers;
    EXPECT_EQ(http_request(port, r).status, 403);
  }
  // GET does not clear either (only the POST route exists).
  EXPECT_NE(http_get(port, "/api/history/clear", {kAlice}).status, 200);
  EXPECT_EQ(history(port, kAlice)["entries"].size(), 1u);
}

TEST_F(ConsoleHistoryTest, KeepsTheLast100AndCutsLongStatements) {
  ServerProcess s = ServerProcess::start(proxied());
  const int port = s.port();
  for (int i = 1; i <= 105; ++i) ASSERT_EQ(run(port, fmt::format("SELECT {} AS n", i), kAlice).status, 200);
  json doc = history(port, kAlice);
  ASSERT_EQ(doc["entries"].size(), 100u);
  EXPECT_EQ(doc["entries"][0]["statement"], "SELECT 105 AS n");
  EXPECT_EQ(doc["entries"][99]["statement"], "SELECT 6 AS n");

  const std::string long_sql = "SELECT 1 AS n -- " + std::string(40'000, 'x');
  ASSERT_EQ(run(port, long_sql, kAlice).status, 200);
  json e = history(port, kAlice)["entries"][0];
  EXPECT_EQ(e["cut"], true);
  EXPECT_EQ(e["statement_bytes"], long_sql.size());
  EXPECT_EQ(e["statement"].get<std::string>().size(), 16u * 1024);
  EXPECT_EQ(long_sql.rfind(e["statement"].get<std::string>(), 0), 0u);
  HttpResponse page = http_get(port, "/history", {kAlice});
  EXPECT_NE(page.body.find("cut: 40,017 bytes in all"), std::string::npos);
  // A cut statement is not offered for a re-run.
  HttpResponse rerun = http_get(port, "/sql?from=" + e["id"].get<std::string>(), {kAlice});
  EXPECT_EQ(rerun.status, 400);
  EXPECT_NE(rerun.body.find("from:"), std::string::npos);
}

TEST_F(ConsoleHistoryTest, HistoryFileSurvivesARestartAndSkipsACorruptLine) {
  std::string dir = localpg::make_private_dir("console-history");
  std::string file = dir + "/history.jsonl";
  {
    ServerProcess s = ServerProcess::start(proxied({"--history-file", file}));
    ASSERT_EQ(run(s.port(), "SELECT 'kept-1'", kAlice).status, 200);
    ASSERT_EQ(run(s.port(), "SELECT 'kept-2'", kAlice).status, 200);
    ASSERT_EQ(run(s.port(), "SELECT 'bob-gone'", kBob).status, 200);
    ASSERT_EQ(http_post_same_origin(s.port(), "/api/history/clear", "", {kBob}).status, 200);
    EXPECT_EQ(history(s.port(), kAlice)["persisted"], true);
    EXPECT_EQ(s.terminate(), 0);
  }
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string text = read_file(file);
  EXPECT_EQ(line_count(text), 4u) << text;
  // A line that is not an entry, between good ones.
  {
    std::ofstream out(file, std::ios::app);
    out << "{\"identity\": \"alice@example.com\", \"entry\": {\"broken\n";
  }
  {
    ServerProcess s = ServerProcess::start(proxied({"--history-file", file}));
    EXPECT_NE(s.output().find("line 5 skipped"), std::string::npos) << s.output();
    ASSERT_EQ(run(s.port(), "SELECT 'kept-3'", kAlice).status, 200);
    EXPECT_EQ(statements(history(s.port(), kAlice)),
              (std::vector<std::string>{"SELECT 'kept-3'", "SELECT 'kept-2'", "SELECT 'kept-1'"}));
    EXPECT_TRUE(history(s.port(), kBob)["entries"].empty()) << "a cleared history stays cleared";
    EXPECT_EQ(s.terminate(), 0);
  }
  // Not cleared without the file: the history is in memory only.
  {
    ServerProcess s = ServerProcess::start(proxied());
    EXPECT_TRUE(history(s.port(), kAlice)["entries"].empty());
  }
  // A symbolic link where the file goes is refused (nothing is written through it).
  ASSERT_EQ(::symlink(file.c_str(), (dir + "/link.jsonl").c_str()), 0);
  CliRun refused = run_pgshift({"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--history-file",
                                dir + "/link.jsonl"});
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  EXPECT_NE(refused.err.find("symbolic link"), std::string::npos) << refused.err;
  localpg::remove_tree(dir);
}

namespace {

audit::Record record(const std::string& identity, const std::string& sql) {
  audit::Record r;
  r.surface = "console";
  r.identity = identity;
  r.correlation_id = audit::new_correlation_id();
  r.statement = sql;
  r.extra = {{"route", "api_sql"}};
  return r;
}

}  // namespace

TEST(ConsoleHistoryStore, AFloodOfIdentitiesStaysBoundedAndTheFileIsCompacted) {
  std::string dir = localpg::make_private_dir("console-history-store");
  std::string file = dir + "/h.jsonl";
  console::History::Limits limits;
  limits.per_identity = 5;
  limits.identities = 10;
  limits.compact_slack = 20;
  {
    console::History h(file, limits);
    for (int i = 0; i < 1'000; ++i) h.add(record(fmt::format("user{}", i), "SELECT 1"));
    EXPECT_EQ(h.identities(), 10u);
    // The ten most recent identities are kept.
    EXPECT_EQ(h.entries("user999").size(), 1u);
    EXPECT_EQ(h.entries("user990").size(), 1u);
    EXPECT_TRUE(h.entries("user989").empty());
    for (int i = 0; i < 50; ++i) h.add(record("user999", fmt::format("SELECT {}", i)));
    EXPECT_EQ(h.entries("user999").size(), 5u);
    // Kept: 9 + 5 entries; the file never held more than 2 x kept + slack lines.
    EXPECT_LE(line_count(read_file(file)), 2 * 14u + 20u);
  }
  {
    console::History h(file, limits);
    EXPECT_EQ(h.identities(), 10u);
    EXPECT_EQ(h.entries("user999")[0]["statement"], "SELECT 49");
    EXPECT_EQ(h.entries("user999").size(), 5u);
  }
  // The bytes bound: one identity's big statements push out the others.
  console::History::Limits small = limits;
  small.total_bytes = 64 * 1024;
  console::History m("", small);
  for (int i = 0; i < 10; ++i) m.add(record(fmt::format("u{}", i), std::string(20'000, 'x')));
  EXPECT_LE(m.bytes(), 64u * 1024);
  EXPECT_LT(m.identities(), 10u);
  localpg::remove_tree(dir);
}
