// Two console views in a real browser (Debian's chromium through playwright-core,
// tests/e2e/browser/console_export_plan.cjs, run once for the file): a table page's export
// links (its filter and sort) and the files one click on them gives, judged against
// `pgshift query` over the same rows; and an EXPLAIN on the SQL tab drawn as an indented tree,
// its costliest node highlighted (checked against the downloaded EXPLAIN (FORMAT JSON)).
// Screenshots: <build>/artifacts/console/table-export.png and sql-plan.png.
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
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 500) g;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers, status text, amount numeric(10,2), note text);
INSERT INTO orders SELECT g, 1 + g % 500, (ARRAY['paid', 'open', 'refunded'])[1 + g % 3], (g % 997) * 1.5,
  CASE WHEN g % 50 = 0 THEN 'gift | wrap' || chr(10) || 'second line' ELSE NULL END
  FROM generate_series(1, 20000) g;
ANALYZE;
CREATE ROLE console_reader LOGIN PASSWORD 'pgshift-local-secret';
GRANT pg_read_all_data, pg_monitor TO console_reader;
)sql";
constexpr std::string_view kExplain =
    "EXPLAIN SELECT c.name, count(*), sum(o.amount)\n  FROM orders o JOIN customers c ON c.id = o.customer_id\n"
    " WHERE o.status = 'paid'\n GROUP BY c.name\n ORDER BY 3 DESC\n LIMIT 10";
// The rows the table page (sort=amount desc, status = paid) exports: ties broken by the key.
constexpr std::string_view kSameRows =
    "SELECT id, customer_id, status, amount, note FROM orders WHERE status = 'paid' ORDER BY amount DESC, id DESC";

class ConsoleExportPlan : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(fs::exists(std::string(PGSHIFT_SOURCE_DIR) + "/node_modules/playwright-core"))
        << "run scripts/install-deps (npm packages for the browser tests)";
    cluster_ = start_cluster("console_export_plan").release();
    cluster_->create_database("app");
    pg::Connection conn = connect(*cluster_, "app");
    run_sql(conn, kSchema);
    reader_url_ = cluster_->url("app", "console_reader");
    fs::path dir = fs::path(PGSHIFT_BINARY).parent_path() / "artifacts" / "console";
    fs::create_directories(dir);
    artifacts_ = dir.string();
    work_ = localpg::make_private_dir("console-export-plan");
    const int port = localpg::free_port();
    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    util::ProcessSpec spec;
    spec.argv = {PGSHIFT_BINARY, "console", "--listen", "127.0.0.1:" + std::to_string(port), "--auth", "none"};
    spec.env = {{"PGSHIFT_DB_URL", reader_url_}, {"NO_COLOR", "1"}};
    spec.output_file = artifacts_ + "/console-export-plan.log";
    spec.parent_death_signal = SIGTERM;
    console_ = new util::Child(util::spawn(spec));
    json config = {{"base", base},
                   {"artifacts", artifacts_},
                   {"downloads", work_},
                   {"tablePath", "/tables/public/orders?sort=amount&dir=desc&f=status%3A%3D%3Apaid"},
                   {"explain", kExplain}};
    BrowserRun run = run_browser_script("console_export_plan.cjs", config, work_, util::Millis(180'000));
    ASSERT_EQ(run.exit_code, 0) << "browser script failed:\n" << run.err << "\nconsole log:\n" << read_file(spec.output_file);
    seen_ = new json(std::move(run.seen));
  }
  static void TearDownTestSuite() {
    stop_spawned(console_);
    delete seen_;
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
  static std::string reader_url_, artifacts_, work_;
};
LocalCluster* ConsoleExportPlan::cluster_ = nullptr;
util::Child* ConsoleExportPlan::console_ = nullptr;
json* ConsoleExportPlan::seen_ = nullptr;
std::string ConsoleExportPlan::reader_url_, ConsoleExportPlan::artifacts_, ConsoleExportPlan::work_;

// Exclusive cost of each node in pre-order (the tree's order on the page), as app.js (pgshiftPlan) computes it.
void exclusive_costs(const json& node, std::vector<std::pair<std::string, double>>& out) {
  double own = node["Total Cost"].get<double>();
  if (node.contains("Plans")) {
    for (const auto& c : node["Plans"]) {
      const std::string rel = c.value("Parent Relationship", "");
      if (rel != "InitPlan" && rel != "SubPlan") own -= c["Total Cost"].get<double>();
    }
  }
  out.emplace_back(node["Node Type"].get<std::string>(), std::max(0.0, own));
  if (node.contains("Plans")) {
    for (const auto& c : node["Plans"]) exclusive_costs(c, out);
  }
}

}  // namespace

