// console/pages: the table browser from the JSON of GET /api/tables/{schema}/{name}: sort
// links, filter chips and form, pager, and the presentation of NULL, '', bytea, UUIDs and long text.
#include <gtest/gtest.h>

#include "console/cell_value.hpp"
#include "unit/console/csp_check.hpp"
#include "console/pages.hpp"
#include "console/table_browser.hpp"

using namespace pgshift;
using console::PageContext;
using console::test::expect_csp_clean;
using nlohmann::json;

namespace {

PageContext ctx() { return PageContext{"/ops/db", "local", "tables", "reader@127.0.0.1:5432/app"}; }

json page_json() {
  std::string long_text(300, 'x');
  std::string long_bytea = "\\x" + std::string(200, 'a');  // 100 bytes
  return {{"schema", "public"},
          {"table", "events"},
          {"columns",
           {{{"name", "id"}, {"type", "bigint"}, {"primary_key", true}},
            {{"name", "uid"}, {"type", "bytea"}, {"primary_key", false}},
            {{"name", "blob"}, {"type", "bytea"}, {"primary_key", false}},
            {{"name", "note"}, {"type", "text"}, {"primary_key", false}}}},
          {"rows",
           {{"1", "\\x0f1e2d3c4b5a4978a1b2c3d4e5f60718", long_bytea, nullptr},
            {"2", "\\x00112233445500778899aabbccddeeff", "\\xdead", ""},
            {"3", nullptr, nullptr, long_text}}},
          {"page", 2},
          {"page_size", 3},
          {"has_next", true},
          {"keyset", false},
          {"sort", {{"column", "id"}, {"dir", "asc"}}},
          {"filters", {{{"column", "note"}, {"op", "contains"}, {"value", "a b&c"}}, {{"column", "uid"}, {"op", "is not null"}, {"value", ""}}}},
          {"elapsed_ms", 1.25}};
}

}  // namespace

TEST(ConsoleCell, NullIsDistinctFromEmpty) {
  EXPECT_EQ(console::cell_html(nullptr, "text"), "<span class=\"null\">NULL</span>");
  EXPECT_EQ(console::cell_html("", "text"), "<span class=\"empty\" title=\"empty string\">''</span>");
  EXPECT_EQ(console::cell_html("NULL", "text"), "NULL");
}

TEST(ConsoleCell, UuidShapedByteaIsShownAsUuid) {
  EXPECT_EQ(console::bytea_as_uuid("\\x0F1E2D3C4B5A4978A1B2C3D4E5F60718"), "0f1e2d3c-4b5a-4978-a1b2-c3d4e5f60718");
  EXPECT_EQ(console::bytea_as_uuid("\\x00112233445566778899aabbccddeeff"), "00112233-4455-6677-8899-aabbccddeeff");
}

TEST(ConsoleCell, OnlyUuidShapedSixteenBytesAreUuids) {
  EXPECT_EQ(console::bytea_as_uuid("\\x0011223344550677c899aabbccddeeff"), std::nullopt);  // variant 1100
  EXPECT_EQ(console::bytea_as_uuid("\\x0011223344550677"), std::nullopt);                   // 8 bytes
  EXPECT_EQ(console::bytea_as_uuid("\\x00112233445500778899aabbccddeeff"), std::nullopt);  // version 0
  EXPECT_EQ(console::bytea_as_uuid("\\x0011223344559077 899aabbccddeeff"), std::nullopt);  // not hex
  EXPECT_TRUE(console::bytea_as_uuid("\\x0011223344558077b899aabbccddeeff").has_value());  // v8, variant 10
}

TEST(ConsoleCell, ByteaIsShownAsUuidsPerColumnNeverMixed) {
  const std::string uuid_hex = "\\x0F1E2D3C4B5A4978A1B2C3D4E5F60718";
  const std::string other_hex = "\\x00112233445500778899aabbccddeeff";  // 16 bytes, version 0
  json all_uuids = json::array({json::array({uuid_hex}), json::array({nullptr}), json::array({uuid_hex})});
  json mixed = json::array({json::array({uuid_hex}), json::array({other_hex})});
  EXPECT_TRUE(console::uuid_column(all_uuids, 0, "bytea"));
  EXPECT_FALSE(console::uuid_column(mixed, 0, "bytea"));
  EXPECT_FALSE(console::uuid_column(all_uuids, 0, "text"));
  EXPECT_FALSE(console::uuid_column(json::array({json::array({nullptr})}), 0, "bytea"));
  // In a mixed column the UUID-shaped value is hex like the others.
  EXPECT_EQ(console::cell_html(uuid_hex, "bytea", false), "<span class=\"bytea\">" + uuid_hex + "</span>");
  EXPECT_NE(console::cell_html(uuid_hex, "bytea", true).find("0f1e2d3c-4b5a-4978-a1b2-c3d4e5f60718"), std::string::npos);
}

