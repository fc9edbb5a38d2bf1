// The console's Backups tab fed by a real inventory: `pgshift console --backups-from dir:PATH
// --wal-archive DIR` over a real pg_basebackup backup and a real archive_command. /api/backups
// and the /backups page show the backup (name, method, status, end time), its recoverability
// and the inventory's verdict next to the archiver's; a WAL segment missing from the archive
// turns the verdict to problem with a finding naming the segment.
#include <sys/stat.h>

#include <ctime>

#include "backup_helpers.hpp"
#include "console_fixture.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using json = nlohmann::json;

namespace {

class ConsoleBackupsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    site_ = new DirBackupSite("console-backups");
    cluster_ = site_->cluster.get();
    archive_ = site_->archive;
    backups_ = site_->backups;
    pg::Connection c = connect(*cluster_);
    run_sql(c, fmt::format("CREATE ROLE reader LOGIN PASSWORD '{}'; GRANT pg_read_all_data, pg_monitor TO reader;"
                           "CREATE TABLE items AS SELECT g AS id FROM generate_series(1, 1000) g",
                           kReaderPassword));
    basebackup(*cluster_, backups_ + "/nightly-1");
    archive_now(c);
    // One more segment after the backup's own, so a missing one in between is a gap.
    run_sql(c, "INSERT INTO items SELECT g FROM generate_series(1001, 2000) g");
    archive_now(c);
  }
  static void TearDownTestSuite() { delete site_; }
  static ServerProcess console(const std::string& wal_archive) {
    return ServerProcess::start({"console", "--db", reader_url(*cluster_, "postgres"), "--listen", "127.0.0.1:0",
                                 "--backups-from", "dir:" + backups_, "--wal-archive", wal_archive});
  }
  // The value of fact `id` in a report; null when absent.
  static json fact(const json& report, const std::string& id) {
    for (const auto& f : report.value("facts", json::array())) {
      if (f.value("id", "") == id) return f.value("value", json());
    }
    return nullptr;
  }
  // Section `id`'s rows as objects keyed by column name.
  static std::vector<json> rows(const json& report, const std::string& id) {
    std::vector<json> out;
    for (const auto& s : report.value("sections", json::array())) {
      if (s.value("id", "") != id) continue;
      for (const auto& row : s["rows"]) {
        json o = json::object();
        for (size_t i = 0; i < s["columns"].size(); ++i) o[s["columns"][i]["name"].get<std::string>()] = row[i];
        out.push_back(o);
      }
    }
    return out;
  }
  // The end time a user expects for the backup: when pg_basebackup wrote its manifest, in UTC.
  static std::string manifest_time() {
    struct stat st {};
    EXPECT_EQ(::stat((backups_ + "/nightly-1/backup_manifest").c_str(), &st), 0);
    std::tm tm{};
    gmtime_r(&st.st_mtime, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
  }

  static inline DirBackupSite* site_ = nullptr;
  static inline LocalCluster* cluster_ = nullptr;
  static inline std::string archive_, backups_;
};

}  // namespace

TEST_F(ConsoleBackupsTest, TheTabShowsTheBackupAndAHealthyVerdict) {
  ServerProcess s = console(archive_);
  HttpResponse api = http_get(s.port(), "/api/backups");
  ASSERT_EQ(api.status, 200) << api.body;
  json j = json_of(api);
  EXPECT_EQ(j["backup_source"], true);
  EXPECT_EQ(fact(j, "backup_verdict"), "healthy") << j.dump(2);
  EXPECT_EQ(fact(j, "verdict"), "ok") << "the archiver's own verdict stays: " << j.dump(2);
  std::vector<json> backups = rows(j, "backups");
  ASSERT_EQ(backups.size(), 1u) << j.dump(2);
  const json& b = backups[0];
  EXPECT_EQ(b["source"], "dir:" + backups_);
  EXPECT_EQ(b["id"], "nightly-1");
  EXPECT_EQ(b["method"], "pg_basebackup plain");
  EXPECT_EQ(b["status"], "completed");
  const std::string stop = manifest_time();
  EXPECT_EQ(b["stop_time"], stop);
  EXPECT_GT(b["size"].get<long long>(), 1'000'000);
  std::vector<json> windows = rows(j, "windows");
  ASSERT_EQ(windows.size(), 1u);
  EXPECT_EQ(windows[0]["verdict"], "healthy");
  EXPECT_EQ(windows[0]["first"], stop);
  for (const auto& f : j["findings"]) EXPECT_NE(f.value("object", ""), "dir:" + backups_) << f.dump();

  HttpResponse page = http_get(s.port(), "/backups");
  ASSERT_EQ(page.status, 200);
  const std::string& html = page.body;
  EXPECT_EQ(html.find("No backup source configured"), std::string::npos);
  EXPECT_NE(html.find("<h2>Base backups"), std::string::npos);
  EXPECT_NE(html.find("<td>nightly-1</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<td>pg_basebackup plain</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>completed</td>"), std::string::npos);
  // The end time as a person reads it, the exact instant in the title.
  const std::string shown = stop.substr(0, 10) + " " + stop.substr(11, 8) + " UTC";
  EXPECT_NE(html.find("<time datetime=\"" + stop + "\" title=\"" + stop + "\">" + shown + "</time>"), std::string::npos)
      << html;
  size_t card = html.find("data-fact=\"backup_verdict\"");
  ASSERT_NE(card, std::string::npos) << html;
  std::string card_html = html.substr(card, html.find("</div>\n</div>", card) - card);
  EXPECT_NE(card_html.find("Backups verdict"), std::string::npos) << card_html;
  EXPECT_NE(card_html.find(">healthy</div>"), std::string::npos) << card_html;
}

TEST_F(ConsoleBackupsTest, AMissingWalSegmentIsAProblemOnTheTab) {
  // The backup's first WAL segment is gone from a copy of the archive: no restore gets past it.
  ScratchDir broken;
  const std::string archive = broken.path + "/archive";
  run_as_server({"cp", "-a", archive_, archive});
  ServerProcess healthy = console(archive_);
  std::string begin_wal = rows(json_of(http_get(healthy.port(), "/api/backups")), "backups").at(0)["begin_wal"];
  ASSERT_EQ(begin_wal.size(), 24u);
  run_as_server({"rm", archive + "/" + begin_wal});

  ServerProcess s = console(archive);
  json j = json_of(http_get(s.port(), "/api/backups"));
  EXPECT_EQ(fact(j, "backup_verdict"), "problem") << j.dump(2);
  std::vector<json> windows = rows(j, "windows");
  ASSERT_EQ(windows.size(), 1u);
  EXPECT_EQ(windows[0]["verdict"], "problem");
  EXPECT_EQ(windows[0]["basis"], "newest backup end (WAL gap after it)");
  std::string message;
  for (const auto& f : j["findings"]) {
    if (f.value("code", "") == "backup-problem") message = f.value("message", "");
  }
  EXPECT_NE(message.find("WAL gap: segment " + begin_wal + " is missing"), std::string::npos) << j.dump(2);

  HttpResponse page = http_get(s.port(), "/backups");
  ASSERT_EQ(page.status, 200);
  size_t callout = page.body.find("data-code=\"backup-problem\"");
  ASSERT_NE(callout, std::string::npos) << page.body;
  size_t tag = page.body.rfind("<div ", callout);
  EXPECT_EQ(page.body.substr(tag, callout - tag), "<div class=\"callout sev-warning\" ");
  EXPECT_NE(page.body.find("WAL gap: segment " + begin_wal + " is missing", callout), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("pgshift drill", callout), std::string::npos) << "the advice names the next step";
}
