// The read-only window's shared database side on a real cluster: the bounded pool (limits,
// per-identity limit, session hygiene and replacement, cancel), the privileged-role guard, and
// run_audited(): one audit line per statement whose correlation id is the backend's
// application_name in the server log.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "audit/audit.hpp"
#include "pg/error.hpp"
#include "query/audited_run.hpp"
#include "query/pool.hpp"
#include "query/role_guard.hpp"
#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

class ReadPoolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("read-pool", {{"log_statement", "'all'"}}).release();
    pg::Connection admin = connect(*cluster_);
    run_sql(admin, R"sql(
CREATE TABLE items (id int PRIMARY KEY, name text);
INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g;
CREATE ROLE reader LOGIN PASSWORD 'reader-pw-123';
GRANT SELECT ON items TO reader;
CREATE ROLE filereader LOGIN PASSWORD 'reader-pw-123';
CREATE ROLE middle NOLOGIN;
GRANT pg_read_server_files TO middle;
GRANT middle TO filereader;
CREATE ROLE signaller LOGIN PASSWORD 'reader-pw-123';
GRANT pg_signal_backend TO signaller;
)sql");
  }
  static void TearDownTestSuite() { delete cluster_; }

  static pg::ConnInfo as(const std::string& user) {
    pg::ConnInfo info = cluster_->conninfo("postgres", user);
    if (user != "postgres") info.set("password", "reader-pw-123");
    return info;
  }
  static std::string server_log() {
    std::ifstream in(cluster_->log_file());
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static query::PoolOptions options(int max, int per_identity = 0, int wait_ms = 300) {
    query::PoolOptions o;
    o.max_connections = max;
    o.per_identity = per_identity;
    o.acquire_timeout = util::Millis(wait_ms);
    return o;
  }

  static LocalCluster* cluster_;
};
LocalCluster* ReadPoolTest::cluster_ = nullptr;

std::string temp_audit_path() {
  return fmt::format("/tmp/pgshift-audit-{}-{}.jsonl", getpid(), audit::random_hex(4));
}

std::vector<nlohmann::json> audit_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST_F(ReadPoolTest, BoundedAndBusyAfterTheWait) {
  query::Pool pool(as("reader"), options(2));
  auto a = std::make_unique<query::Pool::Lease>(pool.acquire("alice"));
  query::Pool::Lease b = pool.acquire("bob");
  EXPECT_EQ(pool.in_use(), 2);
  EXPECT_EQ(pool.open(), 2);
  EXPECT_THROW(pool.acquire("carol"), query::PoolBusy);
  std::thread waiter([&] {
    query::Pool::Lease c = pool.acquire("carol", util::Millis(5000));
    EXPECT_EQ(c.conn().exec("SELECT count(*) FROM items").scalar(), "100");
  });
  ASSERT_TRUE(wait_until([&] { return pool.waiting() == 1; }, util::Millis(3000)));
  a.reset();
  waiter.join();
  EXPECT_EQ(pool.open(), 2) << "a returned connection is reused, not reopened";
}

TEST_F(ReadPoolTest, PerIdentityLimit) {
  query::Pool pool(as("reader"), options(3, 1));
  query::Pool::Lease a = pool.acquire("alice");
  try {
    pool.acquire("alice");
    FAIL() << "alice got a second connection";
  } catch (const query::PoolBusy& e) {
    EXPECT_TRUE(e.per_identity());
    EXPECT_NE(std::string(e.what()).find("alice"), std::string::npos);
  }
  query::Pool::Lease b = pool.acquire("bob");
  EXPECT_EQ(pool.in_use(), 2);
}

TEST_F(ReadPoolTest, SessionStateDoesNotLeakToTheNextLease) {
  query::Pool pool(as("reader"), options(1));
  std::string pid;
  {
    query::Pool::Lease l = pool.acquire("alice");
    pid = l.conn().exec("SELECT pg_backend_pid()").scalar();
    l.conn().exec("SELECT pg_advisory_lock(4242)");
    l.conn().exec("SET work_mem = '77MB'");
  }
  {
    query::Pool::Lease l = pool.acquire("bob");
    EXPECT_EQ(l.conn().exec("SELECT pg_backend_pid()").scalar(), pid);
    EXPECT_EQ(l.conn().exec("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").scalar(), "0");
    EXPECT_NE(l.conn().exec("SHOW work_mem").scalar(), "77MB");
    l.conn().exec("BEGIN");  // left open (as query::run leaves a pooled statement's): rolled back
    l.conn().exec("SET LOCAL work_mem = '78MB'");
  }
  {
    query::Pool::Lease l = pool.acquire("carol");
    EXPECT_EQ(l.conn().exec("SELECT pg_backend_pid()").scalar(), pid);
    EXPECT_EQ(PQtransactionStatus(l.conn().raw()), PQTRANS_IDLE);
    EXPECT_NE(l.conn().exec("SHOW work_mem").scalar(), "78MB");
    l.conn().exec("PREPARE stray AS SELECT 1");  // state the reset does not drop: the connection is replaced
  }
  query::Pool::Lease l = pool.acquire("dave");
  EXPECT_NE(l.conn().exec("SELECT pg_backend_pid()").scalar(), pid);
  EXPECT_EQ(PQtransactionStatus(l.conn().raw()), PQTRANS_IDLE);
}