TEST(ConsoleCell, LongByteaIsShortenedWithItsLength) {
  std::string html = console::cell_html("\\x" + std::string(200, 'a'), "bytea");
  EXPECT_NE(html.find("bytea, 100 bytes"), std::string::npos);
  EXPECT_NE(html.find("\\x" + std::string(64, 'a') + "… (100 bytes)"), std::string::npos);
  EXPECT_EQ(html.find(std::string(65, 'a')), std::string::npos);
  EXPECT_EQ(console::cell_html("\\xdead", "bytea"), "<span class=\"bytea\">\\xdead</span>");
}

TEST(ConsoleCell, LongTextIsCutWithItsLengthAndControlsAreVisible) {
  std::string html = console::cell_html(std::string(150, 'y') + "é", "text");
  EXPECT_NE(html.find(">" + std::string(80, 'y') + "<span class=\"more\">… (151 chars)</span>"), std::string::npos);
  EXPECT_EQ(console::cell_html(std::string(80, 'y'), "text"), std::string(80, 'y'));
  std::string multibyte;
  for (int i = 0; i < 90; ++i) multibyte += "日";
  std::string cut = console::cell_html(multibyte, "text");
  EXPECT_NE(cut.find("(90 chars)"), std::string::npos);
  EXPECT_EQ(console::cell_html("a\nb\x1b", "text"), "a\\nb\\x1b");
  EXPECT_EQ(console::cell_html("<script>\"x\"</script>", "text"), "&lt;script&gt;&quot;x&quot;&lt;/script&gt;");
  EXPECT_EQ(console::cell_html(json(42), "integer"), "42");
}

TEST(ConsoleTableBrowser, RendersRowsWithTypedPresentation) {
  std::string html = console::render_table_browser(ctx(), page_json());
  expect_csp_clean(html, "/ops/db");
  EXPECT_NE(html.find("<title>public.events · pgshift console</title>"), std::string::npos);
  // uid holds a UUID-shaped value and a version-0 one: the column is hex throughout, not mixed.
  EXPECT_EQ(html.find("0f1e2d3c-4b5a-4978-a1b2-c3d4e5f60718"), std::string::npos);
  EXPECT_NE(html.find("\\x0f1e2d3c4b5a4978a1b2c3d4e5f60718"), std::string::npos);
  EXPECT_NE(html.find("\\x00112233445500778899aabbccddeeff"), std::string::npos);  // version 0: hex
  EXPECT_NE(html.find("(100 bytes)"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"null\">NULL</span>"), std::string::npos);
  EXPECT_NE(html.find("title=\"empty string\""), std::string::npos);
  EXPECT_NE(html.find("(300 chars)"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">1</td>"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"pk\" title=\"primary key\">PK</span>"), std::string::npos);
  EXPECT_NE(html.find("rows 4–6"), std::string::npos);
  EXPECT_NE(html.find("1.2 ms"), std::string::npos);
}

TEST(ConsoleTableBrowser, SortLinksToggleDirectionAndKeepFilters) {
  std::string html = console::render_table_browser(ctx(), page_json());
  const std::string filters = "&amp;f=note%3Acontains%3Aa%20b%26c&amp;f=uid%3Ais%20not%20null%3A";
  // id is sorted ascending: its header sorts descending; other columns sort ascending; page 1.
  EXPECT_NE(html.find("<th class=\"num sorted\" aria-sort=\"ascending\"><a class=\"sort\" href=\"/ops/db/tables/public/events?sort=id&amp;dir=desc" +
                      filters + "\""),
            std::string::npos);
  EXPECT_NE(html.find("href=\"/ops/db/tables/public/events?sort=note&amp;dir=asc" + filters + "\""), std::string::npos);
  EXPECT_NE(html.find("id ▲"), std::string::npos);
}

TEST(ConsoleTableBrowser, ChipsRemoveOneFilterEach) {
  std::string html = console::render_table_browser(ctx(), page_json());
  EXPECT_NE(html.find("<code>note</code> <span class=\"op\">contains</span> <code class=\"value\">a b&amp;c</code>"),
            std::string::npos);
  // × on the first chip keeps the second filter and the sort, and goes back to page 1.
  EXPECT_NE(html.find("<a class=\"remove\" href=\"/ops/db/tables/public/events?sort=id&amp;dir=asc&amp;f=uid%3Ais%20not%20null%3A\""),
            std::string::npos);
  EXPECT_NE(html.find("<a class=\"remove\" href=\"/ops/db/tables/public/events?sort=id&amp;dir=asc&amp;f=note%3Acontains%3Aa%20b%26c\""),
            std::string::npos);
  EXPECT_NE(html.find(">clear all</a>"), std::string::npos);
}

TEST(ConsoleTableBrowser, FilterFormCarriesTheStateAndEveryOperator) {
  std::string html = console::render_table_browser(ctx(), page_json());
  EXPECT_NE(html.find("<form class=\"filter-form\" method=\"get\" action=\"/ops/db/tables/public/events\">"), std::string::npos);
  EXPECT_NE(html.find("<input type=\"hidden\" name=\"sort\" value=\"id\">"), std::string::npos);
  EXPECT_NE(html.find("<input type=\"hidden\" name=\"f\" value=\"note:contains:a b&amp;c\">"), std::string::npos);
  for (const char* op : {"=", "&lt;&gt;", "&lt;", "&gt;", "contains", "is null", "is not null"}) {
    EXPECT_NE(html.find(std::string("<option value=\"") + op + "\">"), std::string::npos) << op;
  }
  for (const char* col : {"id", "uid", "blob", "note"}) {
    EXPECT_NE(html.find(std::string("<option value=\"") + col + "\">"), std::string::npos) << col;
  }
}

