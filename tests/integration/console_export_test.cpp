// The table browser's export over real HTTP (/api/tables/{schema}/{name}/export): the page's
// filters and order in csv, json and markdown, --export-row-limit, every new URL parameter
// attacked (400 naming it, the database unchanged), no identity (401), another site (403), and
// an export of 1,000,000 rows streamed in bounded memory (the console's peak RSS).
#include <thread>

#include "console_fixture.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using json = nlohmann::json;

namespace {

constexpr long long kMillion = 1'000'000;

class ConsoleExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("console-export").release();
    cluster_->create_database("app");
    pg::Connection admin = connect(*cluster_, "app");
    run_sql(admin, kConsoleSchema);
    run_sql(admin, R"sql(
CREATE TABLE notes (id int PRIMARY KEY, body text);
INSERT INTO notes VALUES (1, 'a|b'), (2, E'line1\nline2'), (3, E'pipe | and\r\nCRLF');
CREATE UNLOGGED TABLE million (id int PRIMARY KEY, label text);
INSERT INTO million SELECT g, md5(g::text) FROM generate_series(1, 1000000) g;
VACUUM ANALYZE million;
)sql");
    audit_ = new std::string(fmt::format("/tmp/pgshift-console-export-audit-{}.jsonl", getpid()));
    server_ = new ServerProcess(ServerProcess::start({"console", "--db", reader_url(*cluster_), "--listen",
                                                      "127.0.0.1:0", "--audit-log", *audit_, "--timeout", "120s",
                                                      "--export-row-limit", "1000000"}));
  }
  static void TearDownTestSuite() {
    delete server_;
    std::remove(audit_->c_str());
    delete audit_;
    delete cluster_;
  }
  static HttpResponse get(const std::string& target) { return http_get(server_->port(), target); }
  static std::vector<std::string> lines(const std::string& text, const std::string& eol = "\n") {
    std::vector<std::string> out;
    size_t at = 0;
    for (size_t next; (next = text.find(eol, at)) != std::string::npos; at = next + eol.size()) {
      out.push_back(text.substr(at, next - at));
    }
    return out;
  }
  static LocalCluster* cluster_;
  static ServerProcess* server_;
  static std::string* audit_;
};
LocalCluster* ConsoleExportTest::cluster_ = nullptr;
ServerProcess* ConsoleExportTest::server_ = nullptr;
std::string* ConsoleExportTest::audit_ = nullptr;

}  // namespace

