// console/pages: the layout, the report tabs, the SQL page and the error page, rendered from
// JSON in the documented shapes (stats/report.hpp), including hostile values and wrong shapes.
#include "console/pages.hpp"

#include <gtest/gtest.h>

#include "unit/console/csp_check.hpp"
#include "stats/report.hpp"
#include "util/redact.hpp"

using namespace pgshift;
using console::PageContext;
using console::test::expect_csp_clean;
using nlohmann::json;

namespace {

PageContext ctx(std::string tab, std::string base = "/ops/db") {
  return PageContext{std::move(base), "alice@example.com", std::move(tab), "reader@127.0.0.1:5432/app"};
}

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

json overview_report() {
  stats::Report r;
  r.id = "overview";
  r.title = "Overview";
  r.server_version_num = 150004;
  r.facts = {{"database_size_bytes", "Database size", 1536, "bytes", "pg_database_size"},
             {"uptime_seconds", "Uptime", 3725.2, "seconds", ""},
             {"long_uptime", "Long uptime", 3 * 86400 + 4 * 3600 + 10, "seconds", ""},
             {"cache_hit_ratio", "Cache hit ratio", 0.994, "ratio", ""},
             {"almost_all", "Almost all", 0.99996, "ratio", ""},
             {"commits", "Commits", 1234567, "count", ""},
             {"big_count", "Big", "9007199254740993", "count", ""},
             {"oldest_xact_seconds", "Oldest transaction", nullptr, "seconds", ""},
             {"server_version", "Version", "15.4 (Debian)", "", ""}};
  stats::Section s;
  s.id = "connections";
  s.title = "Connections by state";
  s.explanation = "Sessions per state; compare with max_connections.";
  s.columns = {{"state", "text"}, {"count", "count"}, {"oldest_seconds", "seconds"}, {"since", "timestamp"}};
  s.rows = {{"active", 3, 12.5, "2026-12-01T19:41:39.123Z"}, {nullptr, 1, nullptr, nullptr}};
  stats::Section empty;
  empty.id = "sequences";
  empty.title = "Sequences near exhaustion";
  empty.columns = {{"sequence", "text"}};
  stats::Finding f{stats::Severity::critical, "xid-wraparound", "db app", "age 1600000000 > 1500000000",
                   "VACUUM FREEZE the oldest tables"};
  stats::Finding w{stats::Severity::warning, "cache-hit-ratio", "", "hit ratio 0.90 < 0.99", "more shared_buffers"};
  s.findings = {w};
  r.sections = {s, empty};
  r.findings = {f, w};
  return r.to_json();
}

}  // namespace

TEST(ConsoleLayout, TabsHeaderAndAssetsUnderTheBasePath) {
  std::string html = console::render_report_page(ctx("indexes"), overview_report());
  expect_csp_clean(html, "/ops/db");
  const char* tabs[] = {"Overview", "Tables",   "Indexes", "Queries", "Activity",
                        "Replication", "Backups", "Settings", "SQL", "Migration"};
  size_t last = 0;
  for (const char* t : tabs) {
    size_t at = html.find(std::string(">") + t + "</a>");
    ASSERT_NE(at, std::string::npos) << t;
    EXPECT_GT(at, last) << t << " out of order";
    last = at;
  }
  EXPECT_NE(html.find("<a href=\"/ops/db/\" class=\"tab\" data-tab=\"overview\">"), std::string::npos);
  EXPECT_NE(html.find("href=\"/ops/db/indexes\" class=\"tab active\" aria-current=\"page\""), std::string::npos);
  EXPECT_EQ(count(html, "aria-current"), 1u);
  EXPECT_NE(html.find("<body data-base-path=\"/ops/db\" data-tab=\"indexes\">"), std::string::npos);
  EXPECT_NE(html.find("alice@example.com"), std::string::npos);
  EXPECT_NE(html.find("reader@127.0.0.1:5432/app"), std::string::npos);
  EXPECT_NE(html.find(">read-only</span>"), std::string::npos);
}