TEST(ConsoleTableBrowser, PagerMovesOnePageKeepingSortAndFilters) {
  std::string html = console::render_table_browser(ctx(), page_json());
  const std::string state = "/ops/db/tables/public/events?sort=id&amp;dir=asc&amp;f=note%3Acontains%3Aa%20b%26c&amp;f=uid%3Ais%20not%20null%3A";
  EXPECT_NE(html.find("<a href=\"" + state + "&amp;page=3\" class=\"next\">"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"" + state + "\" class=\"prev\">"), std::string::npos);  // page 1 has no page=
  EXPECT_NE(html.find("Page 2"), std::string::npos);

  json keyset = page_json();
  keyset["keyset"] = true;
  std::string by_key = console::render_table_browser(ctx(), keyset);
  EXPECT_NE(by_key.find("rows 4–6"), std::string::npos) << "keyset pages have the same numbers";
  EXPECT_NE(by_key.find("keyset paging"), std::string::npos);
  keyset["next_after"] = "a&b 6";  // the last key, encoded into the Next link
  EXPECT_NE(console::render_table_browser(ctx(), keyset).find("<a href=\"" + state + "&amp;page=3&amp;after=a%26b%206\" class=\"next\">"),
            std::string::npos);

  json last = page_json();
  last["page"] = 1;
  last["has_next"] = false;
  std::string first_page = console::render_table_browser(ctx(), last);
  EXPECT_EQ(first_page.find("class=\"next\""), std::string::npos);
  EXPECT_EQ(first_page.find("class=\"prev\""), std::string::npos);
}

TEST(ConsoleTableBrowser, HostileNamesAndValuesAreEscapedAndEncoded) {
  json page = page_json();
  const std::string evil = "\"><img src=x onerror=alert(1)>";
  page["schema"] = evil;
  page["table"] = "t/../x?y#z";
  page["columns"][3]["name"] = evil;
  page["rows"][0][3] = evil;
  page["filters"] = {{{"column", evil}, {"op", "="}, {"value", evil}}};
  page["sort"] = {{"column", evil}, {"dir", "desc"}};
  std::string html = console::render_table_browser(ctx(), page);
  expect_csp_clean(html, "/ops/db");
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("/ops/db/tables/%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E/t%2F..%2Fx%3Fy%23z"),
            std::string::npos);
}

TEST(ConsoleTableBrowser, UnexpectedShapesRenderWithoutThrowing) {
  const json shapes[] = {json::array(), json::object(), json{{"columns", "x"}, {"rows", {{1}}}, {"page", "abc"}},
                         json{{"columns", {{{"name", 1}}}}, {"rows", {"r", {nullptr, 2}}}, {"sort", "id"},
                              {"filters", {1, "x"}}, {"page", -5}}};
  for (const auto& shape : shapes) {
    std::string html;
    EXPECT_NO_THROW(html = console::render_table_browser(ctx(), shape)) << shape.dump();
    EXPECT_NE(html.find("</html>"), std::string::npos);
  }
}

TEST(ConsoleTableBrowserQuery, AKeylessTablePagesInCtidOrder) {
  console::TableShape shape{"public", "t", {{"a", "integer", false}, {"b", "text", false}}, {}, {"ctid"}};
  console::BrowseRequest request;
  request.page = "2";
  console::BrowseQuery q = console::build_query(shape, request, 50);
  EXPECT_NE(q.sql.find("FROM \"public\".\"t\" ORDER BY ctid ASC OFFSET $1::bigint"), std::string::npos) << q.sql;
  request.sort = "a";
  request.dir = "desc";
  q = console::build_query(shape, request, 50);
  EXPECT_NE(q.sql.find("ORDER BY \"a\" DESC, ctid DESC OFFSET"), std::string::npos) << q.sql;
  shape.physical_order = {"tableoid", "ctid"};  // a partitioned table
  q = console::build_query(shape, request, 50);
  EXPECT_NE(q.sql.find("ORDER BY \"a\" DESC, tableoid DESC, ctid DESC OFFSET"), std::string::npos) << q.sql;
  shape.physical_order = {};  // a view: no physical order to offer
  request.sort.reset();
  q = console::build_query(shape, request, 50);
  EXPECT_EQ(q.sql.find("ORDER BY"), std::string::npos) << q.sql;
  // With a primary key, ctid plays no part.
  console::TableShape keyed{"public", "k", {{"id", "bigint", true}}, {"id"}, {"ctid"}};
  EXPECT_EQ(console::build_query(keyed, console::BrowseRequest{}, 50).sql.find("ctid"), std::string::npos);
}