TEST_F(ReadPoolTest, CancelSignalStopsTheRunningStatement) {
  query::Pool pool(as("reader"), options(1));
  audit::Log log("");
  query::CancelSignal cancel;
  query::Caller who;
  who.identity = "alice";
  std::thread canceller([&] {
    pg::Connection admin = connect(*cluster_);
    wait_until([&] {
      return admin.exec("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgshift/console/%' "
                        "AND state = 'active' AND query LIKE 'FETCH%'")
                 .scalar() == "1";
    }, util::Millis(10000));
    cancel.cancel();
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(query::run_audited(pool, log, who, "SELECT count(*) FROM generate_series(1, 2000000000)",
                                  query::Options{}, &cancel),
               query::Cancelled);
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  // A signal cancelled before the statement starts cancels it at once.
  EXPECT_THROW(query::run_audited(pool, log, who, "SELECT count(*) FROM generate_series(1, 2000000000)", query::Options{}, &cancel), query::Cancelled);
}

TEST_F(ReadPoolTest, RoleGuardRefusesPrivilegedRoles) {
  for (const char* user : {"postgres", "filereader", "signaller"}) {
    pg::Connection conn = pg::Connection::open(as(user));
    try {
      query::guard_role(conn, false);
      ADD_FAILURE() << user << " was accepted";
    } catch (const query::PrivilegedRole& e) {
      EXPECT_NE(std::string(e.what()).find("--allow-privileged-role"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(user), std::string::npos) << e.what();
    }
    std::string warning = query::guard_role(conn, true);
    EXPECT_NE(warning.find(user), std::string::npos);
  }
  pg::Connection fr = pg::Connection::open(as("filereader"));
  EXPECT_EQ(query::inspect_role(fr).memberships, std::vector<std::string>{"pg_read_server_files"});
  EXPECT_TRUE(query::inspect_role(*std::make_unique<pg::Connection>(pg::Connection::open(as("postgres")))).superuser);
  pg::Connection reader = pg::Connection::open(as("reader"));
  EXPECT_EQ(query::guard_role(reader, false), "");
}

TEST_F(ReadPoolTest, AuditedRunWritesOneLinePerStatement) {
  std::string path = temp_audit_path();
  query::Pool pool(as("reader"), options(2));
  audit::Log log(path);
  std::vector<std::string> observed;
  log.set_observer([&](const audit::Record& r) { observed.push_back(audit::outcome_name(r.outcome)); });
  query::Caller who;
  who.identity = "alice@example.com";
  who.client_address = "127.0.0.1";
  who.session_id = "session-1";
  who.extra = {{"tool", "query"}};
  query::Options o;
  o.limit = 10;
  query::Result ok = query::run_audited(pool, log, who, "SELECT id, name FROM items WHERE id <= 50 ORDER BY id", o);
  EXPECT_EQ(ok.rows.size(), 10u);
  EXPECT_THROW(query::run_audited(pool, log, who, "DELETE FROM items", o), query::Rejected);
  EXPECT_THROW(query::run_audited(pool, log, who, "SELECT 1/0", o), pg::SqlError);
  query::Options quick = o;
  quick.timeout = util::Millis(200);
  EXPECT_THROW(query::run_audited(pool, log, who, "SELECT count(*) FROM generate_series(1, 2000000000)", quick), query::Timeout);
  EXPECT_THROW(query::run_audited(pool, log, who, "ALTER ROLE reader PASSWORD 'new-secret-pw'", o), query::Rejected);

  auto lines = audit_lines(path);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(observed, (std::vector<std::string>{"ok", "rejected", "error", "timeout", "rejected"}));
  const nlohmann::json& first = lines[0];
  EXPECT_EQ(first["surface"], "console");
  EXPECT_EQ(first["identity"], "alice@example.com");
  EXPECT_EQ(first["client_address"], "127.0.0.1");
  EXPECT_EQ(first["session_id"], "session-1");
  EXPECT_EQ(first["outcome"], "ok");
  EXPECT_EQ(first["rows"], 10);
  EXPECT_EQ(first["truncated"], true);
  EXPECT_GT(first["bytes"].get<long long>(), 0);
  EXPECT_FALSE(first["fingerprint"].get<std::string>().empty());
  EXPECT_NE(first["normalized"].get<std::string>().find("$1"), std::string::npos) << first.dump();
  EXPECT_EQ(first["extra"]["tool"], "query");
  EXPECT_EQ(lines[1]["outcome"], "rejected");
  EXPECT_FALSE(lines[1]["rule"].is_null());
  EXPECT_EQ(lines[2]["outcome"], "error");
  EXPECT_EQ(lines[2]["sqlstate"], "22012");
  EXPECT_EQ(lines[3]["outcome"], "timeout");
  EXPECT_EQ(lines[4]["statement"].get<std::string>().find("new-secret-pw"), std::string::npos);

  // The correlation id is the backend's application_name while the statement ran.
  std::string id = first["correlation_id"];
  EXPECT_EQ(id.size(), 16u);
  std::string log_text = server_log();
  // log_line_prefix is '%m [%p] %q%a ': the name follows the pid.
  bool found = false;
  for (size_t at = log_text.find("] pgshift/console/" + id + " "); at != std::string::npos && !found;
       at = log_text.find("] pgshift/console/" + id + " ", at + 1)) {
    std::string line = log_text.substr(at, log_text.find('\n', at) - at);
    found = line.find("FROM items WHERE id <= 50") != std::string::npos;
  }
  EXPECT_TRUE(found) << "no server log line of the statement carries pgshift/console/" << id;
  std::remove(path.c_str());
}
