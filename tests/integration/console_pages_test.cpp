// `pgshift console` over real HTTP on a real cluster: every page and /api endpoint answers 200
// with its key content, the SQL API and its exports, --base-path, the startup refusals.
#include "console_fixture.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using json = nlohmann::json;

namespace {

class ConsolePagesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("console-pages").release();
    cluster_->create_database("app");
    pg::Connection admin = connect(*cluster_, "app");
    run_sql(admin, kConsoleSchema);
    server_ = new ServerProcess(ServerProcess::start(
        {"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--row-limit", "500"}));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete cluster_;
  }
  static int port() { return server_->port(); }
  static HttpResponse sql(const std::string& text, const std::string& query = "", int limit = 0) {
    json body = {{"sql", text}};
    if (limit) body["limit"] = limit;
    return http_post_same_origin(port(), "/api/sql" + query, body.dump());
  }

  static LocalCluster* cluster_;
  static ServerProcess* server_;
};
LocalCluster* ConsolePagesTest::cluster_ = nullptr;
ServerProcess* ConsolePagesTest::server_ = nullptr;

}  // namespace

TEST_F(ConsolePagesTest, EveryApiEndpointAnswersWithItsReport) {
  const std::map<std::string, std::string> expected = {
      {"overview", "cache_hit_ratio"}, {"tables", "customers"},     {"indexes", "events_kind"},
      {"activity", "sessions"},        {"replication", "slots"},    {"backups", "archiver"},
      {"migration", "no-migration"},   {"queries", "pg-stat-statements-missing"},
      {"settings", "archive-timeout"}};
  for (const auto& [tab, content] : expected) {
    HttpResponse r = http_get(port(), "/api/" + tab);
    ASSERT_EQ(r.status, 200) << tab << ": " << r.body;
    EXPECT_NE(r.header("content-type").find("application/json"), std::string::npos);
    EXPECT_EQ(r.header("cache-control"), "no-store");
    json j = json_of(r);
    EXPECT_EQ(j["id"], tab == "backups" ? "archiver" : tab == "queries" ? "top_queries" : tab) << tab;
    EXPECT_NE(r.body.find(content), std::string::npos) << tab << " lacks " << content;
  }
  json backups = json_of(http_get(port(), "/api/backups"));
  EXPECT_EQ(backups["backup_source"], false);
  EXPECT_EQ(backups["backup_source_message"], "no backup source configured");
}

