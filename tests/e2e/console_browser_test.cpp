// The console in a real browser: a real cluster, the real `pgshift console` (read-only role,
// --base-path /ops/db), Debian's chromium driven by playwright-core
// (tests/e2e/browser/console_browser.cjs, run once for the whole file). The script reports
// what a person would see; the cases below judge it against the database, `pgshift query` and
// the gate. Screenshots of every tab go to <build>/artifacts/console/*.png.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "sqlgate/sqlgate.hpp"
#include "support/browser_script.hpp"
#include "support/support.hpp"
#include "util/process.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int kRows = 250;
constexpr int kLimit = 25;
constexpr int kFilterId = 42;

// Values chosen for presentation: UUID-shaped bytea, NULL and '' side by side, a long text,
// CSV's hard cases (comma, quote, newline), unicode, exact numerics.
constexpr std::string_view kSchema = R"sql(
CREATE TABLE events (
  id bigint PRIMARY KEY,
  uid bytea NOT NULL,
  note text,
  amount numeric(12,2),
  created_at timestamptz NOT NULL
);
INSERT INTO events
  SELECT g,
         uuid_send(gen_random_uuid()),
         CASE g % 10 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN repeat('long ', 100)
                     WHEN 3 THEN 'a, "quoted"' || chr(10) || 'line' WHEN 4 THEN 'ünïcødé ✓ 🐘'
                     ELSE 'note ' || g END,
         (g * 1.25)::numeric(12,2),
         timestamptz '2026-01-01 00:00:00+00' + g * interval '1 hour'
    FROM generate_series(1, 250) g;
CREATE INDEX events_created_at ON events (created_at);
CREATE TABLE event_tags (event_id bigint REFERENCES events, tag text CHECK (tag <> ''), PRIMARY KEY (event_id, tag));
INSERT INTO event_tags SELECT g, 'tag ' || g % 3 FROM generate_series(1, 250) g;
CREATE EXTENSION pg_stat_statements;
ANALYZE events;
CREATE ROLE console_reader LOGIN PASSWORD 'pgshift-local-secret';
GRANT pg_read_all_data, pg_monitor TO console_reader;
)sql";

constexpr std::string_view kExportSql =
    "SELECT id, uid, note, amount, created_at FROM events WHERE id <= 40 ORDER BY id";
constexpr std::string_view kRejectedSql = "SELECT id,\n       pg_sleep(1)\n  FROM events";
constexpr std::string_view kErrorSql = "SELECT 1 / (id - id) FROM events";
constexpr std::string_view kCastSql = "SELECT id,\n       'abc'::int\n  FROM events";
// pg_sleep is refused by the gate: a long count runs into the console's --timeout instead.
constexpr std::string_view kSlowSql = "SELECT count(*) FROM generate_series(1, 2000000000)";
constexpr int kTimeoutMs = 2'000;  // the console's --timeout

std::string artifacts_dir() {
  fs::path dir = fs::path(PGSHIFT_BINARY).parent_path() / "artifacts" / "console";
  fs::create_directories(dir);
  return dir.string();
}

