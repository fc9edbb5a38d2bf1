// What one gated statement costs the server, counted from libpq's protocol trace rather than
// timed (timings are bench/mcp's): the round trips of query::run() plus the session reset of a
// pooled connection (one round trip at release, with the ROLLBACK of a transaction run() left
// to the pool),
// and how often the catalog lookup runs on a quiet database. And that the
// lookup's reused answers never hide a change: a change committed by a transaction already
// running when the answer was computed, another search path, a function created meanwhile.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <string>

#include "query/pool.hpp"
#include "query/query.hpp"
#include "query/session_hygiene.hpp"
#include "support/query_corpus.hpp"
#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE accounts (id int PRIMARY KEY, owner text);
INSERT INTO accounts SELECT g, 'owner ' || g FROM generate_series(1, 100) g;
CREATE FUNCTION changing() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE SCHEMA a;
CREATE SCHEMA b;
CREATE FUNCTION a.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION b.f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 2';
CREATE FUNCTION run_text(q text) RETURNS int LANGUAGE plpgsql AS $$BEGIN EXECUTE q; RETURN 1; END$$;
)sql";

// The lookup's prepared statement by name, as the trace shows its Bind (and its Parse, which the
// tests do before tracing); the session reset's check names it in single quotes.
constexpr std::string_view kLookupBound = "\"pgshift_policy_lookup\"";

constexpr std::string_view kStatement = "SELECT id, owner FROM accounts WHERE id = 7";

class QueryCostTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // autovacuum off: nothing but the tests takes transaction ids (an autoanalyze would).
    db_ = new ReaderCluster("query-cost", {{"autovacuum", "off"}}, "app", kSchema);
  }
  static void TearDownTestSuite() { delete db_; }

  // The frontend/backend messages libpq exchanged while fn ran on conn.
  static std::string traced(pg::Connection& conn, const std::function<void()>& fn) {
    FILE* f = std::tmpfile();
    PQtrace(conn.raw(), f);
    PQsetTraceFlags(conn.raw(), PQTRACE_SUPPRESS_TIMESTAMPS);
    fn();
    PQuntrace(conn.raw());
    return read_trace(f);
  }
  // What a trace file holds; closes it.
  static std::string read_trace(FILE* f) {
    std::fflush(f);
    std::string out;
    std::rewind(f);
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
    std::fclose(f);
    return out;
  }
  static int count(const std::string& trace, std::string_view needle) {
    int n = 0;
    for (size_t at = trace.find(needle); at != std::string::npos; at = trace.find(needle, at + 1)) ++n;
    return n;
  }
  // Every round trip ends with the server's ReadyForQuery.
  static int round_trips(const std::string& trace) { return count(trace, "\tReadyForQuery"); }

  // The rule query::run refuses sql with, "" when it ran.
  static std::string refusal(pg::Connection& conn, const std::string& sql, const query::Options& options = {}) {
    try {
      query::run(conn, sql, options);
      return "";
    } catch (const query::Rejected& r) {
      return sqlgate::rule_name(r.verdict().rule);
    }
  }

  static ReaderCluster* db_;
};
ReaderCluster* QueryCostTest::db_ = nullptr;

TEST_F(QueryCostTest, AStatementOnAPooledConnectionTakesFourRoundTrips) {
  pg::Connection conn = db_->open("reader");
  query::run(conn, kStatement);  // prepares the lookup on this session, as a pool's first statement does
  ASSERT_TRUE(query::clean_session(conn));
  query::Result result;
  std::string trace = traced(conn, [&] {
    result = query::run(conn, kStatement);
    ASSERT_TRUE(query::clean_session(conn));
  });
  ASSERT_EQ(result.rows.size(), 1u);
  EXPECT_EQ(result.rows[0][1], "owner 7");
  // BEGIN with the settings; the statement's description (owner is text: its values are cut on
  // the server past the byte budget, query/value_cap.hpp); DECLARE with the first FETCH;
  // ROLLBACK; the session reset with its check. The catalog lookup is not among them: nothing
  // changed since the previous statement.
  EXPECT_EQ(round_trips(trace), 5) << trace;
  EXPECT_EQ(count(trace, kLookupBound), 0) << trace;
}

