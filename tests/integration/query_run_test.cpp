// query::run() and `pgshift query` on a real cluster: the cursor's bounded result on a table of
// five million rows, the transaction's settings, timeouts, cancel and a killed backend leaving
// the connection usable, values (NULL, types, bytea, invalid UTF-8), a database with
// standard_conforming_strings off, and the CLI's formats, exit codes and messages.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "pg/error.hpp"
#include "query/format.hpp"
#include "query/query.hpp"
#include "support/support.hpp"
#include "util/utf8.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using Clock = std::chrono::steady_clock;

namespace {

constexpr long long kBigRows = 5'000'000;

constexpr std::string_view kAppSchema = R"sql(
CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 5000000) g;
CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric(12,2));
INSERT INTO accounts VALUES (1, 'alice', 10.50), (2, 'bob', NULL), (3, '', 0);
CREATE TABLE locked (id int);
)sql";

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

class QueryRunTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // log_statement=all: the server log shows every statement that reached it.
    cluster_ = start_cluster("query-run", {{"log_statement", "'all'"}}).release();
    cluster_->create_database("app");
    pg::Connection admin = connect(*cluster_, "app");
    run_sql(admin, kAppSchema);
  }
  static void TearDownTestSuite() { delete cluster_; }

  static pg::Connection app() { return connect(*cluster_, "app"); }
  static std::string url(const std::string& db = "app") { return cluster_->url(db); }
  static std::string server_log() {
    std::ifstream in(cluster_->log_file());
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static std::string backend_pid(pg::Connection& conn) { return conn.exec("SELECT pg_backend_pid()").scalar(); }

 public:
  static LocalCluster* cluster_;
};
LocalCluster* QueryRunTest::cluster_ = nullptr;

LocalCluster* QueryRunTestCluster() { return QueryRunTest::cluster_; }

TEST_F(QueryRunTest, FiveMillionRowsWithLimit1000ReturnsTheFirst1000AndSaysTruncated) {
  pg::Connection conn = app();
  ASSERT_EQ(count_rows(conn, "big"), kBigRows);
  query::Options options;
  options.limit = 1000;
  auto start = Clock::now();
  query::Result r = query::run(conn, "SELECT * FROM big", options);
  long long ms = elapsed_ms(start);
  EXPECT_EQ(r.rows.size(), 1000u);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.truncated_by, query::Truncation::limit);
  EXPECT_EQ(r.columns.size(), 1u);
  EXPECT_EQ(r.columns[0].name, "id");
  EXPECT_EQ(r.columns[0].type_name, "integer");
  EXPECT_EQ(*r.rows[0][0], "1");
  EXPECT_EQ(*r.rows[999][0], "1000");
  // The cursor stops after limit + 1 rows: nowhere near the time a full scan of 5M rows takes.
  EXPECT_LT(ms, 2000) << "took " << ms << " ms";
  std::printf("5M rows, limit 1000: %lld ms\n", ms);
}

TEST_F(QueryRunTest, LimitsAcrossSeveralFetchesAndExactCounts) {
  pg::Connection conn = app();
  query::Options options;
  options.limit = 25'000;  // three FETCH batches
  query::Result r = query::run(conn, "SELECT id FROM big ORDER BY id", options);
  EXPECT_EQ(r.rows.size(), 25'000u);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(*r.rows[24'999][0], "25000");

  options.limit = 5;
  r = query::run(conn, "SELECT * FROM generate_series(1, 5)", options);
  EXPECT_EQ(r.rows.size(), 5u);
  EXPECT_FALSE(r.truncated) << "exactly limit rows is not truncated";
  options.limit = 4;
  EXPECT_TRUE(query::run(conn, "SELECT * FROM generate_series(1, 5)", options).truncated);
  options.limit = 3;
  r = query::run(conn, "SHOW ALL", options);
  EXPECT_EQ(r.rows.size(), 3u);
  EXPECT_TRUE(r.truncated);
}

TEST_F(QueryRunTest, ByteBudgetTruncatesWideResults) {
  pg::Connection conn = app();
  query::Options options;
  options.max_bytes = 10'000;
  query::Result r = query::run(conn, "SELECT repeat('x', 1000) FROM generate_series(1, 100)", options);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.truncated_by, query::Truncation::bytes);
  EXPECT_LE(r.rows.size(), 11u);
  EXPECT_GE(r.rows.size(), 10u);
}