class ConsoleBrowser : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(fs::exists(std::string(PGSHIFT_SOURCE_DIR) + "/node_modules/playwright-core"))
        << "run scripts/install-deps (npm packages for the browser tests)";
    cluster_ = start_cluster("console_browser", {{"shared_preload_libraries", "'pg_stat_statements'"}}).release();
    cluster_->create_database("app");
    pg::Connection conn = connect(*cluster_, "app");
    run_sql(conn, kSchema);
    reader_url_ = cluster_->url("app", "console_reader");

    artifacts_ = artifacts_dir();
    work_ = localpg::make_private_dir("console-browser");
    int port = localpg::free_port();
    base_ = "http://127.0.0.1:" + std::to_string(port) + "/ops/db";
    util::ProcessSpec spec;
    spec.argv = {PGSHIFT_BINARY, "console", "--listen", "127.0.0.1:" + std::to_string(port), "--auth", "none",
                 "--base-path", "/ops/db", "--timeout", std::to_string(kTimeoutMs) + "ms", "--audit-log",
                 work_ + "/audit.jsonl"};
    spec.env = {{"PGSHIFT_DB_URL", reader_url_}, {"NO_COLOR", "1"}};
    spec.output_file = artifacts_ + "/console.log";
    spec.parent_death_signal = SIGTERM;
    fs::remove(spec.output_file);
    console_ = new util::Child(util::spawn(spec));

    json config = {{"base", base_},
                   {"artifacts", artifacts_},
                   {"downloads", work_},
                   {"limit", kLimit},
                   {"sqlExport", kExportSql},
                   {"sqlRejected", kRejectedSql},
                   {"sqlError", kErrorSql},
                   {"sqlCast", kCastSql},
                   {"sqlSlow", kSlowSql},
                   {"table", {{"schema", "public"}, {"name", "events"}}},
                   {"filterId", kFilterId}};
    BrowserRun run = run_browser_script("console_browser.cjs", config, work_, util::Millis(240'000));
    ASSERT_EQ(run.exit_code, 0) << "browser script failed:\n" << run.err << "\nconsole log:\n" << read_file(artifacts_ + "/console.log");
    seen_ = new json(std::move(run.seen));
    audit_ = new std::string(read_file(work_ + "/audit.jsonl"));
  }

  static void TearDownTestSuite() {
    stop_spawned(console_);
    delete seen_;
    delete audit_;
    if (!work_.empty()) localpg::remove_tree(work_);
    delete cluster_;
  }

  void SetUp() override {
    if (seen_ == nullptr) FAIL() << "the browser run failed (see the suite's setup failure)";
  }

  static const json& seen() { return *seen_; }

  static CliRun query(const std::string& format) {
    return run_pgshift({"query", "--db", reader_url_, "--limit", std::to_string(kLimit), "--format", format,
                        std::string(kExportSql)});
  }

  static LocalCluster* cluster_;
  static util::Child* console_;
  static json* seen_;
  static std::string* audit_;  // the console's audit log after the browser run
  static std::string reader_url_, base_, artifacts_, work_;
};

LocalCluster* ConsoleBrowser::cluster_ = nullptr;
util::Child* ConsoleBrowser::console_ = nullptr;
json* ConsoleBrowser::seen_ = nullptr;
std::string* ConsoleBrowser::audit_ = nullptr;
std::string ConsoleBrowser::reader_url_, ConsoleBrowser::base_, ConsoleBrowser::artifacts_, ConsoleBrowser::work_;

std::vector<std::string> column(const json& rows, size_t i) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.at(i).get<std::string>());
  return out;
}

}  // namespace