TEST_F(ConsoleExportTest, CsvHasThePagesFiltersAndOrder) {
  HttpResponse r = get("/api/tables/public/customers/export?format=csv&sort=score&dir=desc&f=" + url_encode("score:>:5"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/csv; charset=utf-8");
  EXPECT_EQ(r.header("content-disposition"), "attachment; filename=\"public.customers.csv\"");
  EXPECT_TRUE(r.header("x-pgshift-truncated").empty());
  std::vector<std::string> l = lines(r.body, "\r\n");
  ASSERT_EQ(l.size(), 4u) << r.body;
  EXPECT_EQ(l[0], "id,name,email,note,score,deleted_at,blob");
  EXPECT_TRUE(l[1].starts_with("3,Carol O'Hara,")) << l[1];
  EXPECT_TRUE(l[2].starts_with("1,Alice,")) << l[2];
  EXPECT_TRUE(l[3].starts_with("2,Bob,")) << l[3];
  // The same rows as the page with these parameters, in the same order.
  json page = json_of(get("/api/tables/public/customers?sort=score&dir=desc&f=" + url_encode("score:>:5")));
  ASSERT_EQ(page["rows"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(l[i + 1].starts_with(page["rows"][i][0].get<std::string>() + ","));
  // The no-script form's fc/fo/fv filter too, and the audit line names table, filters and format.
  HttpResponse form = get("/api/tables/public/customers/export?fc=name&fo=contains&fv=o");
  ASSERT_EQ(form.status, 200) << form.body;
  EXPECT_EQ(lines(form.body, "\r\n").size(), 3u) << form.body;  // Bob, Carol O'Hara
  std::string audit = read_file(*audit_);
  EXPECT_NE(audit.find("\"format\":\"csv\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"table\":\"public.customers\""), std::string::npos);
}

TEST_F(ConsoleExportTest, JsonAndMarkdown) {
  HttpResponse j = get("/api/tables/public/notes/export?format=json&sort=id&dir=desc");
  ASSERT_EQ(j.status, 200) << j.body;
  EXPECT_EQ(j.header("content-disposition"), "attachment; filename=\"public.notes.json\"");
  json doc = json_of(j);
  ASSERT_EQ(doc.size(), 3u);
  EXPECT_EQ(doc[0]["id"], 3);
  EXPECT_EQ(doc[1]["body"], "line1\nline2");
  EXPECT_EQ(doc[2]["body"], "a|b");

  HttpResponse md = get("/api/tables/public/notes/export?format=markdown");
  ASSERT_EQ(md.status, 200) << md.body;
  EXPECT_EQ(md.header("content-type"), "text/markdown; charset=utf-8");
  std::vector<std::string> l = lines(md.body);
  ASSERT_EQ(l.size(), 5u) << md.body;  // header, rule, three rows: no row broken by its newline
  EXPECT_EQ(l[0], "| id | body |");
  EXPECT_EQ(l[2], "| 1 | a\\|b |");
  EXPECT_EQ(l[3], "| 2 | line1<br>line2 |");
  EXPECT_EQ(l[4].find('\r'), std::string::npos) << l[4];
  EXPECT_NE(l[4].find("pipe \\| and"), std::string::npos) << l[4];

  // An empty result still has its header (csv) or is an empty array (json).
  EXPECT_EQ(get("/api/tables/public/notes/export?f=" + url_encode("id:>:100")).body, "id,body\r\n");
  EXPECT_EQ(get("/api/tables/public/notes/export?format=json&f=" + url_encode("id:>:100")).body, "[]\n");
}

TEST_F(ConsoleExportTest, EveryParameterIsCheckedAndNothingIsInjected) {
  pg::Connection admin = connect(*cluster_, "app");
  const std::string before = app_checksum(admin);
  const std::string path = "/api/tables/public/customers/export";
  const std::vector<RefusedQuery> cases = {
      {"?format=xml", "format"},
      {"?format=" + url_encode("csv'; DROP TABLE customers; --"), "format"},
      {"?sort=" + url_encode("id; DROP TABLE customers"), "sort"},
      {"?sort=" + url_encode("(SELECT 1)"), "sort"},
      {"?dir=" + url_encode("desc; DROP TABLE customers"), "dir"},
      {"?f=" + url_encode("nope:=:1"), "f"},
      {"?f=" + url_encode("id:;DROP TABLE customers:1"), "f"},
      {"?f=" + url_encode("id:=:1 OR 1=1"), "f"},  // not an integer: the server's refusal, named
      {"?fc=" + url_encode("id) OR (1=1") + "&fo=" + url_encode("=") + "&fv=1", "f"},
      {"?page=2", "page"},
      {"?after=3", "after"},
  };
  for (const auto& c : cases) {
    HttpResponse r = get(path + c.query);
    EXPECT_EQ(r.status, 400) << c.query << ": " << r.body;
    json j = json_of(r);
    EXPECT_EQ(j["error"]["parameter"], c.parameter) << c.query << ": " << r.body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(c.parameter + ":"), std::string::npos) << r.body;
  }
  // A value is a bound parameter: quotes in it match nothing and break nothing.
  HttpResponse quoted = get(path + "?f=" + url_encode("name:=:x' OR '1'='1"));
  ASSERT_EQ(quoted.status, 200) << quoted.body;
  EXPECT_EQ(lines(quoted.body, "\r\n").size(), 1u) << quoted.body;
  EXPECT_EQ(get("/api/tables/public/nope/export").status, 404);
  EXPECT_EQ(get("/api/tables/pg_catalog/pg_authid/export").status, 404);
  EXPECT_EQ(app_checksum(admin), before);
}

TEST_F(ConsoleExportTest, TheRowLimitHoldsAndSaysSo) {
  ServerProcess s = ServerProcess::start(
      {"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--export-row-limit", "1000"});
  HttpResponse r = http_get(s.port(), "/api/tables/public/events/export?sort=id&dir=desc&f=" + url_encode("kind:=:click"));
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  std::vector<std::string> l = lines(r.body, "\r\n");
  ASSERT_EQ(l.size(), 1001u);
  EXPECT_EQ(r.header("x-pgshift-truncated"), "limit");
  EXPECT_TRUE(l[1].starts_with("99999,")) << l[1];
  // The page links to it with its filters and order, and says the limit.
  HttpResponse page = http_get(s.port(), "/tables/public/events?sort=id&dir=desc&f=" + url_encode("kind:=:click"));
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("/api/tables/public/events/export?format=markdown&amp;sort=id&amp;dir=desc&amp;f=kind%3A%3D%3Aclick"),
            std::string::npos)
      << page.body;
  EXPECT_NE(page.body.find("up to 1,000 rows"), std::string::npos);
  EXPECT_EQ(s.terminate(), 0);
  // Out of range: a usage error at startup.
  CliRun bad = run_pgshift({"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--export-row-limit", "0"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--export-row-limit"), std::string::npos) << bad.err;
}

TEST_F(ConsoleExportTest, NoIdentityAndOtherSitesAreRefused) {
  std::string audit = fmt::format("/tmp/pgshift-console-export-doors-{}.jsonl", getpid());
  ServerProcess s = ServerProcess::start({"console", "--db", reader_url(*cluster_), "--listen", "127.0.0.1:0", "--auth",
                                          "trusted-header", "--identity-header", "X-Forwarded-Email",
                                          "--trusted-proxy", "127.0.0.1/32", "--audit-log", audit});
  const std::string path = "/api/tables/public/customers/export?format=csv";
  const std::pair<std::string, std::string> alice{"X-Forwarded-Email", "alice@example.com"};
  EXPECT_EQ(http_get(s.port(), path).status, 401);
  EXPECT_EQ(http_get(s.port(), path, {alice, {"Origin", "https://evil.example"}}).status, 403);
  EXPECT_EQ(http_get(s.port(), path, {alice, {"Sec-Fetch-Site", "cross-site"}}).status, 403);
  EXPECT_EQ(http_get(s.port(), path, {alice, {"Origin", "null"}}).status, 403);
  EXPECT_EQ(read_file(audit), "") << "nothing ran";
  HttpResponse ok = http_get(s.port(), path, {alice, {"Sec-Fetch-Site", "same-origin"}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(read_file(audit).find("\"identity\":\"alice@example.com\""), std::string::npos);
  std::remove(audit.c_str());
}

TEST_F(ConsoleExportTest, AMillionRowsStreamInBoundedMemory) {
  const long long before_kb = peak_rss_kb(server_->pid());
  HttpResponse r = get("/api/tables/public/million/export?format=csv&sort=id&dir=asc");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  const long long after_kb = peak_rss_kb(server_->pid());
  std::vector<std::string> l = lines(r.body, "\r\n");
  ASSERT_EQ(l.size(), static_cast<size_t>(kMillion + 1));
  EXPECT_EQ(l[1], "1,c4ca4238a0b923820dcc509a6f75849b");
  pg::Connection admin = connect(*cluster_, "app");
  EXPECT_EQ(l.back(), "1000000," + admin.exec("SELECT md5('1000000')").scalar()) << l.back();
  const long long export_kb = static_cast<long long>(r.body.size() / 1024);
  EXPECT_GT(export_kb, 38 * 1024);
  // The console held a batch and a MiB of text at a time, not the 40 MiB file.
  EXPECT_LT(after_kb - before_kb, export_kb / 4)
      << "peak RSS " << after_kb << " kB (before " << before_kb << " kB), export " << export_kb << " kB";
  std::printf("million-row export: %lld kB; console peak RSS %lld kB before, %lld kB after\n", export_kb, before_kb,
              after_kb);
  // One audit line with the rows sent.
  std::string audit = read_file(*audit_);
  EXPECT_NE(audit.find("\"rows\":1000000"), std::string::npos);
}

TEST_F(ConsoleExportTest, AClientThatStopsReadingCancelsTheExport) {
  pg::Connection admin = connect(*cluster_, "app");
  auto active = [&] {
    return admin.exec("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgshift/console/%' AND "
                      "state <> 'idle'")
        .scalar_int64();
  };
  HttpRequest r;
  // 1M rows of JSON (~70 MB) that the client never reads: the queue fills, the writes block.
  r.target = "/api/tables/public/million/export?format=json&sort=label";
  std::thread client([&] { http_send_and_close(server_->port(), r, util::Millis(3'000)); });
  client.join();
  EXPECT_TRUE(wait_until([&] { return active() == 0; }, util::Millis(15'000)));
  ASSERT_TRUE(wait_until(
      [&] {
        std::string audit = read_file(*audit_);
        return audit.find("\"outcome\":\"cancelled\"") != std::string::npos;
      },
      util::Millis(15'000)))
      << read_file(*audit_);
  // The console still serves.
  EXPECT_EQ(get("/api/tables/public/notes/export").status, 200);
}