TEST_F(QueryRunTest, TheTransactionIsReadOnlyWithTheTimeoutsAndLeavesNothingBehind) {
  pg::Connection conn = app();
  query::Options options;
  options.timeout = util::Millis(1500);
  options.lock_timeout = util::Millis(300);
  auto show = [&](const char* setting) { return *query::run(conn, fmt::format("SHOW {}", setting), options).rows[0][0]; };
  EXPECT_EQ(show("transaction_read_only"), "on");
  EXPECT_EQ(show("statement_timeout"), "1500ms");
  EXPECT_EQ(show("lock_timeout"), "300ms");
  EXPECT_EQ(show("idle_in_transaction_session_timeout"), "10s");
  EXPECT_EQ(show("standard_conforming_strings"), "on");
  // Inside a query, too (the cursor runs in the same transaction).
  query::Result r = query::run(conn, "SELECT current_setting('transaction_read_only'), txid_current_if_assigned()");
  EXPECT_EQ(*r.rows[0][0], "on");
  EXPECT_FALSE(r.rows[0][1].has_value()) << "a read must not assign a transaction id";
  // Afterwards the session is idle with its own settings back.
  EXPECT_EQ(PQtransactionStatus(conn.raw()), PQTRANS_IDLE);
  EXPECT_EQ(conn.exec("SHOW statement_timeout").scalar(), "0");
  EXPECT_EQ(conn.exec("SHOW transaction_read_only").scalar(), "off");
  EXPECT_TRUE(conn.exec("SELECT * FROM pg_cursors WHERE name = 'pgshift_query'").empty());
}

TEST_F(QueryRunTest, ValuesKeepNullApartFromEmptyAndNameTheirTypes) {
  pg::Connection conn = app();
  query::Result r = query::run(conn,
                               "SELECT owner, balance, NULL::text AS nothing, now() AS at, 'x'::varchar(20) AS v "
                               "FROM accounts ORDER BY id");
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.columns[1].type_name, "numeric(12,2)");
  EXPECT_EQ(r.columns[3].type_name, "timestamp with time zone");
  EXPECT_EQ(r.columns[4].type_name, "character varying(20)");
  EXPECT_EQ(*r.rows[0][1], "10.50");
  EXPECT_FALSE(r.rows[1][1].has_value());
  EXPECT_EQ(r.rows[2][0], std::optional<std::string>(""));
  EXPECT_FALSE(r.rows[0][2].has_value());
  EXPECT_EQ(r.verdict.kind, sqlgate::Kind::query);
  EXPECT_EQ(r.verdict.normalized, "SELECT owner, balance, NULL::text AS nothing, now() AS at, $1::varchar($2) AS v "
                                  "FROM accounts ORDER BY id");
  EXPECT_EQ(query::run(conn, "EXPLAIN (FORMAT JSON) SELECT * FROM accounts").verdict.kind, sqlgate::Kind::explain);
}

TEST_F(QueryRunTest, RejectedTextNeverReachesTheServer) {
  pg::Connection conn = app();
  const std::string marker = "SELECT pg_sleep(0.0123456)";
  try {
    query::run(conn, marker);
    FAIL() << "accepted";
  } catch (const query::Rejected& r) {
    EXPECT_EQ(r.verdict().rule, sqlgate::Rule::denied_function);
    EXPECT_EQ(r.exit_code(), ExitCode::problems_found);
  }
  query::run(conn, "SELECT 'after the rejected one'");
  std::string log = server_log();
  EXPECT_NE(log.find("after the rejected one"), std::string::npos) << "log_statement must be on";
  EXPECT_EQ(log.find("0.0123456"), std::string::npos) << "the rejected statement reached the server";
}

constexpr const char* kLongQuery = "SELECT count(*) FROM generate_series(1, 2000000000)";

// The Timeout's message, or "no timeout".
std::string timeout_message(pg::Connection& conn, const std::string& sql, const query::Options& options) {
  try {
    query::run(conn, sql, options);
  } catch (const query::Timeout& e) {
    return e.what();
  }
  return "no timeout";
}