TEST_F(ConsoleBrowser, EveryTabOpensInTheLayoutWithAScreenshot) {
  const std::vector<std::string> tabs = {"overview", "tables",   "indexes", "queries", "activity",
                                         "replication", "backups", "settings", "sql",   "migration"};
  ASSERT_EQ(seen()["tabs"].size(), tabs.size());
  for (size_t i = 0; i < tabs.size(); ++i) {
    const json& t = seen()["tabs"][i];
    SCOPED_TRACE(tabs[i]);
    EXPECT_EQ(t["tab"], tabs[i]);
    EXPECT_EQ(t["status"], 200);
    EXPECT_EQ(t["active"], tabs[i]);
    EXPECT_FALSE(t["h1"].get<std::string>().empty());
    EXPECT_NE(t["title"].get<std::string>().find("pgshift console"), std::string::npos);
    EXPECT_NE(t["csp"].get<std::string>().find("script-src 'self'"), std::string::npos) << t["csp"];
    EXPECT_GT(fs::file_size(t["screenshot"].get<std::string>()), 10'000u);
  }
  EXPECT_GE(seen()["tabs"][0]["tables"].get<int>(), 1) << "the overview shows its sections";
  EXPECT_GE(seen()["tabs"][1]["tables"].get<int>(), 1) << "the tables tab lists the tables";
}

TEST_F(ConsoleBrowser, NoContentSecurityPolicyViolationsOrScriptErrors) {
  EXPECT_TRUE(seen()["cspViolations"].empty()) << seen()["cspViolations"].dump(2);
  EXPECT_TRUE(seen()["pageErrors"].empty()) << seen()["pageErrors"].dump(2);
  for (const auto& m : seen()["console"]) {
    std::string text = m["text"];
    EXPECT_EQ(text.find("Content Security Policy"), std::string::npos) << text;
    // The only errors a session may log are the statuses it provoked: the refused statements
    // and the bad sort parameter.
    if (text.find("Failed to load resource") != std::string::npos) {
      std::string url = m["url"];
      EXPECT_TRUE(url.ends_with("/ops/db/api/sql") || url.ends_with("?sort=no_such_column")) << m.dump();
    } else {
      ADD_FAILURE() << m.dump();
    }
  }
}

TEST_F(ConsoleBrowser, CtrlEnterRunsTheQueryAndShowsTypedTruncatedRows) {
  const json& sql = seen()["sql"];
  std::vector<std::pair<std::string, std::string>> want = {
      {"id", "bigint"}, {"uid", "bytea"}, {"note", "text"}, {"amount", "numeric(12,2)"}, {"created_at", "timestamp with time zone"}};
  ASSERT_EQ(sql["columns"].size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(sql["columns"][i]["name"], want[i].first);
    EXPECT_EQ(sql["columns"][i]["type"], want[i].second);
  }
  ASSERT_EQ(sql["rows"].size(), static_cast<size_t>(kLimit));
  EXPECT_EQ(column(sql["rows"], 0).front(), "1");
  EXPECT_EQ(column(sql["rows"], 0).back(), std::to_string(kLimit));
  EXPECT_EQ(sql["rows"][9][2], "NULL");   // id 10: NULL
  EXPECT_EQ(sql["rows"][10][2], "''");    // id 11: the empty string, visibly different
  std::string status = sql["status"];
  EXPECT_NE(status.find(std::to_string(kLimit) + " rows"), std::string::npos) << status;
  EXPECT_NE(status.find("truncated"), std::string::npos) << status;
  EXPECT_TRUE(std::regex_search(status, std::regex(R"( in [0-9.]+ m?s)"))) << status;
}

TEST_F(ConsoleBrowser, EachExportIsByteForByteWhatPgshiftQueryPrints) {
  for (const std::string format : {"csv", "json", "markdown"}) {
    SCOPED_TRACE(format);
    CliRun cli = query(format);
    ASSERT_EQ(cli.exit_code, 0) << cli.err;
    std::string downloaded = read_file(seen()["exports"][format]["file"].get<std::string>());
    EXPECT_FALSE(downloaded.empty());
    EXPECT_EQ(downloaded, cli.out);
    std::string name = seen()["exports"][format]["suggested"];
    EXPECT_TRUE(name.ends_with(format == "markdown" ? ".md" : "." + format)) << name;
  }
  EXPECT_NE(seen()["exportStatus"].get<std::string>().find("Exported"), std::string::npos);
}

TEST_F(ConsoleBrowser, TheGatesRejectionShowsRuleReasonAndCaret) {
  sqlgate::Verdict v = sqlgate::check(kRejectedSql);
  ASSERT_FALSE(v.accepted);
  const json& r = seen()["rejected"];
  EXPECT_EQ(r["rule"], sqlgate::rule_name(v.rule));
  EXPECT_EQ(r["rule"], "denied-function");
  EXPECT_NE(r["message"].get<std::string>().find("pg_sleep"), std::string::npos) << r["message"];
  // The same picture as `pgshift query` prints: the line and a caret under pg_sleep.
  EXPECT_EQ(r["caret"], sqlgate::caret_excerpt(kRejectedSql, v.position));
  EXPECT_NE(r["caret"].get<std::string>().find("LINE 2:"), std::string::npos);
  size_t at = std::string(kRejectedSql).find("pg_sleep");
  EXPECT_EQ(r["selection"][0], at) << "the editor selects the offending text";
  EXPECT_NE(r["status"].get<std::string>().find("HTTP 400"), std::string::npos);
}

TEST_F(ConsoleBrowser, AnSqlErrorShowsItsSqlstate) {
  EXPECT_EQ(seen()["sqlError"]["sqlstate"], "SQLSTATE 22012");
  EXPECT_NE(seen()["sqlError"]["message"].get<std::string>().find("division by zero"), std::string::npos);
}

TEST_F(ConsoleBrowser, CmdEnterRunsAndATimeoutIsShownAsSuch) {
  const json& t = seen()["timeout"];
  EXPECT_NE(t["head"].get<std::string>().find("Timed out"), std::string::npos) << t.dump();
  EXPECT_NE(t["status"].get<std::string>().find("HTTP 422"), std::string::npos) << t.dump();
  EXPECT_EQ(t["rowsLeft"], 0) << "no stale result stays under an error";
}

TEST_F(ConsoleBrowser, ATimeoutRunsOncePerClick) {
  // Every audit line of the slow statement: one keypress must be one execution.
  std::vector<json> runs;
  std::istringstream lines(*audit_);
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j["statement"] == kSlowSql) runs.push_back(j);
  }
  ASSERT_EQ(runs.size(), 1u) << "the browser resent the statement:\n" << *audit_;
  EXPECT_EQ(runs[0]["outcome"], "timeout");
  // The user waits for one timeout, not two.
  EXPECT_LT(seen()["timeout"]["elapsedMs"].get<int>(), kTimeoutMs * 3 / 2 + 500) << seen()["timeout"].dump();
}