TEST(ConsoleLayout, EmptyBasePathGivesRootLinks) {
  std::string html = console::render_sql_page(ctx("sql", ""));
  expect_csp_clean(html, "");
  EXPECT_NE(html.find("<a href=\"/\" class=\"tab\" data-tab=\"overview\">"), std::string::npos);
  EXPECT_NE(html.find("href=\"/tables\""), std::string::npos);
  EXPECT_NE(html.find("data-base-path=\"\""), std::string::npos);
}

TEST(ConsoleLayout, HostileIdentityDatabaseAndBasePathAreEscaped) {
  PageContext c{"/x\"><script>alert(1)</script>", "<img src=x onerror=alert(1)>", "overview",
                "u@h:1/\"db'<b>"};
  std::string html = console::render_report_page(c, overview_report());
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html.find("data-base-path=\"/x&quot;&gt;&lt;script&gt;"), std::string::npos);
}

TEST(ConsoleReport, FactsAreTypedCards) {
  std::string html = console::render_report_page(ctx("overview"), overview_report());
  EXPECT_NE(html.find("<title>Overview · pgshift console</title>"), std::string::npos);
  EXPECT_NE(html.find("PostgreSQL 15.4"), std::string::npos);
  EXPECT_NE(html.find("<span title=\"1,536 bytes\">1.5 kB</span>"), std::string::npos);
  EXPECT_NE(html.find(">1h02m</span>"), std::string::npos);
  EXPECT_NE(html.find(">3d 04h</span>"), std::string::npos);
  EXPECT_NE(html.find(">99.4%</div>"), std::string::npos);
  EXPECT_NE(html.find(">99.99%</div>"), std::string::npos) << "0.99996 must not round to 100.0%";
  EXPECT_NE(html.find(">1,234,567</div>"), std::string::npos);
  EXPECT_NE(html.find(">9,007,199,254,740,993</div>"), std::string::npos);  // beyond 2^53, exact
  EXPECT_NE(html.find("data-fact=\"oldest_xact_seconds\""), std::string::npos);
  EXPECT_NE(html.find("15.4 (Debian)"), std::string::npos);
  EXPECT_NE(html.find("title=\"pg_database_size\""), std::string::npos);
}

TEST(ConsoleReport, FindingsAreCalloutsMostSevereFirstWithAdvice) {
  std::string html = console::render_report_page(ctx("overview"), overview_report());
  size_t critical = html.find("class=\"callout sev-critical\" data-code=\"xid-wraparound\"");
  size_t warning = html.find("class=\"callout sev-warning\" data-code=\"cache-hit-ratio\"");
  ASSERT_NE(critical, std::string::npos);
  ASSERT_NE(warning, std::string::npos);
  EXPECT_LT(critical, warning);
  EXPECT_EQ(count(html, "data-code=\"cache-hit-ratio\""), 1u) << "a section's finding is shown once";
  EXPECT_NE(html.find("<span class=\"badge sev-critical\">critical</span>"), std::string::npos);
  EXPECT_NE(html.find("<p class=\"advice\">VACUUM FREEZE the oldest tables</p>"), std::string::npos);
  EXPECT_NE(html.find("<code class=\"object\">db app</code>"), std::string::npos);
}

TEST(ConsoleReport, SectionsAreTablesWithTypedCellsAndEmptyStates) {
  std::string html = console::render_report_page(ctx("overview"), overview_report());
  EXPECT_NE(html.find("<h2>Connections by state <span class=\"count\">2 rows</span></h2>"), std::string::npos);
  EXPECT_NE(html.find("Sessions per state; compare with max_connections."), std::string::npos);
  EXPECT_NE(html.find("<th class=\"t-count num\">count</th>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\"><span title=\"12.5 s\">12.5s</span></td>"), std::string::npos);
  EXPECT_NE(html.find(">2026-12-01 19:41:39 UTC</time>"), std::string::npos);
  EXPECT_NE(html.find("<td><span class=\"nil\" title=\"NULL\">—</span></td>"), std::string::npos);
  EXPECT_NE(html.find("id=\"section-sequences\""), std::string::npos);
  EXPECT_NE(html.find("<p class=\"empty-state\">No rows.</p>"), std::string::npos);
}

