#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "audit/audit.hpp"
#include "util/redact.hpp"

using namespace pgshift;
using namespace pgshift::audit;

namespace {

std::string temp_path() {
  char path[] = "/tmp/pgshift-audit-XXXXXX";
  int fd = mkstemp(path);
  ::close(fd);
  std::remove(path);
  return path;
}

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST(Audit, RecordHasEveryField) {
  Record r;
  r.surface = "console";
  r.identity = "alice@example.com";
  r.client_address = "127.0.0.1";
  r.session_id = "s1";
  r.correlation_id = "0123456789abcdef";
  r.statement = "SELECT 1";
  r.normalized = "SELECT $1";
  r.fingerprint = "fp";
  r.outcome = Outcome::rejected;
  r.rule = "write";
  r.duration_ms = 1.25;
  r.extra = {{"tool", "query"}};
  auto j = r.to_json();
  for (const char* key : {"time", "surface", "identity", "client_address", "session_id", "correlation_id", "statement",
                          "normalized", "fingerprint", "outcome", "rule", "sqlstate", "message", "duration_ms", "rows",
                          "truncated", "bytes", "extra"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["outcome"], "rejected");
  EXPECT_EQ(j["rule"], "write");
  EXPECT_TRUE(j["sqlstate"].is_null());
  EXPECT_EQ(j["extra"]["tool"], "query");
  EXPECT_EQ(j["time"].get<std::string>().size(), 24u);  // 2026-12-01T19:41:39.123Z
  EXPECT_EQ(j["time"].get<std::string>().back(), 'Z');
}

TEST(Audit, RedactsPasswords) {
  util::register_secret("registered-secret-value");
  EXPECT_EQ(redact_statement("ALTER ROLE app PASSWORD 'hunter2'"), "ALTER ROLE app PASSWORD '****'");
  EXPECT_EQ(redact_statement("create role x encrypted password 'it''s'"), "create role x encrypted password '****'");
  std::string url = redact_statement("SELECT dblink('postgresql://u:topsecret@h/db', 'x')");
  EXPECT_EQ(url.find("topsecret"), std::string::npos) << url;
  EXPECT_EQ(redact_statement("SELECT 'registered-secret-value'").find("registered-secret-value"), std::string::npos);
  Record r;
  r.statement = "SELECT 1";
  r.message = "password=abcdefgh";
  r.extra = {{"note", "registered-secret-value"}};
  std::string line = r.to_json().dump();
  EXPECT_EQ(line.find("registered-secret-value"), std::string::npos);
  EXPECT_EQ(line.find("abcdefgh"), std::string::npos) << line;
}

TEST(Audit, CorrelationIdsAndApplicationName) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_correlation_id();
    ASSERT_EQ(id.size(), 16u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_EQ(new_session_id().size(), 32u);
  EXPECT_EQ(application_name("console", "0123456789abcdef"), "pgshift/console/0123456789abcdef");
  EXPECT_EQ(application_name("console", std::string(100, 'a')).size(), 63u);
}

TEST(Audit, ConcurrentWritersKeepWholeLines) {
  std::string path = temp_path();
  {
    Log log(path);
    int observed = 0;
    log.set_observer([&](const Record&) { ++observed; });  // called outside the lock; count roughly
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < 200; ++i) {
          Record r;
          r.surface = "console";
          r.identity = "thread-" + std::to_string(t);
          r.statement = std::string(500, 'x');
          log.write(r);
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  auto lines = read_lines(path);
  EXPECT_EQ(lines.size(), 1600u);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::remove(path.c_str());
}

TEST(Audit, AppendsToAnExistingFile) {
  std::string path = temp_path();
  for (int i = 0; i < 2; ++i) {
    Log log(path);
    Record r;
    r.statement = "SELECT " + std::to_string(i);
    log.write(r);
  }
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["statement"], "SELECT 1");
  std::remove(path.c_str());
}