TEST_F(QueryCostTest, APooledStatementLeavesItsTransactionToTheReleaseWhichEndsItWithTheResetInOneRoundTrip) {
  pg::Connection conn = db_->open("reader");
  query::Options pooled;
  pooled.leave_to_pool = true;
  query::run(conn, kStatement, pooled);
  ASSERT_TRUE(query::clean_session(conn));
  query::Result result;
  std::string trace = traced(conn, [&] { result = query::run(conn, kStatement, pooled); });
  EXPECT_EQ(result.rows.at(0).at(1), "owner 7");
  // BEGIN with the settings; the description; DECLARE with the first FETCH. The transaction is
  // still open: the caller has its rows before anything else is sent.
  EXPECT_EQ(round_trips(trace), 3) << trace;
  EXPECT_EQ(PQtransactionStatus(conn.raw()), PQTRANS_INTRANS);
  trace = traced(conn, [&] { EXPECT_TRUE(query::clean_session(conn)); });
  EXPECT_EQ(round_trips(trace), 1) << "ROLLBACK, the reset and its check: " << trace;
  EXPECT_EQ(PQtransactionStatus(conn.raw()), PQTRANS_IDLE);

  // The reset is the whole of the hygiene: a session lock taken by an allowed function is gone,
  // and a session it cannot vouch for is said so.
  pg::Connection observer = db_->open("superuser");
  const std::string pid = conn.exec("SELECT pg_backend_pid()").scalar();
  pooled.allow_functions = {"public.run_text"};
  query::run(conn, "SELECT run_text('SELECT pg_advisory_lock(4242)')", pooled);
  EXPECT_TRUE(query::clean_session(conn));
  EXPECT_EQ(observer.exec("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1", {pid}).scalar(),
            "0");
  conn.exec("PREPARE stray AS SELECT 1");
  query::run(conn, kStatement, pooled);
  EXPECT_FALSE(query::clean_session(conn)) << "a prepared statement that is not the lookup's";
  conn.exec("DEALLOCATE stray");
  query::run(conn, kStatement, pooled);
  EXPECT_TRUE(query::clean_session(conn));
}

TEST_F(QueryCostTest, AReleasedLeaseIsCleanedInOneRoundTripAndReused) {
  query::Pool pool(db_->cluster().conninfo("app", "reader"), {.max_connections = 1});
  // The round trips releasing a lease takes after a statement that left its transaction open
  // (leave_to_pool) or ended it; the next acquire waits for the cleaning.
  auto release_round_trips = [&](bool leave_to_pool) {
    FILE* f = std::tmpfile();
    PGconn* raw = nullptr;
    {
      query::Pool::Lease lease = pool.acquire("agent");
      query::Options options;
      options.leave_to_pool = leave_to_pool;
      query::Result result = query::run(lease.conn(), kStatement, options);
      EXPECT_EQ(PQtransactionStatus(lease.conn().raw()), leave_to_pool ? PQTRANS_INTRANS : PQTRANS_IDLE);
      raw = lease.conn().raw();
      PQtrace(raw, f);
      PQsetTraceFlags(raw, PQTRACE_SUPPRESS_TIMESTAMPS);
    }
    query::Pool::Lease next = pool.acquire("agent");
    EXPECT_EQ(next.conn().raw(), raw) << "the connection was not reused";
    EXPECT_EQ(PQtransactionStatus(next.conn().raw()), PQTRANS_IDLE);
    if (next.conn().raw() == raw) PQuntrace(raw);
    return round_trips(read_trace(f));
  };
  EXPECT_EQ(release_round_trips(false), 1);  // clean_session()
  EXPECT_EQ(release_round_trips(true), 1);   // the same round trip, with the ROLLBACK first
  EXPECT_EQ(pool.open(), 1);
}

