// The console's Queries and Settings tabs over real HTTP on a cluster that preloads
// pg_stat_statements (small shared buffers, so scans read blocks; archive_mode on with
// archive_timeout 0): rows sorted by every key in both directions, PgHero's advice, the reset
// time, what to run in a database without the extension, sort/dir attacks refused with 400
// naming the parameter; the settings that are not defaults with their sources and the flags.
#include <chrono>
#include <thread>

#include "console_fixture.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using json = nlohmann::json;

namespace {

class ConsoleQueriesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("console-queries", {{"shared_preload_libraries", "'pg_stat_statements'"},
                                                 {"shared_buffers", "1MB"},
                                                 {"archive_mode", "on"},
                                                 {"archive_command", "'/bin/true'"}})
                   .release();
    cluster_->create_database("app");
    cluster_->create_database("plain");
    pg::Connection admin = connect(*cluster_, "app");
    run_sql(admin, kConsoleSchema);
    admin.exec("CREATE EXTENSION pg_stat_statements");
    admin.exec("ALTER DATABASE app SET work_mem = '7MB'");
    admin.exec("SELECT pg_stat_statements_reset()");
    // Constants are normalized away: markers are column aliases. One slow statement (mean > 100 ms over 10 calls) and one that reads the most blocks: a
    // scan of events (larger than a quarter of shared_buffers: a ring buffer, read every time).
    for (int i = 0; i < 10; ++i) admin.exec("SELECT pg_sleep(0.12) AS slow_marker");
    for (int i = 0; i < 20; ++i) admin.exec("SELECT count(*) AS scan_marker FROM events WHERE kind <> $1", {"x"});
    for (int i = 0; i < 40; ++i) admin.exec("SELECT id AS often_marker FROM customers WHERE id = $1", {i % 4 + 1});
    server_ = new ServerProcess(ServerProcess::start(
        {"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--max-connections", "40"}));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete cluster_;
  }
  static int port() { return server_->port(); }
  static json api(const std::string& target) {
    HttpResponse r = http_get(port(), target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body.substr(0, 500);
    return json_of(r);
  }
  static const json* section(const json& report, const std::string& id) {
    for (const auto& s : report["sections"]) {
      if (s["id"] == id) return &s;
    }
    return nullptr;
  }
  static json fact(const json& report, const std::string& id) {
    for (const auto& f : report["facts"]) {
      if (f["id"] == id) return f["value"];
    }
    return json();
  }
  static const json* finding(const json& report, const std::string& code) {
    for (const auto& f : report["findings"]) {
      if (f["code"] == code) return &f;
    }
    return nullptr;
  }
  // The rows of a section as objects keyed by column name.
  static std::vector<json> rows(const json& report, const std::string& id) {
    std::vector<json> out;
    const json* s = section(report, id);
    if (!s) return out;
    for (const auto& row : (*s)["rows"]) {
      json o;
      for (size_t i = 0; i < (*s)["columns"].size(); ++i) o[(*s)["columns"][i]["name"].get<std::string>()] = row[i];
      out.push_back(o);
    }
    return out;
  }

  static LocalCluster* cluster_;
  static ServerProcess* server_;
};
LocalCluster* ConsoleQueriesTest::cluster_ = nullptr;
ServerProcess* ConsoleQueriesTest::server_ = nullptr;

double number(const json& v) { return v.is_number() ? v.get<double>() : std::stod(v.get<std::string>()); }

}  // namespace