TEST(ConsoleReport, TablesTabLinksEachTableToItsBrowser) {
  stats::Report r;
  r.id = "tables";
  r.title = "Tables";
  stats::Section s;
  s.id = "tables";
  s.title = "Tables";
  s.columns = {{"schema", "text"}, {"name", "text"}, {"total_bytes", "bytes"}};
  s.rows = {{"public", "orders", 8192}, {"we ird", "a/b\"<c>?", 0}};
  r.sections = {s};
  std::string html = console::render_report_page(ctx("tables"), r.to_json());
  expect_csp_clean(html, "/ops/db");
  EXPECT_NE(html.find("<a href=\"/ops/db/tables/public/orders\" class=\"table-link\">orders</a>"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"/ops/db/tables/we%20ird/a%2Fb%22%3Cc%3E%3F\" class=\"table-link\">a/b&quot;&lt;c&gt;?</a>"),
            std::string::npos);
  EXPECT_NE(html.find("<p class=\"all-clear\">Nothing to act on.</p>"), std::string::npos);
}

TEST(ConsoleReport, IndexNamesAreNotTakenForTables) {
  json r = {{"id", "indexes"}, {"title", "Indexes"},
            {"sections", {{{"id", "unused"}, {"title", "Unused"},
                           {"columns", {{{"name", "schema"}, {"type", "text"}}, {{"name", "name"}, {"type", "text"}}}},
                           {"rows", json::array({json::array({"public", "orders_pkey"})})}}}}};
  std::string html = console::render_report_page(ctx("indexes"), r);
  EXPECT_EQ(html.find("table-link"), std::string::npos);
  EXPECT_NE(html.find("orders_pkey"), std::string::npos);
}