TEST_F(ConsolePagesTest, EveryPageRendersInTheLayout) {
  const std::map<std::string, std::string> pages = {
      {"/", "Overview"},         {"/tables", "customers"},     {"/indexes", "events_kind"},
      {"/activity", "Activity"}, {"/replication", "Replication"}, {"/backups", "No backup source configured"},
      {"/sql", "Ctrl"},          {"/migration", "Migration"},  {"/tables/public/customers", "Carol O&#39;Hara"},
      {"/queries", "ALTER SYSTEM SET shared_preload_libraries"}, {"/settings", "Non-default settings"}};
  for (const auto& [path, content] : pages) {
    HttpResponse r = http_get(port(), path);
    ASSERT_EQ(r.status, 200) << path << ": " << r.body.substr(0, 300);
    EXPECT_NE(r.header("content-type").find("text/html"), std::string::npos) << path;
    EXPECT_NE(r.body.find(content), std::string::npos) << path << " lacks " << content;
    EXPECT_NE(r.body.find("/assets/app.js"), std::string::npos) << path;
    EXPECT_EQ(r.body.find("<script>"), std::string::npos) << path << " has inline script";
    EXPECT_NE(r.header("content-security-policy").find("script-src 'self'"), std::string::npos);
  }
  HttpResponse js = http_get(port(), "/assets/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_NE(js.header("content-type").find("javascript"), std::string::npos);
  EXPECT_EQ(http_get(port(), "/assets/app.css").status, 200);
  EXPECT_EQ(http_get(port(), "/assets/nope.js").status, 404);
  EXPECT_EQ(http_get(port(), "/tables/public/nope").status, 404);
}

TEST_F(ConsolePagesTest, QueriesWithoutPgStatStatementsSayWhatToRun) {
  // Neither preloaded nor created: both steps, the restart between them; a state, not a 500.
  HttpResponse r = http_get(port(), "/api/queries?sort=calls");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json_of(r);
  json state, steps;
  for (const auto& f : j["facts"]) {
    if (f["id"] == "state") state = f["value"];
  }
  for (const auto& s : j["sections"]) {
    if (s["id"] == "setup") steps = s["rows"];
  }
  EXPECT_EQ(state, "missing") << j.dump(2);
  ASSERT_EQ(steps.size(), 3u) << j.dump(2);
  EXPECT_EQ(steps[0][1], "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';");
  EXPECT_NE(steps[1][1].get<std::string>().find("restart"), std::string::npos);
  EXPECT_EQ(steps[2][1], "CREATE EXTENSION pg_stat_statements;");
}

TEST_F(ConsolePagesTest, SqlApiReturnsTypedColumnsAndRows) {
  HttpResponse r = sql("SELECT id, name, note, score FROM customers ORDER BY id", "", 2);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json_of(r);
  ASSERT_EQ(j["columns"].size(), 4u);
  EXPECT_EQ(j["columns"][0]["name"], "id");
  EXPECT_EQ(j["columns"][0]["type"], "integer");
  EXPECT_EQ(j["columns"][3]["type"], "numeric(6,2)");
  EXPECT_EQ(j["rows"].size(), 2u);
  EXPECT_EQ(j["rows"][0][1], "Alice");
  EXPECT_EQ(j["rows"][0][2], "");       // empty string
  EXPECT_TRUE(j["rows"][1][2].is_null());  // NULL
  EXPECT_EQ(j["truncated"], true);
  EXPECT_EQ(j["row_count"], 2);
  EXPECT_EQ(j["correlation_id"].get<std::string>().size(), 16u);
  EXPECT_TRUE(j.contains("elapsed_ms"));
  // The limit is capped by --row-limit.
  json capped = json_of(sql("SELECT * FROM events", "", 100000));
  EXPECT_EQ(capped["rows"].size(), 500u);
  EXPECT_EQ(capped["limit"], 500);
}

TEST_F(ConsolePagesTest, SqlApiErrors) {
  HttpResponse rejected = sql("DELETE FROM customers");
  EXPECT_EQ(rejected.status, 400);
  json e = json_of(rejected)["error"];
  EXPECT_FALSE(e["rule"].get<std::string>().empty());
  EXPECT_GT(e["position"].get<int>(), 0);
  HttpResponse error = sql("SELECT 1/0");
  EXPECT_EQ(error.status, 422);
  EXPECT_EQ(json_of(error)["error"]["sqlstate"], "22012");
  HttpResponse missing = sql("SELECT * FROM no_such_table");
  EXPECT_EQ(missing.status, 422);
  EXPECT_EQ(json_of(missing)["error"]["sqlstate"], "42P01");
  EXPECT_EQ(http_post_same_origin(port(), "/api/sql", "not json").status, 400);
  EXPECT_EQ(http_post_same_origin(port(), "/api/sql", R"({"sql": 1})").status, 400);
  EXPECT_EQ(http_post_same_origin(port(), "/api/sql?format=xml", R"({"sql": "SELECT 1"})").status, 400);
  EXPECT_EQ(http_post_same_origin(port(), "/api/sql", R"({"sql": "SELECT 1", "limit": -3})").status, 400);
}

TEST_F(ConsolePagesTest, ExportsAreTheFormatsOfPgshiftQuery) {
  const std::string statement = "SELECT id, name, note, blob FROM customers ORDER BY id";
  for (const char* format : {"csv", "json", "markdown"}) {
    HttpResponse r = sql(statement, std::string("?format=") + format, 3);
    ASSERT_EQ(r.status, 200) << format << ": " << r.body;
    EXPECT_NE(r.header("content-disposition").find("attachment; filename="), std::string::npos) << format;
    CliRun cli = run_pgshift({"query", "--db", reader_url(*cluster_), "--format", format, "--limit", "3", statement});
    ASSERT_EQ(cli.exit_code, 0) << cli.err;
    EXPECT_EQ(r.body, cli.out) << format;
  }
}

TEST_F(ConsolePagesTest, BasePathServesEverythingUnderThePrefix) {
  ServerProcess prefixed = ServerProcess::start(
      {"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--base-path", "/ops/db"});
  HttpResponse page = http_get(prefixed.port(), "/ops/db/tables");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("/ops/db/assets/app.css"), std::string::npos);
  EXPECT_NE(page.body.find("/ops/db/tables/public/customers"), std::string::npos);
  EXPECT_EQ(http_get(prefixed.port(), "/ops/db/api/overview").status, 200);
  EXPECT_EQ(http_get(prefixed.port(), "/ops/db/assets/app.js").status, 200);
  EXPECT_EQ(http_get(prefixed.port(), "/ops/db/healthz").status, 200);
  EXPECT_EQ(http_get(prefixed.port(), "/tables").status, 404);
  EXPECT_EQ(http_post_same_origin(prefixed.port(), "/ops/db/api/sql", R"({"sql": "SELECT 1"})").status, 200);
}

TEST_F(ConsolePagesTest, StartupRefusals) {
  // A superuser role.
  CliRun super = run_pgshift({"console", "--db", cluster_->url("app"), "--listen", "127.0.0.1:0"});
  EXPECT_EQ(super.exit_code, 2) << super.err;
  EXPECT_NE(super.err.find("superuser"), std::string::npos) << super.err;
  EXPECT_NE(super.err.find("--allow-privileged-role"), std::string::npos);
  expect_no_password(super.err);
  // --auth none off loopback.
  CliRun open = run_pgshift({"console", "--db", reader_url(*cluster_), "--listen", "0.0.0.0:0"});
  EXPECT_EQ(open.exit_code, 2);
  EXPECT_NE(open.err.find("--auth none"), std::string::npos) << open.err;
  // An unknown YAML key, named.
  std::string yaml = fmt::format("/tmp/pgshift-console-{}.yaml", getpid());
  std::ofstream(yaml) << "listen: 127.0.0.1:0\nrow-limt: 5\n";
  CliRun bad = run_pgshift({"console", "--db", reader_url(*cluster_), "-c", yaml});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown key 'row-limt'"), std::string::npos) << bad.err;
  std::remove(yaml.c_str());
  // No database.
  CliRun none = run_pgshift({"console", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("PGSHIFT_DB_URL"), std::string::npos);
}

TEST_F(ConsolePagesTest, DatabaseFromTheEnvironmentAndSettingsFromYaml) {
  std::string yaml = fmt::format("/tmp/pgshift-console-ok-{}.yaml", getpid());
  std::ofstream(yaml) << "listen: 127.0.0.1:0\nrow-limit: 3\nauth: none\n";
  ServerProcess s = ServerProcess::start({"console", "-c", yaml}, {{"PGSHIFT_DB_URL", reader_url(*cluster_)}});
  json j = json_of(http_post_same_origin(s.port(), "/api/sql", R"({"sql": "SELECT * FROM events"})"));
  EXPECT_EQ(j["rows"].size(), 3u);
  std::remove(yaml.c_str());
  expect_no_password(s.output());
}