TEST_F(ConsoleQueriesTest, QueriesSortByEveryFigureInBothDirections) {
  const std::map<std::string, std::string> keys = {
      {"total_time", "total_seconds"}, {"mean_time", "mean_seconds"},        {"max_time", "max_seconds"},
      {"calls", "calls"},              {"rows", "rows"},                     {"shared_blks_hit", "shared_blks_hit"},
      {"shared_blks_read", "shared_blks_read"}};
  for (const auto& [key, column] : keys) {
    for (const std::string dir : {"desc", "asc"}) {
      SCOPED_TRACE(key + " " + dir);
      json r = api("/api/queries?sort=" + key + "&dir=" + dir);
      EXPECT_EQ(fact(r, "state"), "ready");
      EXPECT_EQ(fact(r, "order"), key);
      EXPECT_EQ(r["sort"]["key"], key);
      EXPECT_EQ(r["sort"]["dir"], dir);
      auto q = rows(r, "queries");
      ASSERT_GE(q.size(), 3u);
      for (size_t i = 1; i < q.size(); ++i) {
        if (dir == "desc") EXPECT_GE(number(q[i - 1][column]), number(q[i][column])) << i;
        else EXPECT_LE(number(q[i - 1][column]), number(q[i][column])) << i;
      }
    }
  }
  // Every figure the tab promises, for the statement run 40 times.
  json r = api("/api/queries?sort=calls");
  std::optional<json> often;
  for (const auto& q : rows(r, "queries")) {
    if (q["query"].get<std::string>().find("often_marker") != std::string::npos) often = q;
    EXPECT_EQ(q["query"].get<std::string>().find("pgshift_stats"), std::string::npos);
  }
  ASSERT_TRUE(often) << r.dump();
  EXPECT_EQ((*often)["calls"], 40);
  EXPECT_EQ((*often)["rows"], 40);
  EXPECT_NE((*often)["query"].get<std::string>().find("$1"), std::string::npos) << "normalized text";
  for (const char* c : {"total_seconds", "mean_seconds", "max_seconds", "shared_blks_hit", "shared_blks_read",
                        "cache_hit_ratio", "time_share_ratio", "role", "queryid"}) {
    EXPECT_TRUE(often->contains(c)) << c;
  }
  EXPECT_GE((*often)["max_seconds"].get<double>(), (*often)["mean_seconds"].get<double>());
  // The reset time (PostgreSQL 15: pg_stat_statements_info).
  pg::Connection admin = connect(*cluster_, "app");
  std::string reset = admin.exec("SELECT to_char(stats_reset AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') FROM "
                                 "pg_stat_statements_info").scalar();
  ASSERT_TRUE(fact(r, "stats_since").is_string()) << r.dump();
  EXPECT_EQ(fact(r, "stats_since").get<std::string>().substr(0, 19), reset);
}

TEST_F(ConsoleQueriesTest, AdviceNamesTheSlowestAndTheBiggestReader) {
  json r = api("/api/queries");
  const json* slow = finding(r, "slowest-query");
  ASSERT_TRUE(slow) << r["findings"].dump(2);
  EXPECT_NE((*slow)["message"].get<std::string>().find("slow_marker"), std::string::npos) << (*slow)["message"];
  EXPECT_NE((*slow)["message"].get<std::string>().find("10 calls"), std::string::npos) << (*slow)["message"];
  const json* read = finding(r, "most-blocks-read");
  ASSERT_TRUE(read) << r["findings"].dump(2);
  EXPECT_NE((*read)["message"].get<std::string>().find("scan_marker"), std::string::npos) << (*read)["message"];
  EXPECT_FALSE((*read)["advice"].get<std::string>().empty());
}

TEST_F(ConsoleQueriesTest, QueriesPageHasSortLinksAndEscapedText) {
  pg::Connection admin = connect(*cluster_, "app");
  admin.exec("SELECT 1 AS \"<script>alert(1)</script>\"");
  HttpResponse page = http_get(port(), "/queries?sort=mean_time&dir=asc");
  ASSERT_EQ(page.status, 200) << page.body.substr(0, 300);
  EXPECT_NE(page.body.find("aria-current=\"page\" data-tab=\"queries\""), std::string::npos);
  EXPECT_NE(page.body.find("href=\"/queries?sort=mean_time&amp;dir=desc\""), std::string::npos) << "reverses";
  EXPECT_NE(page.body.find("href=\"/queries?sort=calls&amp;dir=desc\""), std::string::npos);
  EXPECT_NE(page.body.find("aria-sort=\"ascending\""), std::string::npos);
  EXPECT_NE(page.body.find("slowest-query"), std::string::npos);
  // The statement text is data: escaped, never markup (the cache is 1 s: wait it out).
  for (int i = 0; i < 50 && page.body.find("alert(1)") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    page = http_get(port(), "/queries?sort=mean_time&dir=asc");
  }
  EXPECT_NE(page.body.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(page.body.find("<script>alert"), std::string::npos);
}

TEST_F(ConsoleQueriesTest, SortAndDirectionOutsideTheAllowListAre400NamingThem) {
  pg::Connection admin = connect(*cluster_, "app");
  const std::string before = app_checksum(admin);
  expect_refused(port(), "/api/queries", "/queries", {
      {"?sort=" + url_encode("total_time;drop table customers"), "sort"},
      {"?sort=" + url_encode("s.calls desc, (select 1)"), "sort"},
      {"?sort=" + url_encode("calls\""), "sort"},
      {"?sort=" + url_encode("cälls"), "sort"},
      {"?sort=total_seconds", "sort"},
      {"?sort=1", "sort"},
      {"?dir=" + url_encode("desc; drop table customers"), "dir"},
      {"?dir=DESC", "dir"},
      {"?sort=calls&dir=sideways", "dir"},
  });
  EXPECT_EQ(app_checksum(admin), before);
}

TEST_F(ConsoleQueriesTest, ADatabaseWithoutTheExtensionSaysWhatToRun) {
  ServerProcess plain = ServerProcess::start({"console", "--db", reader_url(*cluster_, "plain"), "--listen", "127.0.0.1:0"});
  HttpResponse r = http_get(plain.port(), "/api/queries");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json_of(r);
  EXPECT_EQ(fact(j, "state"), "not_installed") << "preloaded, not created";
  auto steps = rows(j, "setup");
  ASSERT_EQ(steps.size(), 1u) << j.dump(2);
  EXPECT_EQ(steps[0]["run"], "CREATE EXTENSION pg_stat_statements;");
  EXPECT_TRUE(finding(j, "pg-stat-statements-missing"));
  HttpResponse page = http_get(plain.port(), "/queries");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("CREATE EXTENSION pg_stat_statements;"), std::string::npos);
  EXPECT_NE(page.body.find("in database plain"), std::string::npos);
}