TEST(ConsoleReport, HostileValuesAreEscapedEverywhere) {
  const std::string evil = "<script>alert('x')</script>\"'&";
  json r = {{"id", evil}, {"title", evil}, {"server_version_num", 150004},
            {"facts", {{{"id", evil}, {"label", evil}, {"value", evil}, {"unit", ""}, {"hint", evil}}}},
            {"sections", {{{"id", evil}, {"title", evil}, {"explanation", evil},
                           {"columns", {{{"name", evil}, {"type", evil}}}},
                           {"rows", {{evil}}}}}},
            {"findings", {{{"severity", evil}, {"code", evil}, {"object", evil}, {"message", evil}, {"advice", evil}}}}};
  std::string html = console::render_report_page(ctx("overview"), r);
  expect_csp_clean(html, "/ops/db");
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("'x'"), std::string::npos);
  EXPECT_GE(count(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&#39;&amp;"), 10u);
  EXPECT_NE(html.find("class=\"callout sev-info\""), std::string::npos) << "an unknown severity is shown as info";
}

TEST(ConsoleReport, UnexpectedShapesRenderWithoutThrowing) {
  const json shapes[] = {
      json::array(),
      json("a string"),
      json::object(),
      json{{"title", 42}, {"facts", "nope"}, {"sections", {1, "x", nullptr}}, {"findings", {{1, 2}}}},
      json{{"sections", {{{"columns", {{{"name", "a"}}}}, {"rows", {"not a row", {1, 2, 3}, json::object()}}}}}},
      json{{"facts", {{{"value", {{"nested", true}}}, {"unit", "bytes"}}, {{"value", "x"}, {"unit", "ratio"}}, 5}}}};
  for (const auto& shape : shapes) {
    std::string html;
    EXPECT_NO_THROW(html = console::render_report_page(ctx("overview"), shape)) << shape.dump();
    EXPECT_NE(html.find("</html>"), std::string::npos);
  }
  EXPECT_NE(console::render_report_page(ctx("overview"), json::array()).find("error-box"), std::string::npos);
}

TEST(ConsoleReport, BackupsTabShowsTheEmptyInventoryState) {
  json r = {{"id", "archiver"}, {"title", "Backups"}, {"facts", json::array()}, {"sections", json::array()},
            {"findings", json::array()}};
  EXPECT_NE(console::render_report_page(ctx("backups"), r).find("No backup source configured"), std::string::npos);
  EXPECT_EQ(console::render_report_page(ctx("overview"), r).find("No backup source configured"), std::string::npos);
  r["sections"] = {{{"id", "base_backups"}, {"title", "Base backups"}, {"columns", json::array()}, {"rows", json::array()}}};
  EXPECT_EQ(console::render_report_page(ctx("backups"), r).find("No backup source configured"), std::string::npos);
}

TEST(ConsoleSqlPage, HasTheEditorRunLimitAndExports) {
  std::string html = console::render_sql_page(ctx("sql"));
  expect_csp_clean(html, "/ops/db");
  for (const char* id : {"id=\"sql-form\"", "id=\"sql-editor\"", "id=\"sql-run\"", "id=\"sql-limit\"", "id=\"sql-status\"",
                         "id=\"sql-error\"", "id=\"sql-result\"", "data-export=\"csv\"", "data-export=\"json\"",
                         "data-export=\"markdown\"", "<kbd>Ctrl</kbd>+<kbd>Enter</kbd>"}) {
    EXPECT_NE(html.find(id), std::string::npos) << id;
  }
  EXPECT_NE(html.find("class=\"tab active\" aria-current=\"page\" data-tab=\"sql\""), std::string::npos);
}

TEST(ConsoleErrorPage, ShowsStatusAndEscapedRedactedMessage) {
  util::register_secret("s3cr3t-console-pw");
  std::string html = console::render_error_page(ctx("tables"), 400,
                                                "parameter sort: <b>no such column</b> (password s3cr3t-console-pw)");
  expect_csp_clean(html, "/ops/db");
  EXPECT_NE(html.find("<span class=\"status\">400</span> Bad request"), std::string::npos);
  EXPECT_NE(html.find("parameter sort: &lt;b&gt;no such column&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(html.find("s3cr3t-console-pw"), std::string::npos);
  EXPECT_NE(html.find("<title>400 Bad request · pgshift console</title>"), std::string::npos);
  EXPECT_NE(console::render_error_page(ctx(""), 503, "busy").find("503</span> Busy"), std::string::npos);
  EXPECT_NE(console::render_error_page(ctx(""), 599, "").find("Server error"), std::string::npos);
}

TEST(ConsoleReport, AWideSingleRowSectionIsShownAsNameValuePairs) {
  json columns = json::array();
  json row = json::array();
  for (int i = 0; i < 8; ++i) {
    columns.push_back({{"name", "c" + std::to_string(i)}, {"type", i == 0 ? "bytes" : "text"}});
    row.push_back(i == 0 ? json(2048) : json("v" + std::to_string(i)));
  }
  json r = {{"id", "archiver"}, {"title", "WAL archiving"},
            {"facts", {{{"id", "standby"}, {"label", "Standby"}, {"value", false}, {"unit", ""}},
                       {{"id", "version"}, {"label", "PostgreSQL"}, {"value", "15.18 (Debian 15.18-0+deb12u1)"}, {"unit", ""}}}},
            {"sections", {{{"id", "archiver"}, {"title", "Archiver"}, {"columns", columns}, {"rows", json::array({row})}}}}};
  std::string html = console::render_report_page(ctx("backups"), r);
  EXPECT_NE(html.find("<table class=\"data report record\">"), std::string::npos);
  EXPECT_NE(html.find("<tr><th>c0</th><td><span title=\"2,048 bytes\">2.0 kB</span></td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<tr><th>c7</th><td>v7</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"fact-value\">no</div>"), std::string::npos) << "booleans read yes/no";
  EXPECT_NE(html.find("<div class=\"fact-value long\">15.18 (Debian"), std::string::npos);

  r["sections"][0]["columns"][1] = {{"name", "active_pid"}, {"type", "id"}};  // stats::column_type's
  r["sections"][0]["rows"][0][1] = 12345;
  EXPECT_NE(console::render_report_page(ctx("backups"), r).find("<tr><th>active_pid</th><td>12345</td></tr>"),
            std::string::npos) << "process ids are not grouped like counts";

  columns.erase(columns.end() - 2, columns.end());  // 6 columns: an ordinary table
  r["sections"][0]["columns"] = columns;
  EXPECT_EQ(console::render_report_page(ctx("backups"), r).find("record"), std::string::npos);
}

TEST(ConsoleReport, ASectionCutAtItsLimitSaysHowManyQualified) {
  stats::Report r;
  r.id = "indexes";
  r.title = "Indexes";
  stats::Section cut;
  cut.id = "unused";
  cut.title = "Unused indexes";
  cut.columns = {{"index", "text"}};
  cut.rows = {{"a"}, {"b"}};
  cut.total_rows = 485;
  stats::Section whole = cut;
  whole.id = "duplicate";
  whole.total_rows = -1;
  r.sections = {cut, whole};
  json j = r.to_json();
  EXPECT_EQ(j["sections"][0]["total_rows"], 485);
  EXPECT_FALSE(j["sections"][1].contains("total_rows"));
  std::string html = console::render_report_page(ctx("indexes"), j);
  EXPECT_NE(html.find("<span class=\"count\">2 of 485 rows shown</span>"), std::string::npos) << html;
  EXPECT_NE(html.find("<span class=\"count\">2 rows</span>"), std::string::npos);
}

TEST(ConsoleReport, ASortableSectionsHeadersAreSortLinks) {
  stats::Report r;
  r.id = "top_queries";
  r.title = "Top queries";
  stats::Section q;
  q.id = "queries";
  q.title = "Top queries";
  q.columns = {{"query", "text"}, {"calls", "count"}, {"mean_seconds", "seconds"}, {"x\"<y", "text"}};
  q.rows = {{"SELECT <b>", 3, 0.5, "v"}};
  r.sections = {q};
  json j = r.to_json();
  j["sort"] = {{"section", "queries"},
               {"path", "/queries"},
               {"key", "mean_time"},
               {"dir", "desc"},
               {"columns", {{"calls", "calls"}, {"mean_seconds", "mean_time"}, {"x\"<y", "a\"&b"}}}};
  std::string html = console::render_report_page(ctx("queries"), j);
  expect_csp_clean(html, "/ops/db");
  // The current column reverses, the others sort descending; one row stays a table (headers).
  EXPECT_NE(html.find("<a class=\"sort-link current\" href=\"/ops/db/queries?sort=mean_time&amp;dir=asc\" "
                      "data-sort=\"mean_time\" aria-sort=\"descending\">mean_seconds \u25BC</a>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<a class=\"sort-link\" href=\"/ops/db/queries?sort=calls&amp;dir=desc\" data-sort=\"calls\">calls</a>"),
            std::string::npos);
  EXPECT_NE(html.find("href=\"/ops/db/queries?sort=a%22%26b&amp;dir=desc\" data-sort=\"a&quot;&amp;b\">x&quot;&lt;y</a>"),
            std::string::npos)
      << "keys and names escaped";
  EXPECT_NE(html.find("<th class=\"t-text\">query</th>"), std::string::npos) << "a column without a key is plain";
  EXPECT_NE(html.find("SELECT &lt;b&gt;"), std::string::npos);
  // Another section of the same report is not sortable.
  j["sort"]["section"] = "other";
  EXPECT_EQ(console::render_report_page(ctx("queries"), j).find("sort-link"), std::string::npos);
}

TEST(ConsoleStructure, EverythingIsShownEscapedAndLinked) {
  json doc = json::parse(R"json({
    "schema": "Sales.EU ☃", "name": "Order \"Lines\" <2>", "kind": "table", "row_estimate": 1200,
    "size_bytes": 65536, "table_bytes": 49152, "index_bytes": 16384, "comment": "<i>lines</i>",
    "columns": [{"name": "id", "type": "bigint", "nullable": false, "default": null, "identity": "always",
                 "generated": null, "comment": null},
                {"name": "sku", "type": "text", "nullable": true, "default": "'<none>'::text", "identity": null,
                 "generated": null, "comment": "stock <keeping> unit"}],
    "primary_key": ["id"],
    "constraints": [{"name": "qty_check", "type": "check", "columns": ["qty"], "definition": "CHECK ((qty > 0))",
                     "validated": false}],
    "foreign_keys": [{"name": "fk", "columns": ["customer_id"],
                      "references": {"schema": "public", "table": "cust/omers", "columns": ["id"]},
                      "definition": "FOREIGN KEY (customer_id) REFERENCES \"cust/omers\"(id)"}],
    "referenced_by": [{"name": "notes_fk", "schema": "public", "table": "notes", "columns": ["line_id"],
                       "referenced_columns": ["id"], "definition": "..."}],
    "indexes": [{"name": "bad_idx", "definition": "CREATE INDEX bad_idx ON x (sku)", "method": "btree",
                 "primary": false, "unique": false, "valid": false, "size_bytes": 8192, "scans": 12345}],
    "triggers": [{"name": "touch", "definition": "CREATE TRIGGER touch BEFORE UPDATE ...", "enabled": "disabled"}],
    "row_security": {"enabled": true, "forced": true},
    "policies": [{"name": "own", "command": "SELECT", "permissive": false, "roles": ["reader", "public"],
                  "using": "(customer_id > 0)", "with_check": null}],
    "partition_key": null, "partition_of": {"schema": "public", "table": "parent", "bound": "FOR VALUES IN (1)"},
    "partitions": []})json");
  std::string html = console::render_table_structure(ctx("tables"), doc);
  expect_csp_clean(html, "/ops/db");
  EXPECT_NE(html.find("Order &quot;Lines&quot; &lt;2&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<2>"), std::string::npos);
  EXPECT_EQ(html.find("<i>lines"), std::string::npos);
  EXPECT_NE(html.find("stock &lt;keeping&gt; unit"), std::string::npos);
  EXPECT_NE(html.find("&#39;&lt;none&gt;&#39;::text"), std::string::npos);
  EXPECT_NE(html.find("generated always"), std::string::npos);
  EXPECT_NE(html.find("title=\"primary key\">PK"), std::string::npos);
  EXPECT_NE(html.find("not validated"), std::string::npos);
  EXPECT_NE(html.find("href=\"/ops/db/tables/public/cust%2Fomers/structure\""), std::string::npos);
  EXPECT_NE(html.find("href=\"/ops/db/tables/public/notes/structure\""), std::string::npos);
  EXPECT_NE(html.find("href=\"/ops/db/tables/public/parent/structure\""), std::string::npos);
  EXPECT_NE(html.find("<span class=\"badge sev-critical\">invalid</span>"), std::string::npos);
  EXPECT_NE(html.find("12,345"), std::string::npos) << "scans grouped";
  EXPECT_NE(html.find("restrictive"), std::string::npos);
  EXPECT_NE(html.find("on, forced"), std::string::npos);
  // The Rows / Structure switch: rows linked, structure current.
  const std::string base = "/ops/db/tables/Sales.EU%20%E2%98%83/Order%20%22Lines%22%20%3C2%3E";
  EXPECT_NE(html.find("<a href=\"" + base + "\" class=\"view\">Rows</a>"), std::string::npos) << html;
  EXPECT_NE(html.find("<a href=\"" + base + "/structure\" class=\"view current\" aria-current=\"page\">Structure</a>"),
            std::string::npos);
  // Unexpected shapes render without throwing.
  for (const json& odd : {json(), json::array(), json{{"columns", 3}, {"indexes", "x"}, {"row_security", 1}}}) {
    std::string out = console::render_table_structure(ctx("tables"), odd);
    EXPECT_NE(out.find("</html>"), std::string::npos);
  }
}