TEST_F(QueryCostTest, AQuietCatalogIsLookedUpOnceForManyStatementsAndConnections) {
  pg::Connection first = db_->open("reader");
  pg::Connection second = db_->open("reader");
  pg::Connection admin = db_->open("superuser");
  for (pg::Connection* c : {&first, &second}) query::run(*c, "SELECT 1 FROM accounts LIMIT 1");  // lookup prepared
  const std::string statement = "SELECT count(*) FROM accounts WHERE id > 3 AND owner LIKE 'o%'";
  std::string trace = traced(first, [&] {
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(query::run(first, statement).rows.at(0).at(0), "97");
      ASSERT_TRUE(query::clean_session(first));
    }
  });
  EXPECT_EQ(count(trace, kLookupBound), 1) << "the lookup ran more than once for a quiet catalog";
  trace = traced(second, [&] { EXPECT_EQ(query::run(second, statement).rows.at(0).at(0), "97"); });
  EXPECT_EQ(count(trace, kLookupBound), 0) << "another connection to the same database and role";

  // Any committed change (here one that does not even touch what the statement uses) means a
  // new lookup: reuse is decided by the snapshot, never by guessing what a change touched.
  run_sql(admin, "CREATE TABLE unrelated (x int)");
  trace = traced(first, [&] { EXPECT_EQ(query::run(first, statement).rows.at(0).at(0), "97"); });
  EXPECT_EQ(count(trace, kLookupBound), 1);
  run_sql(admin, "DROP TABLE unrelated");
}

TEST_F(QueryCostTest, AChangeByATransactionRunningWhenTheAnswerWasComputedIsSeenOnceCommitted) {
  pg::Connection admin = db_->open("superuser");
  pg::Connection reader = db_->open("reader");
  run_sql(admin, "BEGIN; ALTER FUNCTION changing() SECURITY DEFINER");  // holds a transaction id, uncommitted
  EXPECT_EQ(refusal(reader, "SELECT changing()"), "user-function");
  EXPECT_EQ(refusal(reader, "SELECT changing()"), "user-function");
  run_sql(admin, "COMMIT");  // no other transaction id is taken in between
  EXPECT_EQ(refusal(reader, "SELECT changing()"), "security-definer");
  run_sql(admin, "ALTER FUNCTION changing() SECURITY INVOKER");
  EXPECT_EQ(refusal(reader, "SELECT changing()"), "user-function");
}

TEST_F(QueryCostTest, AnAnswerIsNotReusedUnderAnotherSearchPath) {
  pg::Connection in_a = db_->open("reader");
  pg::Connection in_b = db_->open("reader");
  in_a.exec("SET search_path = a, public");
  in_b.exec("SET search_path = b, public");
  query::Options allow_a;
  allow_a.allow_functions = {"a.f"};
  EXPECT_EQ(refusal(in_a, "SELECT f()", allow_a), "");
  EXPECT_EQ(refusal(in_b, "SELECT f()", allow_a), "security-definer") << "f() is b.f() on this search path";
  EXPECT_EQ(refusal(in_a, "SELECT f()", allow_a), "");
}

TEST_F(QueryCostTest, AFunctionCreatedBetweenTwoStatementsIsJudged) {
  pg::Connection admin = db_->open("superuser");
  pg::Connection reader = db_->open("reader");
  const std::string statement = "SELECT count(*) FROM accounts WHERE owner = lower('X')";
  EXPECT_EQ(refusal(reader, statement), "");
  EXPECT_EQ(refusal(reader, statement), "");
  // Not hidden by pg_catalog.lower(text) (other argument types): a candidate for lower('X').
  run_sql(admin, "CREATE FUNCTION public.lower(int) RETURNS text LANGUAGE sql AS 'SELECT $1::text'");
  EXPECT_EQ(refusal(reader, statement), "user-function");
  run_sql(admin, "DROP FUNCTION public.lower(int)");
  EXPECT_EQ(refusal(reader, statement), "");
}

}  // namespace
