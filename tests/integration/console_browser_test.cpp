// The console's table browser over real HTTP: sort, every filter operator, keyset and offset
// paging, and injection attempts in every URL parameter refused with 400 (naming the parameter)
// while the database stays unchanged.
#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "console_fixture.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using json = nlohmann::json;

namespace {

class ConsoleBrowserTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("console-browser", {{"log_statement", "'all'"}}).release();
    cluster_->create_database("app");
    pg::Connection admin = connect(*cluster_, "app");
    run_sql(admin, kConsoleSchema);
    // No primary key; updated rows move, so the physical order is not the insertion order.
    run_sql(admin, R"sql(
CREATE TABLE keyless (n int, country text);
INSERT INTO keyless SELECT g, CASE WHEN g % 2 = 0 THEN 'FR' ELSE 'DE' END FROM generate_series(1, 120) g;
UPDATE keyless SET country = country WHERE n % 7 = 0;
)sql");
    server_ = new ServerProcess(ServerProcess::start({"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0"}));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete cluster_;
  }
  static HttpResponse browse(const std::string& table, const std::string& query) {
    return http_get(server_->port(), "/api/tables/" + table + query);
  }
  static json page(const std::string& table, const std::string& query) {
    HttpResponse r = browse(table, query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    return json_of(r);
  }
  static std::vector<std::string> ids(const json& p) {
    std::vector<std::string> out;
    for (const auto& row : p["rows"]) out.push_back(row[0].is_null() ? "NULL" : row[0].get<std::string>());
    return out;
  }
  static std::string f(const std::string& filter) { return "f=" + url_encode(filter); }

  static LocalCluster* cluster_;
  static ServerProcess* server_;
};
LocalCluster* ConsoleBrowserTest::cluster_ = nullptr;
ServerProcess* ConsoleBrowserTest::server_ = nullptr;

}  // namespace

