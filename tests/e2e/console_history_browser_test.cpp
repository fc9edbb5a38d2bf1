// The History tab in a real browser: a real cluster, the real `pgshift console` (read-only role,
// --base-path /ops/db), Debian's chromium driven by playwright-core
// (tests/e2e/browser/console_history.cjs, run once for the file). The script runs statements in
// the SQL tab, opens the History tab, re-opens one in the editor with a click, runs it, and
// clears the history; the cases judge what it saw. Screenshots: <build>/artifacts/console/
// history.png, history-rerun.png, history-cleared.png.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/browser_script.hpp"
#include "support/support.hpp"
#include "util/process.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2));
INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 20) g;
CREATE ROLE console_reader LOGIN PASSWORD 'pgshift-local-secret';
GRANT pg_read_all_data, pg_monitor TO console_reader;
)sql";
constexpr std::string_view kOk = "SELECT count(*) AS orders,\n       sum(total) AS total\n  FROM orders";
constexpr std::string_view kRejected = "DELETE FROM orders";
constexpr std::string_view kError = "SELECT 'abc'::int";

class ConsoleHistoryBrowser : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(fs::exists(std::string(PGSHIFT_SOURCE_DIR) + "/node_modules/playwright-core"))
        << "run scripts/install-deps (npm packages for the browser tests)";
    cluster_ = start_cluster("console_history_browser").release();
    cluster_->create_database("app");
    pg::Connection conn = connect(*cluster_, "app");
    run_sql(conn, kSchema);

    fs::path artifacts = fs::path(PGSHIFT_BINARY).parent_path() / "artifacts" / "console";
    fs::create_directories(artifacts);
    work_ = localpg::make_private_dir("console-history-browser");
    int port = localpg::free_port();
    const std::string base = "http://127.0.0.1:" + std::to_string(port) + "/ops/db";
    util::ProcessSpec spec;
    spec.argv = {PGSHIFT_BINARY, "console", "--listen", "127.0.0.1:" + std::to_string(port), "--auth", "none",
                 "--base-path", "/ops/db", "--audit-log", work_ + "/audit.jsonl"};
    spec.env = {{"PGSHIFT_DB_URL", cluster_->url("app", "console_reader")}, {"NO_COLOR", "1"}};
    spec.output_file = work_ + "/console.log";
    spec.parent_death_signal = SIGTERM;
    console_ = new util::Child(util::spawn(spec));

    json config = {{"base", base},
                   {"artifacts", artifacts.string()},
                   {"sqlOk", kOk},
                   {"sqlRejected", kRejected},
                   {"sqlError", kError}};
    BrowserRun run = run_browser_script("console_history.cjs", config, work_, util::Millis(180'000));
    ASSERT_EQ(run.exit_code, 0) << "browser script failed:\n" << run.err << "\nconsole log:\n" << read_file(work_ + "/console.log");
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

  static LocalCluster* cluster_;
  static util::Child* console_;
  static json* seen_;
  static std::string* audit_;
  static std::string work_;
};

LocalCluster* ConsoleHistoryBrowser::cluster_ = nullptr;
util::Child* ConsoleHistoryBrowser::console_ = nullptr;
json* ConsoleHistoryBrowser::seen_ = nullptr;
std::string* ConsoleHistoryBrowser::audit_ = nullptr;
std::string ConsoleHistoryBrowser::work_;

}  // namespace

TEST_F(ConsoleHistoryBrowser, TheHistoryTabListsTheStatementsNewestFirstWithTheirOutcomes) {
  const json& h = seen()["history"];
  EXPECT_EQ(h["status"], 200);
  EXPECT_EQ(h["active"], "history");
  EXPECT_EQ(h["h1"], "History");
  ASSERT_EQ(h["rows"].size(), 3u) << h.dump(2);
  EXPECT_EQ(h["rows"][0]["statement"], kError);
  EXPECT_EQ(h["rows"][0]["outcome"], "error");
  EXPECT_NE(h["rows"][0]["outcomeText"].get<std::string>().find("22P02"), std::string::npos);
  EXPECT_EQ(h["rows"][1]["statement"], kRejected);
  EXPECT_NE(h["rows"][1]["outcomeText"].get<std::string>().find("refused by the gate"), std::string::npos);
  EXPECT_EQ(h["rows"][2]["statement"], kOk);
  EXPECT_EQ(h["rows"][2]["outcome"], "ok");
  EXPECT_EQ(h["rows"][2]["rows"], "1");
  EXPECT_GT(fs::file_size(h["screenshot"].get<std::string>()), 10'000u);
}

TEST_F(ConsoleHistoryBrowser, OneClickPutsTheStatementInTheEditorAndOnlyRunningItRunsIt) {
  const json& r = seen()["rerun"];
  const std::string id = seen()["history"]["rows"][2]["id"];
  EXPECT_NE(r["url"].get<std::string>().find("/ops/db/sql?from=" + id), std::string::npos) << r["url"];
  EXPECT_EQ(r["editor"], kOk);
  EXPECT_EQ(r["requestsOnOpen"], 0) << "opening the entry must not run it";
  EXPECT_EQ(r["resultBeforeRun"], "");
  EXPECT_EQ(r["cells"], json({"20", "315.00"}));
  ASSERT_EQ(r["historyAfter"].size(), 4u);
  EXPECT_EQ(r["historyAfter"][0]["statement"], kOk);
  // Four statements audited: the three typed and the one run again; opening the entry is none.
  EXPECT_EQ(line_count(*audit_), 4u) << *audit_;
}

TEST_F(ConsoleHistoryBrowser, ClearMyHistoryEmptiesItWithoutScriptErrors) {
  EXPECT_TRUE(seen()["cleared"]["empty"].get<bool>());
  EXPECT_EQ(seen()["cleared"]["rows"], 0);
  EXPECT_TRUE(seen()["cspViolations"].empty()) << seen()["cspViolations"].dump(2);
  EXPECT_TRUE(seen()["pageErrors"].empty()) << seen()["pageErrors"].dump(2);
  for (const auto& m : seen()["console"]) {
    // The refused and failed statements' 400 and 422 are the only errors the session provokes.
    const std::string text = m["text"];
    EXPECT_TRUE(text.find("400") != std::string::npos || text.find("422") != std::string::npos) << text;
  }
}