TEST_F(ConsoleQueriesTest, SettingsShowNonDefaultsWithSourcesAndFlags) {
  json r = api("/api/settings");
  EXPECT_EQ(r["id"], "settings");
  std::map<std::string, json> by_name;
  for (const auto& s : rows(r, "settings")) by_name[s["name"].get<std::string>()] = s;
  ASSERT_TRUE(by_name.count("work_mem")) << r.dump(2);
  EXPECT_EQ(by_name["work_mem"]["source"], "database");
  EXPECT_EQ(by_name["work_mem"]["setting"], "7168");
  ASSERT_TRUE(by_name.count("archive_mode"));
  EXPECT_EQ(by_name["archive_mode"]["source"], "configuration file");
  EXPECT_FALSE(by_name["archive_mode"]["source_file"].is_null()) << "pg_read_all_settings shows the file";
  // The diagnostics' own SET LOCAL values and the console's connection are not the server's.
  EXPECT_FALSE(by_name.count("statement_timeout")) << by_name["statement_timeout"].dump();
  EXPECT_FALSE(by_name.count("TimeZone") && by_name["TimeZone"]["setting"] == "UTC" &&
               by_name["TimeZone"]["source"] == "session");
  EXPECT_FALSE(by_name.count("application_name"));

  std::map<std::string, json> checks;
  for (const auto& c : rows(r, "checks")) checks[c["check"].get<std::string>()] = c;
  EXPECT_EQ(checks["archive-timeout"]["status"], "warning") << checks["archive-timeout"].dump();
  EXPECT_EQ(checks["pool-vs-max-connections"]["status"], "warning") << checks["pool-vs-max-connections"].dump();
  EXPECT_NE(checks["pool-vs-max-connections"]["explanation"].get<std::string>().find("40 of the 117"), std::string::npos)
      << checks["pool-vs-max-connections"].dump();
  EXPECT_EQ(checks["statement-timeout-off"]["status"], "info");
  EXPECT_EQ(checks["idle-in-transaction-timeout-off"]["status"], "info");
  EXPECT_EQ(checks["wal-level-not-logical"]["status"], "ok") << "the test clusters run wal_level = logical";
  EXPECT_EQ(checks["fsync-off"]["status"], "critical") << "the test clusters run fsync = off";
  for (const char* code : {"archive-timeout", "pool-vs-max-connections", "statement-timeout-off"}) {
    const json* f = finding(r, code);
    ASSERT_TRUE(f) << code;
    EXPECT_FALSE((*f)["advice"].get<std::string>().empty()) << code;
  }

  HttpResponse page = http_get(port(), "/settings");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("aria-current=\"page\" data-tab=\"settings\""), std::string::npos);
  EXPECT_NE(page.body.find("work_mem"), std::string::npos);
  EXPECT_NE(page.body.find("archive_timeout is 0"), std::string::npos);
}

TEST_F(ConsoleQueriesTest, ASettingWaitingForARestartIsFlagged) {
  pg::Connection admin = connect(*cluster_, "app");
  admin.exec("ALTER SYSTEM SET max_wal_senders = 17");
  admin.exec("SELECT pg_reload_conf()");
  json r;
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    r = api("/api/settings");
    if (finding(r, "pending-restart")) break;
  }
  admin.exec("ALTER SYSTEM RESET max_wal_senders");
  admin.exec("SELECT pg_reload_conf()");
  const json* f = finding(r, "pending-restart");
  ASSERT_TRUE(f) << r["findings"].dump(2);
  EXPECT_NE((*f)["message"].get<std::string>().find("max_wal_senders"), std::string::npos);
  EXPECT_EQ(fact(r, "pending_restart"), 1);
}