// Runs kLongQuery through query::run on conn, calling interrupt() from another thread once the
// server shows the cursor's FETCH running; returns what run() threw ("" when nothing).
template <class Interrupt>
std::string interrupted(pg::Connection& conn, Interrupt interrupt) {
  std::string pid = conn.exec("SELECT pg_backend_pid()").scalar();
  pg::Connection watcher = connect(*QueryRunTestCluster(), "app");
  std::thread thread([&] {
    bool running = wait_until(
        [&] {
          return !watcher
                      .exec("SELECT 1 FROM pg_stat_activity WHERE pid = $1::int AND state = 'active' "
                            "AND query LIKE 'FETCH%'",
                            {pid})
                      .empty();
        },
        util::Millis(10'000));
    if (running) interrupt(watcher, pid);
  });
  std::string thrown;
  try {
    query::run(conn, kLongQuery);
  } catch (const query::Cancelled&) {
    thrown = "Cancelled";
  } catch (const query::ConnectionLost& e) {
    thrown = std::string("ConnectionLost: ") + e.what();
  } catch (const pg::SqlError& e) {
    thrown = "SqlError " + e.sqlstate();
  }
  thread.join();
  return thrown;
}

TEST_F(QueryRunTest, TimeoutLeavesTheConnectionUsable) {
  pg::Connection conn = app();
  std::string pid = backend_pid(conn);
  query::Options options;
  options.timeout = util::Millis(300);
  auto start = Clock::now();
  std::string message = timeout_message(conn, kLongQuery, options);
  EXPECT_NE(message.find("ran longer than 300ms"), std::string::npos) << message;
  EXPECT_LT(elapsed_ms(start), 5000);
  EXPECT_EQ(PQtransactionStatus(conn.raw()), PQTRANS_IDLE);
  EXPECT_EQ(backend_pid(conn), pid) << "a timeout must not need a new connection";
  EXPECT_EQ(*query::run(conn, "SELECT 41 + 1").rows[0][0], "42");
}

TEST_F(QueryRunTest, CancelFromAnotherThreadLeavesTheConnectionUsable) {
  pg::Connection conn = app();
  EXPECT_EQ(interrupted(conn, [&](pg::Connection&, const std::string&) { conn.cancel(); }), "Cancelled");
  EXPECT_EQ(*query::run(conn, "SELECT 'still here'").rows[0][0], "still here");
}

TEST_F(QueryRunTest, AKilledBackendIsReplaced) {
  pg::Connection conn = app();
  std::string pid = backend_pid(conn);
  std::string thrown = interrupted(conn, [](pg::Connection& admin, const std::string& victim) {
    admin.exec("SELECT pg_terminate_backend($1::int)", {victim});
  });
  EXPECT_TRUE(thrown.starts_with("ConnectionLost: ")) << thrown;
  EXPECT_NE(thrown.find("re-connected"), std::string::npos) << thrown;
  ASSERT_TRUE(conn.is_ok());
  EXPECT_NE(backend_pid(conn), pid);
  EXPECT_EQ(*query::run(conn, "SELECT 'replaced'").rows[0][0], "replaced");
}

TEST_F(QueryRunTest, ALockHeldByAnotherSessionTimesOutQuickly) {
  pg::Connection holder = app();
  holder.exec("BEGIN");
  holder.exec("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE");
  pg::Connection conn = app();
  query::Options options;
  options.lock_timeout = util::Millis(200);
  auto start = Clock::now();
  std::string message = timeout_message(conn, "SELECT * FROM locked", options);
  EXPECT_NE(message.find("could not get a lock within 200ms"), std::string::npos) << message;
  EXPECT_LT(elapsed_ms(start), 3000);
  holder.exec("ROLLBACK");
  EXPECT_TRUE(query::run(conn, "SELECT * FROM locked", options).rows.empty());
}

TEST_F(QueryRunTest, ServerSplitsTheTextLikeTheGateEvenWithStandardConformingStringsOff) {
  cluster_->create_database("legacy");
  pg::Connection admin = connect(*cluster_, "legacy");
  run_sql(admin, "CREATE TABLE accounts (id int); INSERT INTO accounts VALUES (1), (2);"
                 "ALTER DATABASE legacy SET standard_conforming_strings = off");
  pg::Connection conn = connect(*cluster_, "legacy");
  ASSERT_EQ(conn.exec("SHOW standard_conforming_strings").scalar(), "off");
  // With standard strings this is one string literal; with backslash escapes it would be a
  // SELECT and a DELETE. pgshift forces the former for the transaction, as the gate parsed it.
  const std::string sql = "SELECT 'a\\'' ; DELETE FROM accounts; --'";
  ASSERT_TRUE(sqlgate::check(sql).accepted);
  query::Result r = query::run(conn, sql);
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(*r.rows[0][0], "a\\' ; DELETE FROM accounts; --");
  EXPECT_EQ(count_rows(conn, "accounts"), 2);
}

TEST_F(QueryRunTest, InvalidUtf8FromAnSqlAsciiDatabaseNeverBreaksOutput) {
  pg::Connection admin = app();
  admin.exec("CREATE DATABASE raw ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
  pg::Connection raw = connect(*cluster_, "raw");
  raw.exec("CREATE TABLE t (v text)");
  raw.exec("INSERT INTO t SELECT convert_from('\\x636166e920fffe20656e64'::bytea, 'SQL_ASCII')");
  query::Result r = query::run(raw, "SELECT v, v AS \"w\" FROM t");
  ASSERT_EQ(r.rows.size(), 1u);
  for (auto format : {query::Format::table, query::Format::csv, query::Format::json, query::Format::markdown}) {
    std::string text = query::render(r, format);
    EXPECT_EQ(util::first_invalid_utf8(text), std::string::npos) << text;
    EXPECT_NE(text.find("caf\xEF\xBF\xBD"), std::string::npos) << text;
  }
  // A LATIN1 database's text arrives converted to UTF-8.
  admin.exec("CREATE DATABASE latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
  pg::Connection latin = connect(*cluster_, "latin");
  EXPECT_EQ(*query::run(latin, "SELECT convert_from('\\x636166e9'::bytea, 'LATIN1')").rows[0][0], "caf\xC3\xA9");

  CliRun cli = run_pgshift({"query", "--db", url("raw"), "--format", "json", "SELECT v FROM t"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(nlohmann::json::parse(cli.out)[0]["v"], "caf\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD end");
}

// ---- the CLI, as a user runs it ----

TEST_F(QueryRunTest, CliPrintsEachFormatAndTheSummaryOnStderr) {
  const std::string sql = "SELECT id, owner, balance FROM accounts ORDER BY id";
  CliRun table = run_pgshift({"query", "--db", url(), sql});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out,
            "id  owner  balance\n"
            "--  -----  -------\n"
            " 1  alice    10.50\n"
            " 2  bob       NULL\n"
            " 3            0.00\n");
  EXPECT_NE(table.err.find("3 rows in"), std::string::npos) << table.err;

  CliRun csv = run_pgshift({"query", "--db", url(), "--format", "csv", sql});
  EXPECT_EQ(csv.out, "id,owner,balance\r\n1,alice,10.50\r\n2,bob,\r\n3,\"\",0.00\r\n");

  CliRun json = run_pgshift({"query", "--db", url(), "--json", sql});
  auto doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc[0]["id"], 1);
  EXPECT_EQ(doc[0]["balance"], "10.50");
  EXPECT_TRUE(doc[1]["balance"].is_null());
  EXPECT_EQ(doc[2]["owner"], "");

  CliRun md = run_pgshift({"query", "--db", url(), "--format", "markdown", "SELECT 'a|b' AS \"x|y\""});
  EXPECT_EQ(md.out, "| x\\|y |\n| --- |\n| a\\|b |\n");
  for (const CliRun* run : {&table, &csv, &json, &md}) expect_no_password(run->all());
}

TEST_F(QueryRunTest, CliTruncatesAtTheLimitOnTheBigTable) {
  CliRun r = run_pgshift({"query", "--db", url(), "--limit", "1000", "--format", "csv", "SELECT * FROM big"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(line_count(r.out), 1001u);
  EXPECT_NE(r.err.find("1000 rows (truncated at the limit of 1000; there are more)"), std::string::npos) << r.err;
}

TEST_F(QueryRunTest, CliShowsByteaShortenedInTablesAndWholeInCsv) {
  const std::string sql = "SELECT decode(repeat('ab', 5000), 'hex') AS blob";
  CliRun table = run_pgshift({"query", "--db", url(), sql});
  EXPECT_NE(table.out.find("\\xabab"), std::string::npos);
  EXPECT_NE(table.out.find("… (5000 bytes)"), std::string::npos) << table.out;
  EXPECT_LT(table.out.size(), 300u);
  CliRun csv = run_pgshift({"query", "--db", url(), "--format", "csv", sql});
  EXPECT_NE(csv.out.find("\\x" + [] {
    std::string s;
    for (int i = 0; i < 5000; ++i) s += "ab";
    return s;
  }()),
            std::string::npos);
}

TEST_F(QueryRunTest, CliReadsSqlFromStdinAndTheDatabaseFromTheEnvironment) {
  util::ProcessSpec spec;
  spec.argv = {PGSHIFT_BINARY, "query", "--format", "csv", "-"};
  spec.env = {{"PGSHIFT_DB_URL", url()}, {"NO_COLOR", "1"}};
  util::RunResult r = util::run(spec, util::Millis(60'000), "SELECT owner FROM accounts WHERE id = 1;\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "owner\r\nalice\r\n");
}

TEST_F(QueryRunTest, CliShowsAServerErrorWithACaretUnderTheUsersText) {
  CliRun r = run_pgshift({"query", "--db", url(), "SELECT id\nFROM accounts\nWHERE id = 'x'"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("22P02"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(at character 36)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("LINE 3: WHERE id = 'x'\n"
                       "                   ^"),
            std::string::npos)
      << r.err;
}

TEST_F(QueryRunTest, CliRejectsWithTheRuleTheReasonAndACaret) {
  CliRun r = run_pgshift({"query", "--db", url(), "SELECT id,\n       pg_catalog.pg_sleep(5)\nFROM accounts"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("pgshift: rejected [denied-function]: pg_sleep() is not allowed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(at character 19)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("LINE 2:        pg_catalog.pg_sleep(5)\n"
                       "               ^"),
            std::string::npos)
      << r.err;

  CliRun multi = run_pgshift({"query", "--db", url(), "COMMIT; DROP TABLE accounts"});
  EXPECT_EQ(multi.exit_code, 1);
  EXPECT_NE(multi.err.find("multiple-statements"), std::string::npos) << multi.err;
  pg::Connection conn = app();
  EXPECT_EQ(count_rows(conn, "accounts"), 3);
}

TEST_F(QueryRunTest, CliExitCodesForRuntimeAndUsageErrors) {
  CliRun missing = run_pgshift({"query", "--db", url(), "SELECT * FROM no_such_table"});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.err.find("relation \"no_such_table\" does not exist"), std::string::npos) << missing.err;
  expect_no_password(missing.all());

  CliRun slow = run_pgshift({"query", "--db", url(), "--timeout", "200ms",
                             "SELECT count(*) FROM generate_series(1, 2000000000)"});
  EXPECT_EQ(slow.exit_code, 3);
  EXPECT_NE(slow.err.find("ran longer than 200ms"), std::string::npos) << slow.err;

  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--limit", "0"}, "--limit: must be between 1 and 1000000"},
           {{"--limit", "ten"}, "--limit"},
           {{"--timeout", "soon"}, "--timeout"},
           {{"--timeout", "0s"}, "--timeout: must be positive"},
           {{"--format", "xml"}, "--format: unknown format 'xml'"},
       }) {
    std::vector<std::string> args = {"query", "--db", url()};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.push_back("SELECT 1");
    CliRun r = run_pgshift(args);
    EXPECT_EQ(r.exit_code, 2) << c.message << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  CliRun no_db = run_pgshift({"query", "SELECT 1"});
  EXPECT_EQ(no_db.exit_code, 2);
  EXPECT_NE(no_db.err.find("no database: pass --db URL or set PGSHIFT_DB_URL"), std::string::npos) << no_db.err;
  CliRun no_sql = run_pgshift({"query", "--db", url()});
  EXPECT_EQ(no_sql.exit_code, 2);
  EXPECT_NE(no_sql.err.find("no SQL"), std::string::npos) << no_sql.err;
  CliRun bad_url = run_pgshift({"query", "--db", "postgresql://u:hunter2-secret@127.0.0.1:1/x", "SELECT 1"});
  EXPECT_EQ(bad_url.exit_code, 3);
  EXPECT_EQ(bad_url.all().find("hunter2-secret"), std::string::npos) << bad_url.all();
}

}  // namespace