TEST_F(ConsoleExportPlan, TheTablePagesExportLinksCarryItsFilterAndSort) {
  const json& t = seen()["table"];
  EXPECT_EQ(t["status"], 200);
  EXPECT_EQ(t["rowsShown"], 50);
  ASSERT_EQ(t["links"].size(), 3u);
  for (const auto& l : t["links"]) {
    const std::string href = l["href"];
    EXPECT_NE(href.find("/api/tables/public/orders/export?format=" + l["format"].get<std::string>() +
                        "&sort=amount&dir=desc&f=status%3A%3D%3Apaid"),
              std::string::npos)
        << href;
  }
  EXPECT_NE(t["exportsText"].get<std::string>().find("up to 100,000 rows"), std::string::npos) << t["exportsText"];
  EXPECT_GT(fs::file_size(t["screenshot"].get<std::string>()), 10'000u);
  // Every page of the view, byte for byte what `pgshift query` prints for the same rows.
  for (const std::string format : {"csv", "markdown"}) {
    SCOPED_TRACE(format);
    CliRun cli = run_pgshift({"query", "--db", reader_url_, "--limit", "100000", "--format", format, std::string(kSameRows)});
    ASSERT_EQ(cli.exit_code, 0) << cli.err;
    const std::string downloaded = read_file(t["downloads"][format]["file"].get<std::string>());
    EXPECT_EQ(downloaded.size(), cli.out.size());
    EXPECT_TRUE(downloaded == cli.out);
    EXPECT_EQ(t["downloads"][format]["suggested"], format == "csv" ? "public.orders.csv" : "public.orders.md");
  }
  EXPECT_NE(read_file(t["downloads"]["markdown"]["file"].get<std::string>()).find("gift \\| wrap<br>second line"),
            std::string::npos);
}

TEST_F(ConsoleExportPlan, ExplainIsAnIndentedTreeWithTheCostliestNodeHighlighted) {
  const json& p = seen()["plan"];
  const json& nodes = p["nodes"];
  ASSERT_GE(nodes.size(), 5u) << p.dump(2);  // limit, sort, aggregate, join, scans
  EXPECT_EQ(p["cells"], 0) << "a plan is not a table of 80-character cells";
  // Indented: children sit further right than their parent, deepest at least three levels down.
  int deepest = 0;
  for (size_t i = 1; i < nodes.size(); ++i) {
    deepest = std::max(deepest, nodes[i]["depth"].get<int>());
    if (nodes[i]["depth"] > nodes[i - 1]["depth"]) {
      EXPECT_GT(nodes[i]["left"], nodes[i - 1]["left"]);
    }
  }
  EXPECT_GE(deepest, 4);
  // The downloaded EXPLAIN (FORMAT JSON) is the plan drawn: same nodes, same order.
  EXPECT_EQ(p["download"]["suggested"].get<std::string>().substr(0, 13), "pgshift-plan-");
  json doc = json::parse(read_file(p["download"]["file"].get<std::string>()));
  std::vector<std::pair<std::string, double>> costs;
  exclusive_costs(doc[0]["Plan"], costs);
  ASSERT_EQ(costs.size(), nodes.size());
  size_t hottest = 0;
  for (size_t i = 0; i < costs.size(); ++i) {
    EXPECT_EQ(nodes[i]["op"], costs[i].first);
    if (costs[i].second > costs[hottest].second) hottest = i;
  }
  int hot = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i]["hot"].get<bool>()) {
      ++hot;
      EXPECT_EQ(i, hottest) << nodes.dump(2);
    }
  }
  EXPECT_EQ(hot, 1);
  EXPECT_NE(p["legend"].get<std::string>().find("EXPLAIN ANALYZE is refused"), std::string::npos);
  EXPECT_GT(fs::file_size(p["screenshot"].get<std::string>()), 10'000u);
}

TEST_F(ConsoleExportPlan, NoContentSecurityPolicyViolationsOrScriptErrors) {
  EXPECT_TRUE(seen()["cspViolations"].empty()) << seen()["cspViolations"].dump(2);
  EXPECT_TRUE(seen()["pageErrors"].empty()) << seen()["pageErrors"].dump(2);
  EXPECT_TRUE(seen()["console"].empty()) << seen()["console"].dump(2);
}