TEST_F(ConsoleBrowser, AServerErrorsPositionGetsACaret) {
  const json& c = seen()["sqlCast"];
  EXPECT_EQ(c["sqlstate"], "SQLSTATE 22P02");
  size_t at = std::string(kCastSql).find("'abc'");
  int position = static_cast<int>(at) + 1;  // ASCII text: characters are bytes
  EXPECT_EQ(c["caret"], sqlgate::caret_excerpt(kCastSql, position)) << c.dump();
  EXPECT_NE(c["caret"].get<std::string>().find("LINE 2:"), std::string::npos) << c.dump();
  EXPECT_EQ(c["selection"][0], at) << "the editor selects the offending text";
}

TEST_F(ConsoleBrowser, TableBrowserSortsPagesAndShowsValuesAsTyped) {
  const json& b = seen()["browser"];
  EXPECT_NE(b["url"].get<std::string>().find("/ops/db/tables/public/events"), std::string::npos);
  EXPECT_EQ(b["headers"], json({"id", "uid", "note", "amount", "created_at"}));
  // Descending by id: the first page starts at the highest id, the second continues below it.
  EXPECT_NE(b["descUrl"].get<std::string>().find("sort=id&dir=desc"), std::string::npos);
  std::vector<std::string> desc = column(b["desc"], 0);
  ASSERT_FALSE(desc.empty());
  EXPECT_EQ(desc.front(), std::to_string(kRows));
  for (size_t i = 1; i < desc.size(); ++i) EXPECT_EQ(std::stoll(desc[i]), std::stoll(desc[i - 1]) - 1);
  std::vector<std::string> page2 = column(b["page2"], 0);
  ASSERT_FALSE(page2.empty());
  EXPECT_NE(b["page2Url"].get<std::string>().find("page=2"), std::string::npos);
  EXPECT_NE(b["page2Url"].get<std::string>().find("dir=desc"), std::string::npos) << "paging keeps the sort";
  EXPECT_EQ(std::stoll(page2.front()), kRows - static_cast<long long>(desc.size()));

  // UUID-shaped bytea as a UUID, equal to the stored bytes.
  pg::Connection conn = connect(*cluster_, "app");
  std::string want_uid = conn.exec("SELECT encode(uid, 'hex') FROM events WHERE id = $1", {desc.front()}).scalar();
  std::string shown = b["desc"][0][1];
  ASSERT_EQ(shown.size(), 36u) << shown;
  EXPECT_EQ(std::regex_replace(shown, std::regex("-"), ""), want_uid);
  // Long text cut with its length; NULL and '' distinct (ids 250 = NULL, 242 = long, 241 = '').
  EXPECT_EQ(b["desc"][0][2], "NULL");
  EXPECT_NE(b["desc"][8][2].get<std::string>().find("(500 chars)"), std::string::npos) << b["desc"][8][2];
  EXPECT_EQ(b["desc"][9][2], "''");
}

TEST_F(ConsoleBrowser, TableBrowserFiltersWithChipsAndRemovesThem) {
  const json& b = seen()["browser"];
  EXPECT_TRUE(b["valueHiddenForIsNull"].get<bool>());
  EXPECT_NE(b["nullUrl"].get<std::string>().find("f=note%3Ais%20null%3A"), std::string::npos) << b["nullUrl"];
  EXPECT_EQ(b["nullChips"], 1);
  pg::Connection conn = connect(*cluster_, "app");
  int64_t nulls = conn.exec("SELECT count(*) FROM events WHERE note IS NULL").scalar_int64();
  std::vector<std::string> notes = column(b["nullRows"], 2);
  EXPECT_EQ(static_cast<int64_t>(notes.size()), nulls);
  for (const auto& n : notes) EXPECT_EQ(n, "NULL");

  // Both filters: no row has id 42 and a NULL note (42 % 10 == 2); removing the chip leaves id 42.
  EXPECT_EQ(b["bothChips"], 2);
  EXPECT_TRUE(b["bothRows"].empty()) << b["bothRows"].dump();
  EXPECT_EQ(b["removedUrl"].get<std::string>().find("f=note"), std::string::npos);
  EXPECT_NE(b["removedUrl"].get<std::string>().find("f=id%3A%3D%3A42"), std::string::npos) << b["removedUrl"];
  ASSERT_EQ(b["removedRows"].size(), 1u);
  EXPECT_EQ(b["removedRows"][0][0], std::to_string(kFilterId));
}