TEST_F(ConsoleBrowserTest, FirstPageInKeyOrder) {
  json p = page("public/customers", "");
  EXPECT_EQ(p["schema"], "public");
  EXPECT_EQ(p["table"], "customers");
  EXPECT_EQ(ids(p), (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(p["columns"][0]["name"], "id");
  EXPECT_EQ(p["columns"][0]["primary_key"], true);
  EXPECT_EQ(p["columns"][6]["type"], "bytea");
  EXPECT_EQ(p["rows"][0][6], "\\x00112233445566778899aabbccddeeff");
  EXPECT_TRUE(p["rows"][1][6].is_null());
  EXPECT_EQ(p["has_next"], false);
  EXPECT_EQ(p["keyset"], true);
  EXPECT_EQ(p["page"], 1);
}

TEST_F(ConsoleBrowserTest, SortBothWays) {
  EXPECT_EQ(ids(page("public/customers", "?sort=name&dir=desc")), (std::vector<std::string>{"4", "3", "2", "1"}));
  EXPECT_EQ(ids(page("public/customers", "?sort=score&dir=asc")), (std::vector<std::string>{"4", "2", "1", "3"}));
  EXPECT_EQ(ids(page("public/customers", "?sort=id&dir=desc")), (std::vector<std::string>{"4", "3", "2", "1"}));
  EXPECT_EQ(page("public/customers", "?sort=name")["keyset"], false);
}

TEST_F(ConsoleBrowserTest, EveryFilterOperator) {
  EXPECT_EQ(ids(page("public/customers", "?" + f("name:=:Bob"))), (std::vector<std::string>{"2"}));
  EXPECT_EQ(ids(page("public/customers", "?" + f("id:<>:2"))), (std::vector<std::string>{"1", "3", "4"}));
  EXPECT_EQ(ids(page("public/customers", "?" + f("score:<:8"))), (std::vector<std::string>{"2", "4"}));
  EXPECT_EQ(ids(page("public/customers", "?" + f("score:>:8"))), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(ids(page("public/customers", "?" + f("email:contains:CAROL"))), (std::vector<std::string>{"3"}));
  EXPECT_EQ(ids(page("public/customers", "?" + f("note:is null:"))), (std::vector<std::string>{"2"}));
  EXPECT_EQ(ids(page("public/customers", "?" + f("deleted_at:is not null:"))), (std::vector<std::string>{"2"}));
  // Values are bound: quotes and SQL in a value are just text to compare.
  EXPECT_EQ(ids(page("public/customers", "?" + f("name:=:Carol O'Hara"))), (std::vector<std::string>{"3"}));
  EXPECT_TRUE(ids(page("public/customers", "?" + f("name:=:' OR '1'='1"))).empty());
  EXPECT_EQ(ids(page("public/customers", "?" + f("note:contains:☃"))), (std::vector<std::string>{"4"}));
  EXPECT_EQ(ids(page("public/customers", "?" + f("note:contains:a:b"))).size(), 0u);  // value holds ':'
  // Two filters, and the no-script form's fc/fo/fv.
  EXPECT_EQ(ids(page("public/customers", "?" + f("score:>:5") + "&" + f("score:<:50"))),
            (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(ids(page("public/customers", "?fc=name&fo=contains&fv=ali")), (std::vector<std::string>{"1"}));
  json p = page("public/customers", "?" + f("name:=:Bob"));
  EXPECT_EQ(p["filters"][0]["column"], "name");
  EXPECT_EQ(p["filters"][0]["op"], "=");
  EXPECT_EQ(p["filters"][0]["value"], "Bob");
}

TEST_F(ConsoleBrowserTest, PagesByKeyAndByOffset) {
  json p1 = page("public/events", "");
  EXPECT_EQ(p1["rows"].size(), 50u);
  EXPECT_EQ(p1["has_next"], true);
  json p500 = page("public/events", "?page=500");
  EXPECT_EQ(p500["keyset"], true);
  EXPECT_EQ(ids(p500).front(), "24951");
  EXPECT_EQ(ids(p500).back(), "25000");
  json desc = page("public/events", "?sort=id&dir=desc&page=3");
  EXPECT_EQ(ids(desc).front(), "99900");
  json filtered = page("public/events", "?" + f("kind:=:click") + "&page=2");
  EXPECT_EQ(ids(filtered).front(), "153");  // the 51st multiple of 3
  json by_offset = page("public/events", "?sort=at&dir=desc&page=2");
  EXPECT_EQ(by_offset["keyset"], false);
  EXPECT_EQ(ids(by_offset).front(), "99950");
  json last = page("public/events", "?page=2000");
  EXPECT_EQ(last["rows"].size(), 50u);
  EXPECT_EQ(last["has_next"], false);
  EXPECT_TRUE(page("public/events", "?page=3000")["rows"].empty());
  // The page SQL uses the index: the server's log shows the key-bound subquery.
  std::string log = read_file(cluster_->log_file());
  EXPECT_NE(log.find("OFFSET $1::bigint LIMIT 1)"), std::string::npos);
}

TEST_F(ConsoleBrowserTest, AFilterValueMayHoldAnUnescapedEquals) {
  // f=country:=:FR as typed in an address bar: the '=' of the operator needs no %3D.
  json p = page("public/keyless", "?f=country:=:FR&sort=n");
  ASSERT_EQ(p["rows"].size(), 50u);
  for (const auto& row : p["rows"]) EXPECT_EQ(row[1], "FR");
  EXPECT_EQ(ids(page("public/customers", "?f=name:=:Bob")), (std::vector<std::string>{"2"}));
  EXPECT_EQ(ids(page("public/customers", "?f=id:<>:2&f=id:<>:3")), (std::vector<std::string>{"1", "4"}));
}

TEST_F(ConsoleBrowserTest, AKeylessTablePagesInCtidOrder) {
  std::vector<std::string> seen;
  for (int n = 1; n <= 3; ++n) {
    json p = page("public/keyless", "?page=" + std::to_string(n));
    EXPECT_EQ(p["keyset"], false);
    for (const std::string& id : ids(p)) seen.push_back(id);
  }
  std::vector<std::string> sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end()) << "a row came on two pages";
  EXPECT_EQ(seen.size(), 120u) << "every row once";
  // Pages are in ctid order (the updated rows last), not whatever order a plan returns.
  EXPECT_EQ(seen.back(), "119");
  EXPECT_NE(read_file(cluster_->log_file()).find("FROM \"public\".\"keyless\" ORDER BY ctid ASC OFFSET"), std::string::npos);
  // A sort on a non-unique column keeps ctid as the tie-breaker.
  json by_country = page("public/keyless", "?sort=country&page=2");
  EXPECT_NE(read_file(cluster_->log_file()).find("ORDER BY \"country\" ASC, ctid ASC OFFSET"), std::string::npos);
  EXPECT_EQ(by_country["rows"].size(), 50u);
}

TEST_F(ConsoleBrowserTest, TheNextLinkPagesAfterTheLastKey) {
  json p500 = page("public/events", "?page=500");
  ASSERT_EQ(p500["next_after"], "25000");
  json next = page("public/events", "?page=501&after=25000");
  EXPECT_EQ(ids(next), ids(page("public/events", "?page=501"))) << "the same rows as by page number";
  EXPECT_EQ(ids(next).front(), "25001");
  EXPECT_EQ(next["page"], 501);
  EXPECT_EQ(next["next_after"], "25050");
  // Descending, and with a filter (the key bound joins the filter's condition).
  json desc = page("public/events", "?sort=id&dir=desc&after=99901");
  EXPECT_EQ(ids(desc).front(), "99900");
  json clicks = page("public/events", "?" + f("kind:=:click") + "&page=2&after=150");
  EXPECT_EQ(ids(clicks), ids(page("public/events", "?" + f("kind:=:click") + "&page=2")));
  EXPECT_TRUE(page("public/events", "?page=2000")["next_after"].is_null()) << "the last page has no Next";
  EXPECT_TRUE(page("public/events", "?sort=at&page=2")["next_after"].is_null()) << "offset pages have none";
  // The HTML pager's Next link carries it.
  HttpResponse html = http_get(server_->port(), "/tables/public/events?page=500");
  EXPECT_NE(html.body.find("page=501&amp;after=25000"), std::string::npos) << html.body.substr(0, 3000);
  // The server ran a key comparison, not an offset.
  EXPECT_NE(read_file(cluster_->log_file()).find("WHERE \"id\" > $1 ORDER BY \"id\" ASC"), std::string::npos);
}

TEST_F(ConsoleBrowserTest, QuotedIdentifiers) {
  json p = page("public/" + url_encode("Weird Name"), "?sort=select&" + f("a\"b:=:x"));
  EXPECT_EQ(p["rows"].size(), 1u);
  EXPECT_EQ(p["table"], "Weird Name");
}

TEST_F(ConsoleBrowserTest, InjectionInEveryParameterIsRefused) {
  pg::Connection admin = connect(*cluster_, "app");
  const std::string before = app_checksum(admin);
  expect_refused(server_->port(), "/api/tables/public/customers", "/tables/public/customers", {
      {"?sort=" + url_encode("id;drop table customers"), "sort"},
      {"?sort=" + url_encode("id desc, (select 1)"), "sort"},
      {"?sort=" + url_encode("\"id\""), "sort"},
      {"?sort=" + url_encode("nämé"), "sort"},
      {"?sort=nope", "sort"},
      {"?dir=" + url_encode("desc; drop table customers"), "dir"},
      {"?dir=sideways", "dir"},
      {"?" + f("1=1--:=:x"), "f"},
      {"?" + f("id:=1 or 1=1:x"), "f"},
      {"?" + f("id;delete from customers:=:1"), "f"},
      {"?" + f("name:like:%"), "f"},
      {"?" + f("name"), "f"},
      {"?" + f("nope:=:1"), "f"},
      {"?" + f("id:=:1 OR 1=1"), "f"},       // bound: not an integer
      {"?" + f("id:<:'; drop table customers; --"), "f"},
      {"?" + f("score:<:abc"), "f"},
      {"?page=0", "page"},
      {"?page=-1", "page"},
      {"?page=" + url_encode("1;drop"), "page"},
      {"?page=99999999999", "page"},
      {"?fc=" + url_encode("id) or (1=1") + "&fo=%3D&fv=1", "f"},
      {"?after=" + url_encode("1; drop table customers"), "after"},  // bound: not an integer
      {"?after=" + url_encode("' OR '1'='1"), "after"},
      {"?sort=name&after=1", "after"},                               // not keyset
  });
  for (const std::string& table : {"public/" + url_encode("customers; drop table events"), "public/" + url_encode("customers'"),
                                  url_encode("public\" --") + "/customers", std::string("pg_catalog/pg_authid")}) {
    HttpResponse r = browse(table, "");
    EXPECT_EQ(r.status, 404) << table << ": " << r.body;
  }
  EXPECT_EQ(app_checksum(admin), before);
}

TEST_F(ConsoleBrowserTest, NamesWithSlashesAndOtherSegments) {
  pg::Connection admin = connect(*cluster_, "app");
  admin.exec("CREATE TABLE IF NOT EXISTS \"a/b\" (id int PRIMARY KEY)");
  admin.exec("INSERT INTO \"a/b\" VALUES (7) ON CONFLICT DO NOTHING");
  json p = page("public/" + url_encode("a/b"), "");
  EXPECT_EQ(p["table"], "a/b");
  EXPECT_EQ(ids(p), std::vector<std::string>{"7"});
  EXPECT_EQ(browse("public/customers/extra", "").status, 404);
  EXPECT_EQ(http_get(server_->port(), "/tables/public/" + url_encode("a/b")).status, 200);
}

// The structure view: one table with every kind of object, named with quotes, a dot, spaces and
// unicode; a partitioned table; a table referencing it. Both the JSON and the page, escaped.
TEST_F(ConsoleBrowserTest, StructureShowsColumnsConstraintsKeysIndexesTriggersPoliciesAndPartitions) {
  pg::Connection admin = connect(*cluster_, "app");
  run_sql(admin, R"sql(
CREATE SCHEMA IF NOT EXISTS "Sales.EU ☃";
CREATE TABLE IF NOT EXISTS "Sales.EU ☃"."Order ""Lines"" 2" (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id int NOT NULL REFERENCES customers,
  qty int CHECK (qty > 0),
  price numeric(10,2) DEFAULT 0,
  total numeric GENERATED ALWAYS AS (qty * price) STORED,
  sku text UNIQUE);
COMMENT ON COLUMN "Sales.EU ☃"."Order ""Lines"" 2".sku IS 'stock <keeping> unit';
CREATE OR REPLACE FUNCTION touch_line() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE OR REPLACE TRIGGER line_touch BEFORE UPDATE ON "Sales.EU ☃"."Order ""Lines"" 2" FOR EACH ROW EXECUTE FUNCTION touch_line();
ALTER TABLE "Sales.EU ☃"."Order ""Lines"" 2" ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_lines ON "Sales.EU ☃"."Order ""Lines"" 2";
CREATE POLICY own_lines ON "Sales.EU ☃"."Order ""Lines"" 2" FOR SELECT TO reader USING (customer_id > 0);
CREATE TABLE IF NOT EXISTS line_notes (id int PRIMARY KEY, line_id bigint REFERENCES "Sales.EU ☃"."Order ""Lines"" 2");
CREATE TABLE IF NOT EXISTS measurements (at date NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE IF NOT EXISTS measurements_2026 PARTITION OF measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
)sql");
  const std::string schema = "Sales.EU ☃", table = "Order \"Lines\" 2";
  const std::string path = "/tables/" + url_encode(schema) + "/" + url_encode(table) + "/structure";
  HttpResponse r = http_get(server_->port(), "/api" + path);
  ASSERT_EQ(r.status, 200) << r.body;
  json s = json_of(r);
  EXPECT_EQ(s["schema"], schema);
  EXPECT_EQ(s["name"], table);
  std::map<std::string, json> cols;
  for (const auto& c : s["columns"]) cols[c["name"].get<std::string>()] = c;
  EXPECT_EQ(cols["id"]["identity"], "always");
  EXPECT_EQ(cols["customer_id"]["nullable"], false);
  EXPECT_EQ(cols["price"]["default"], "0");
  EXPECT_NE(cols["total"]["generated"].get<std::string>().find("qty"), std::string::npos);
  EXPECT_EQ(cols["sku"]["comment"], "stock <keeping> unit");
  EXPECT_EQ(s["primary_key"], json::array({"id"}));
  std::set<std::string> constraint_types;
  for (const auto& c : s["constraints"]) constraint_types.insert(c["type"].get<std::string>());
  EXPECT_EQ(constraint_types, (std::set<std::string>{"check", "unique"}));
  ASSERT_EQ(s["foreign_keys"].size(), 1u);
  EXPECT_EQ(s["foreign_keys"][0]["references"]["table"], "customers");
  ASSERT_EQ(s["referenced_by"].size(), 1u);
  EXPECT_EQ(s["referenced_by"][0]["table"], "line_notes");
  ASSERT_EQ(s["indexes"].size(), 2u);  // the key and the unique sku
  for (const auto& i : s["indexes"]) {
    EXPECT_TRUE(i["scans"].is_number()) << i.dump();
    EXPECT_EQ(i["valid"], true);
  }
  ASSERT_EQ(s["triggers"].size(), 1u);
  EXPECT_EQ(s["triggers"][0]["name"], "line_touch");
  EXPECT_EQ(s["row_security"]["enabled"], true);
  ASSERT_EQ(s["policies"].size(), 1u);
  EXPECT_EQ(s["policies"][0]["command"], "SELECT");
  EXPECT_EQ(s["policies"][0]["roles"], json::array({"reader"}));

  HttpResponse page = http_get(server_->port(), path);
  ASSERT_EQ(page.status, 200) << page.body.substr(0, 300);
  EXPECT_NE(page.body.find("Order &quot;Lines&quot; 2"), std::string::npos);
  EXPECT_NE(page.body.find("stock &lt;keeping&gt; unit"), std::string::npos);
  EXPECT_EQ(page.body.find("<keeping>"), std::string::npos);
  EXPECT_NE(page.body.find("href=\"/tables/public/customers/structure\""), std::string::npos) << "references, linked";
  EXPECT_NE(page.body.find("href=\"/tables/public/line_notes/structure\""), std::string::npos) << "referenced by, linked";
  const std::string rows_link = "href=\"/tables/" + url_encode(schema) + "/" + url_encode(table) + "\"";
  EXPECT_NE(page.body.find(rows_link), std::string::npos) << "the Rows view";
  EXPECT_NE(page.body.find("line_touch"), std::string::npos);
  EXPECT_NE(page.body.find("own_lines"), std::string::npos);
  // The rows page links back to the structure.
  HttpResponse rows_page = http_get(server_->port(), "/tables/" + url_encode(schema) + "/" + url_encode(table));
  ASSERT_EQ(rows_page.status, 200);
  EXPECT_NE(rows_page.body.find("href=\"" + path + "\""), std::string::npos);

  json parent = json_of(http_get(server_->port(), "/api/tables/public/measurements/structure"));
  EXPECT_EQ(parent["kind"], "partitioned table");
  EXPECT_EQ(parent["partition_key"], "RANGE (at)");
  ASSERT_EQ(parent["partitions"].size(), 1u);
  EXPECT_EQ(parent["partitions"][0]["table"], "measurements_2026");
  EXPECT_NE(parent["partitions"][0]["bound"].get<std::string>().find("2026-01-01"), std::string::npos);
  json child = json_of(http_get(server_->port(), "/api/tables/public/measurements_2026/structure"));
  EXPECT_EQ(child["partition_of"]["table"], "measurements");
  EXPECT_NE(http_get(server_->port(), "/tables/public/measurements/structure").body.find("measurements_2026"),
            std::string::npos);
}

TEST_F(ConsoleBrowserTest, StructureOfAnythingButAUserTableIs404) {
  pg::Connection admin = connect(*cluster_, "app");
  const std::string before = app_checksum(admin);
  for (const std::string& table :
       {"public/" + url_encode("customers; drop table events"), "public/" + url_encode("customers'"),
        url_encode("public\" --") + "/customers", std::string("pg_catalog/pg_authid"), std::string("public/nope"),
        std::string("public/customers/extra"), "public/" + url_encode("customers/structure")}) {
    HttpResponse r = http_get(server_->port(), "/api/tables/" + table + "/structure");
    EXPECT_EQ(r.status, 404) << table << ": " << r.body;
    EXPECT_EQ(http_get(server_->port(), "/tables/" + table + "/structure").status, 404) << table;
  }
  // A table named "structure" is still browsed, not described.
  admin.exec("CREATE TABLE IF NOT EXISTS structure (id int PRIMARY KEY)");
  EXPECT_EQ(json_of(http_get(server_->port(), "/api/tables/public/structure"))["table"], "structure");
  EXPECT_EQ(json_of(http_get(server_->port(), "/api/tables/public/structure/structure"))["name"], "structure");
  admin.exec("DROP TABLE structure");
  EXPECT_EQ(app_checksum(admin), before);
}

// Find a table: the whole list for the Tables tab's finder, and an exact count on request,
// through the gate and the audit log, within the statement timeout.
TEST_F(ConsoleBrowserTest, TableListAndExactCounts) {
  json list = json_of(http_get(server_->port(), "/api/table-list"));
  EXPECT_EQ(list["truncated"], false);
  std::map<std::string, json> by_name;
  for (const auto& t : list["tables"]) {
    EXPECT_NE(t["schema"], "pg_catalog");
    EXPECT_NE(t["schema"], "information_schema");
    by_name[t["schema"].get<std::string>() + "." + t["name"].get<std::string>()] = t;
  }
  ASSERT_TRUE(by_name.count("public.events")) << list.dump();
  EXPECT_TRUE(by_name.count("public.Weird Name"));
  EXPECT_EQ(by_name["public.events"]["row_estimate"], 100000);
  EXPECT_GT(by_name["public.events"]["size_bytes"].get<int64_t>(), 1'000'000);

  json c = json_of(http_get(server_->port(), "/api/tables/public/customers/count"));
  EXPECT_EQ(c["count"], 4);
  EXPECT_EQ(c["table"], "customers");
  EXPECT_EQ(json_of(http_get(server_->port(), "/api/tables/public/" + url_encode("Weird Name") + "/count"))["count"], 1);
  pg::Connection admin = connect(*cluster_, "app");
  const std::string before = app_checksum(admin);
  for (const std::string& table : {"public/" + url_encode("customers; delete from customers"), std::string("public/nope"),
                                  std::string("pg_catalog/pg_authid"), url_encode("public\" --") + "/customers",
                                  std::string("public/customers/extra")}) {
    HttpResponse r = http_get(server_->port(), "/api/tables/" + table + "/count");
    EXPECT_EQ(r.status, 404) << table << ": " << r.body;
  }
  EXPECT_EQ(app_checksum(admin), before);
  // The statement the console ran for the count is the user's kind of statement: audited,
  // correlated, and held to --timeout.
  admin.exec("CREATE OR REPLACE VIEW endless AS SELECT g FROM generate_series(1, 200000000) g");
  ServerProcess quick = ServerProcess::start(
      {"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--timeout", "1s", "--audit-log", "-"});
  HttpResponse slow = http_get(quick.port(), "/api/tables/public/endless/count");
  EXPECT_EQ(slow.status, 422) << slow.body;
  EXPECT_EQ(json_of(slow)["error"]["timed_out"], true) << slow.body;
  std::string audit;
  for (int i = 0; i < 50 && audit.find("endless") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    audit = quick.output();
  }
  EXPECT_NE(audit.find(R"("statement":"SELECT count(*) FROM \"public\".\"endless\"")"), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"outcome\":\"timeout\""), std::string::npos) << audit;
  admin.exec("DROP VIEW endless");
}