TEST_F(ConsoleBrowser, AnUnknownSortColumnIsAnErrorPageNamingIt) {
  EXPECT_EQ(seen()["badSort"]["status"], 400);
  std::string text = seen()["badSort"]["text"];
  EXPECT_NE(text.find("sort"), std::string::npos) << text;
  EXPECT_NE(text.find("no_such_column"), std::string::npos) << text;
}

TEST_F(ConsoleBrowser, TheStructureViewLinksRowsAndOtherTables) {
  const json& s = seen()["structure"];
  EXPECT_TRUE(s["url"].get<std::string>().ends_with("/ops/db/tables/public/events/structure")) << s["url"];
  for (const char* h : {"Columns", "Indexes", "Triggers"}) {
    bool found = false;
    for (const auto& t : s["h2"]) found |= t.get<std::string>().find(h) == 0;
    EXPECT_TRUE(found) << h << " in " << s["h2"].dump();
  }
  EXPECT_EQ(s["columns"], json({"id", "uid", "note", "amount", "created_at"}));
  EXPECT_GT(fs::file_size(s["screenshot"].get<std::string>()), 10'000u);
  EXPECT_TRUE(s["referencingUrl"].get<std::string>().ends_with("/tables/public/event_tags/structure")) << s.dump();
  EXPECT_NE(s["referencingH1"].get<std::string>().find("public.event_tags"), std::string::npos);
  EXPECT_TRUE(s["rowsUrl"].get<std::string>().ends_with("/tables/public/event_tags")) << s["rowsUrl"];
  EXPECT_EQ(s["rowsTable"], 1);
}

TEST_F(ConsoleBrowser, TheQueriesTabSortsByAClickedHeader) {
  const json& q = seen()["queries"];
  ASSERT_FALSE(q["desc"].empty()) << q.dump();
  // The calls column, as shown (grouped digits), in both orders.
  size_t col = 0;
  for (size_t i = 0; i < q["headers"].size(); ++i) {
    if (q["headers"][i].get<std::string>().rfind("calls", 0) == 0) col = i;
  }
  ASSERT_GT(col, 0u) << q["headers"].dump();
  auto calls = [&](const json& rows) {
    std::vector<long long> out;
    for (const auto& r : rows) out.push_back(std::stoll(std::regex_replace(r[col].get<std::string>(), std::regex(","), "")));
    return out;
  };
  std::vector<long long> desc = calls(q["desc"]), asc = calls(q["asc"]);
  EXPECT_TRUE(std::is_sorted(desc.rbegin(), desc.rend())) << q["desc"].dump();
  EXPECT_TRUE(std::is_sorted(asc.begin(), asc.end())) << q["asc"].dump();
  EXPECT_GT(fs::file_size(q["screenshot"].get<std::string>()), 10'000u);
}

TEST_F(ConsoleBrowser, TheFinderFiltersAsOneTypesAndCountsOnRequest) {
  const json& f = seen()["finder"];
  EXPECT_TRUE(f["visible"].get<bool>());
  // "vent" matches events and event_tags (every table is a candidate, not only the listed ones).
  EXPECT_EQ(f["matches"], json({"public.event_tags", "public.events"})) << f.dump();  // by name
  EXPECT_NE(f["status"].get<std::string>().find("2 of"), std::string::npos) << f["status"];
  EXPECT_EQ(f["count"], std::to_string(kRows)) << "the exact count, from the server";
  EXPECT_NE(f["noneStatus"].get<std::string>().find("0 of"), std::string::npos);
  EXPECT_TRUE(f["noneHidden"].get<bool>());
  EXPECT_GT(fs::file_size(f["screenshot"].get<std::string>()), 10'000u);
  // The count ran as a user's statement: audited.
  EXPECT_NE(audit_->find(R"("statement":"SELECT count(*) FROM \"public\".\"events\"")"), std::string::npos);
}
