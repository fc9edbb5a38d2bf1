// The catalog check of query::run() (query/policy_check.hpp, sqlgate/function_policy.hpp) on a
// real cluster with tablefunc, pg_prewarm (autoprewarm loaded through shared_preload_libraries)
// and file_fdw installed: each probe of the issue that got through the name-based gate is
// refused, as the README's recommended reader role and as the superuser, and nothing it would
// have done happened (a victim session lives, no advisory lock, no WAL message, no xid, no
// dump file); each is allowed once named with --allow-function where that makes sense; a
// session lock taken by an allowed function is gone after clean_session().
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <initializer_list>

#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "query/policy_check.hpp"
#include "query/query.hpp"
#include "query/read_only_transaction.hpp"
#include "query/session_hygiene.hpp"
#include "support/query_corpus.hpp"
#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE EXTENSION tablefunc;
CREATE EXTENSION pg_prewarm;
CREATE EXTENSION file_fdw;
CREATE TABLE accounts (id int PRIMARY KEY, owner text);
INSERT INTO accounts SELECT g, 'owner ' || g FROM generate_series(1, 100) g;
CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE shell_out (line text) SERVER files OPTIONS (program 'echo pwned');
CREATE VIEW shell_view AS SELECT upper(line) AS line FROM (SELECT * FROM shell_out) s;
CREATE VIEW shell_view_view AS SELECT * FROM shell_view;
CREATE TABLE logs (line text);
CREATE FOREIGN TABLE logs_external () INHERITS (logs) SERVER files OPTIONS (program 'echo inherited');
CREATE FUNCTION run_text(q text) RETURNS int LANGUAGE plpgsql AS $$BEGIN EXECUTE q; RETURN 1; END$$;
CREATE FUNCTION run_text2(q text) RETURNS int LANGUAGE plpgsql AS $$BEGIN EXECUTE q; RETURN 2; END$$;
CREATE FUNCTION as_owner() RETURNS text LANGUAGE sql SECURITY DEFINER AS 'SELECT current_user::text';
CREATE FUNCTION secret(accounts) RETURNS text LANGUAGE plpgsql AS $$BEGIN RETURN 'via ' || $1.owner; END$$;
CREATE FUNCTION upper(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE FUNCTION to_mood(int) RETURNS mood LANGUAGE plpgsql AS $$BEGIN RETURN 'ok'; END$$;
CREATE CAST (int AS mood) WITH FUNCTION to_mood(int);
CREATE FUNCTION same_owner(text, text) RETURNS bool LANGUAGE plpgsql AS $$BEGIN RETURN $1 = $2; END$$;
CREATE OPERATOR === (LEFTARG = text, RIGHTARG = text, FUNCTION = same_owner);
CREATE SCHEMA shadow;
CREATE FUNCTION shadow.generate_series(int, int) RETURNS SETOF int LANGUAGE sql AS 'SELECT 1';
)sql";

// Denied-family calls people hid inside crosstab's SQL text.
constexpr std::array<const char*, 8> kInside = {
    "pg_terminate_backend({victim})", "pg_logical_emit_message(false, 'p', 'x')::text", "txid_current()::text",
    "pg_advisory_lock(7)::text",      "pg_reload_conf()::text", "pg_stat_reset_shared('bgwriter')::text",
    "lo_export(0, '/tmp/x')::text",   "pg_read_file('postmaster.pid')"};

class QueryFunctionPolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new ReaderCluster("query-policy",
                            {{"shared_preload_libraries", "'pg_prewarm'"}, {"pg_prewarm.autoprewarm_interval", "0"},
                             {"wal_level", "logical"}, {"autovacuum", "off"}},
                            "app", kSchema);
  }
  static void TearDownTestSuite() { delete db_; }
  static pg::Connection open(const std::string& user) { return db_->open(user); }

  // The rule query::run refuses sql with ("" when it ran), and the reason.
  static std::pair<std::string, std::string> refusal(pg::Connection& conn, const std::string& sql,
                                                     const query::Options& options = {}) {
    try {
      query::run(conn, sql, options);
      return {"", ""};
    } catch (const query::Rejected& r) {
      EXPECT_GT(r.verdict().position, 0) << sql;
      EXPECT_FALSE(r.verdict().fingerprint.empty()) << sql;
      return {sqlgate::rule_name(r.verdict().rule), r.verdict().reason};
    }
  }

  // Expects query::run to refuse sql with rule, the reason holding each of the needles.
  static void expect_refused(pg::Connection& conn, const std::string& sql, const std::string& rule,
                             std::initializer_list<std::string_view> needles) {
    auto [got, reason] = refusal(conn, sql);
    EXPECT_EQ(got, rule) << sql << ": " << reason;
    for (std::string_view needle : needles) EXPECT_NE(reason.find(needle), std::string::npos) << reason;
  }

  static query::Options allowing(std::vector<std::string> functions, std::vector<std::string> tables = {}) {
    query::Options o;
    o.allow_functions = std::move(functions);
    o.allow_foreign_tables = std::move(tables);
    return o;
  }

  static ReaderCluster* db_;
};
ReaderCluster* QueryFunctionPolicyTest::db_ = nullptr;

TEST_F(QueryFunctionPolicyTest, TheCrosstabFamilyIsRefusedWithEachDeniedFunctionInside) {
  pg::Connection victim = open("reader");
  const std::string victim_pid = victim.exec("SELECT pg_backend_pid()").scalar();
  pg::Connection observer = open("superuser");
  // What a write leaves: an xid handed out, an advisory lock, or a change or message decoded from
  // the WAL (a temporary test_decoding slot). Not the raw WAL position: the checkpointer and the
  // bgwriter's running-xacts records move it on an idle server, more so on a loaded machine.
  observer.exec("SELECT pg_create_logical_replication_slot('policy_canary', 'test_decoding', true)");
  auto state = [&] {
    return observer.exec("SELECT pg_snapshot_xmax(pg_current_snapshot()) || ' ' || "
                         "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory') || ' ' || "
                         "(SELECT count(*) FROM pg_logical_slot_peek_changes('policy_canary', NULL, NULL))")
        .scalar();
  };
  const std::string before = state();
  int probes = 0;
  for (const char* user : {"reader", "superuser"}) {
    pg::Connection conn = open(user);
    for (const char* inside : kInside) {
      std::string inner = fmt::format(fmt::runtime(inside), fmt::arg("victim", victim_pid));
      std::string text = pg::quote_literal(fmt::format("SELECT 'r'::text, 'c'::text, {} FROM accounts LIMIT 1", inner));
      for (const std::string& sql :
           {fmt::format("SELECT * FROM crosstab({}) AS t(r text, c text)", text),
            fmt::format("SELECT * FROM crosstab({}, 'SELECT ''c''::text') AS t(r text, c text)", text),
            fmt::format("SELECT crosstab2({})", text), fmt::format("SELECT * FROM crosstab3({})", text),
            fmt::format("SELECT (crosstab4({})).row_name", text),
            fmt::format("SELECT * FROM public.connectby('accounts', 'id', {}, '1', 0) AS t(a int, b int, l int)",
                        pg::quote_literal(inner))}) {
        SCOPED_TRACE(std::string(user) + ": " + sql);
        EXPECT_EQ(refusal(conn, sql).first, "denied-function");
        ++probes;
      }
    }
    // The catalog check refuses them too, on its own (the same statement, had the name
    // pre-check missed it): crosstab2 resolves to an extension function of a denied family.
    {
      sqlgate::Verdict v;
      v.references.push_back({sqlgate::Reference::Kind::function, "", "crosstab2", 1, false, 8});
      query::ReadOnlyTransaction tx(conn, query::Options{});
      try {
        query::check_policy(conn, v, query::Options{});
        ADD_FAILURE() << "the catalog check accepted crosstab2";
      } catch (const query::Rejected& r) {
        EXPECT_EQ(r.verdict().rule, sqlgate::Rule::denied_function);
        EXPECT_NE(r.verdict().reason.find("public.crosstab2(text)"), std::string::npos) << r.verdict().reason;
      }
    }
    // Other tablefunc functions are extension functions: refused unless named.
    EXPECT_EQ(refusal(conn, "SELECT * FROM normal_rand(3, 0, 1)").first, "extension-function");
  }
  EXPECT_EQ(probes, 2 * 8 * 6);
  EXPECT_EQ(victim.exec("SELECT 1").scalar(), "1") << "the victim session was terminated";
  EXPECT_EQ(state(), before) << "a WAL change or message, an xid or an advisory lock appeared";
  // No setting can allow them: they run SQL text the gate cannot see.
  EXPECT_THROW(query::validate(allowing({"public.crosstab2"})), UsageError);
  EXPECT_THROW(query::validate(allowing({"public.connectby"})), UsageError);
}

TEST_F(QueryFunctionPolicyTest, PrewarmAndSnapshotExportAreRefusedUntilNamed) {
  pg::Connection observer = open("superuser");
  auto dump_exists = [&] {
    return observer.exec("SELECT (pg_stat_file('autoprewarm.blocks', true)).size IS NOT NULL").scalar() == "t";
  };
  ASSERT_FALSE(dump_exists());
  pg::Connection reader = open("reader");
  expect_refused(reader, "SELECT autoprewarm_dump_now()", "extension-function",
                 {"extension pg_prewarm", "--allow-function public.autoprewarm_dump_now"});
  EXPECT_EQ(refusal(reader, "SELECT pg_prewarm('accounts')").first, "extension-function");
  EXPECT_EQ(refusal(reader, "SELECT * FROM accounts WHERE pg_prewarm('accounts') > 0").first, "extension-function");
  EXPECT_FALSE(dump_exists()) << "a refused statement wrote the dump file";
  expect_refused(reader, "SELECT pg_export_snapshot()", "volatile-function",
                 {"--allow-function pg_catalog.pg_export_snapshot"});

  // Named, they run (this is what the reader could do before).
  query::Result prewarmed = query::run(reader, "SELECT pg_prewarm('accounts')", allowing({"public.pg_prewarm"}));
  ASSERT_EQ(prewarmed.rows.size(), 1u);
  EXPECT_GT(std::stoll(*prewarmed.rows[0][0]), 0);
  query::run(reader, "SELECT autoprewarm_dump_now()", allowing({"public.*"}));
  EXPECT_TRUE(dump_exists());
  query::Result snapshot =
      query::run(reader, "SELECT pg_export_snapshot()", allowing({"pg_catalog.pg_export_snapshot"}));
  EXPECT_FALSE(snapshot.rows.at(0).at(0).value_or("").empty());
  // An allow-list entry names one function exactly.
  EXPECT_EQ(refusal(reader, "SELECT pg_prewarm('accounts')", allowing({"public.pg_prewarm2", "other.*"})).first,
            "extension-function");
}

TEST_F(QueryFunctionPolicyTest, AProgramForeignTableIsRefusedUnlessAllowed) {
  for (const char* user : {"reader", "superuser"}) {
    pg::Connection conn = open(user);
    for (const char* sql : {"SELECT * FROM shell_out", "SELECT count(*) FROM public.shell_out",
                            "SELECT * FROM accounts WHERE owner IN (SELECT line FROM shell_out)",
                            "EXPLAIN SELECT * FROM shell_out"}) {
      expect_refused(conn, sql, "foreign-table", {"--allow-foreign-table public.shell_out", "run a program"});
    }
  }
  // Reached without being named: through views, and as an inheritance child.
  pg::Connection reader = open("reader");
  expect_refused(reader, "SELECT * FROM shell_view_view", "foreign-table",
                 {"public.shell_view_view reads the foreign table public.shell_out", "--allow-foreign-table public.shell_out"});
  expect_refused(reader, "SELECT count(*) FROM logs", "foreign-table",
                 {"reads the foreign table public.logs_external", "--allow-foreign-table public.logs_external"});
  EXPECT_EQ(refusal(reader, "SELECT count(*) FROM ONLY logs").first, "foreign-table");  // conservative
  EXPECT_EQ(refusal(reader, "SELECT count(*) FROM accounts").first, "");

  pg::Connection superuser = open("superuser");
  EXPECT_EQ(query::run(superuser, "SELECT * FROM shell_view_view", allowing({}, {"public.shell_out"})).rows.at(0).at(0),
            "PWNED");
  query::Result r = query::run(superuser, "SELECT * FROM shell_out", allowing({}, {"public.shell_out"}));
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0][0], "pwned");
  EXPECT_THROW(query::validate(allowing({}, {"shell_out"})), UsageError);
}

TEST_F(QueryFunctionPolicyTest, UserDefinedAndSecurityDefinerFunctionsAreRefusedUntilNamed) {
  pg::Connection reader = open("reader");
  expect_refused(reader, "SELECT run_text('SELECT pg_advisory_lock(1)')", "user-function",
                 {"public.run_text(q text) is user-defined (language plpgsql)", "--allow-function public.run_text"});
  EXPECT_EQ(refusal(reader, "SELECT as_owner()").first, "security-definer");
  EXPECT_EQ(query::run(reader, "SELECT as_owner()", allowing({"public.as_owner"})).rows.at(0).at(0), "postgres");

  // Every position: FROM, WHERE, sub-queries, arguments, attribute notation on a row, operators,
  // casts into a type whose cast function is user-defined, EXPLAIN.
  for (const char* sql :
       {"SELECT * FROM accounts a, LATERAL (SELECT run_text('SELECT 1')) r",
        "SELECT id FROM accounts WHERE run_text('SELECT 1') = 1",
        "SELECT upper(length(owner)::text) FROM accounts WHERE id IN (SELECT run_text('SELECT 1'))",
        "SELECT a.secret FROM accounts a", "SELECT (a).secret FROM accounts a", "SELECT secret(a) FROM accounts a",
        "SELECT * FROM accounts WHERE owner === 'x'", "SELECT 1::mood", "SELECT CAST(id AS mood) FROM accounts", "SELECT mood(1)",
        "EXPLAIN SELECT run_text('SELECT 1')", "SELECT * FROM shadow.generate_series(1, 2)",
        "SELECT * FROM ROWS FROM (generate_series(1, 2), run_text('SELECT 1')) AS r(a, b)",
        // Conservative overloads: public.upper(int) is a candidate for any one-argument upper().
        "SELECT upper('x')"}) {
    EXPECT_EQ(refusal(reader, sql).first, "user-function") << sql;
  }
  // This session's temporary schema is a schema like any other.
  reader.exec("CREATE FUNCTION pg_temp.mine() RETURNS int LANGUAGE sql AS 'SELECT 1'");
  EXPECT_EQ(refusal(reader, "SELECT pg_temp.mine()").first, "user-function");
  ASSERT_TRUE(query::clean_session(reader));
  // Built-ins around them stay allowed.
  for (const char* sql : {"SELECT a.owner, a.id FROM accounts a", "SELECT lower('X')",
                          "SELECT * FROM pg_catalog.generate_series(1, 2)", "SELECT * FROM accounts WHERE owner = 'x'",
                          "SELECT 'happy'::text || now()::text"}) {
    auto [r, why] = refusal(reader, sql);
    EXPECT_EQ(r, "") << sql << ": " << why;
  }
  // Named, the function runs; its namesake does not come with it.
  EXPECT_EQ(query::run(reader, "SELECT run_text('SELECT 1')", allowing({"public.run_text"})).rows.at(0).at(0), "1");
  EXPECT_EQ(refusal(reader, "SELECT run_text2('SELECT 1')", allowing({"public.run_text"})).first, "user-function");
}

TEST_F(QueryFunctionPolicyTest, TheFormerFalseRefusalsRun) {
  pg::Connection reader = open("reader");
  for (const char* sql : {"SELECT a.owner, q FROM accounts a, to_tsquery('english', 'dog') q",
                          "SELECT * FROM jsonb_to_recordset('[{\"a\": 1}]') AS r(a int)",
                          "SELECT * FROM unnest(ARRAY[1, 2]) u", "SELECT * FROM pg_control_checkpoint()",
                          "SELECT ts_rewrite('a & b'::tsquery, 'a'::tsquery, 'c'::tsquery)",
                          "SELECT table_to_xml('accounts'::regclass, true, false, '')",
                          "SELECT count(*) FROM accounts TABLESAMPLE system (50)"}) {
    auto [rule, why] = refusal(reader, sql);
    EXPECT_EQ(rule, "") << sql << ": " << why;
  }
  // currval passes the gate; the server answers (no nextval in this session yet).
  try {
    query::run(reader, "SELECT currval('accounts_seq')");
  } catch (const query::Rejected& r) {
    ADD_FAILURE() << r.what();
  } catch (const pg::SqlError&) {
  }
  EXPECT_EQ(refusal(reader, "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery')").first,
            "denied-function");
  EXPECT_EQ(refusal(reader, "SELECT query_to_xml('SELECT 1', true, false, '')").first, "denied-function");
  EXPECT_EQ(refusal(reader, "SELECT * FROM query_to_xmlschema('SELECT 1', true, false, '')").first,
            "denied-function");
}

TEST_F(QueryFunctionPolicyTest, ACatalogChangeIsSeenByTheNextStatement) {
  pg::Connection admin = open("superuser");
  run_sql(admin, "CREATE FUNCTION changing() RETURNS int LANGUAGE sql AS 'SELECT 1'");
  pg::Connection reader = open("reader");
  query::Options options = allowing({"public.changing"});
  EXPECT_EQ(refusal(reader, "SELECT changing()", options).first, "");
  run_sql(admin, "ALTER FUNCTION changing() SECURITY DEFINER");
  EXPECT_EQ(refusal(reader, "SELECT changing()", options).first, "");  // named: allowed whatever it is
  EXPECT_EQ(refusal(reader, "SELECT changing()").first, "security-definer");
  run_sql(admin, "ALTER FUNCTION changing() SECURITY INVOKER");
  EXPECT_EQ(refusal(reader, "SELECT changing()").first, "user-function");
  run_sql(admin, "DROP FUNCTION changing()");
  EXPECT_THROW(query::run(reader, "SELECT changing()"), pg::SqlError);  // the server's 42883
}

TEST_F(QueryFunctionPolicyTest, AnAdvisoryLockTakenByAnAllowedFunctionIsGoneBeforeTheNextStatement) {
  pg::Connection observer = open("superuser");
  pg::Connection pooled = open("reader");
  const std::string pid = pooled.exec("SELECT pg_backend_pid()").scalar();
  auto locks = [&] {
    return observer.exec("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1", {pid}).scalar();
  };
  query::run(pooled, "SELECT run_text('SELECT pg_advisory_lock(4242)')", allowing({"public.run_text"}));
  ASSERT_EQ(locks(), "1") << "a session lock survives ROLLBACK";
  ASSERT_TRUE(query::clean_session(pooled));
  EXPECT_EQ(locks(), "0");
  EXPECT_EQ(pooled.exec("SELECT pg_backend_pid()").scalar(), pid) << "the same connection is reused";
  EXPECT_EQ(query::run(pooled, "SELECT count(*) FROM accounts").rows.at(0).at(0), "100");

  // What DISCARD ALL clears is gone too (but the policy lookup's prepared statement, kept with
  // its plan); a connection it cannot vouch for is not reusable.
  pooled.exec("CREATE TEMP TABLE t (x int)");
  pooled.exec("LISTEN channel");
  const std::string work_mem = pooled.exec("SHOW work_mem").scalar();
  pooled.exec("SELECT set_config('work_mem', '7MB', false)");
  pooled.exec("DECLARE held CURSOR WITH HOLD FOR SELECT 1");
  ASSERT_TRUE(query::clean_session(pooled));
  EXPECT_EQ(pooled.exec("SELECT string_agg(name, ',') FROM pg_prepared_statements").scalar(), "pgshift_policy_lookup")
      << "query::run prepared the lookup once; hygiene keeps it";
  EXPECT_EQ(pooled.exec("SELECT count(*) FROM pg_listening_channels()").scalar(), "0");
  EXPECT_EQ(pooled.exec("SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()").scalar(), "0");
  EXPECT_EQ(pooled.exec("SELECT count(*) FROM pg_cursors WHERE name <> ''").scalar(), "0");  // '': this query
  EXPECT_EQ(pooled.exec("SHOW work_mem").scalar(), work_mem) << "session settings are reset";
  EXPECT_EQ(query::run(pooled, "SELECT count(*) FROM accounts").rows.at(0).at(0), "100") << "the kept lookup still runs";
  pooled.exec("PREPARE p AS SELECT 1");
  EXPECT_FALSE(query::clean_session(pooled)) << "a prepared statement that is not the lookup's";
  pooled.exec("DEALLOCATE p");
  pooled.exec("DEALLOCATE pgshift_policy_lookup");
  pooled.exec("PREPARE pgshift_policy_lookup AS SELECT 1");
  EXPECT_FALSE(query::clean_session(pooled)) << "the lookup's name on other text";
  pooled.exec("DEALLOCATE pgshift_policy_lookup");
  // A statement shape whose lookup answer is not already known (a known one needs no lookup).
  const std::string unseen = "SELECT count(*) FROM accounts WHERE id > 0";
  EXPECT_THROW(query::run(pooled, unseen), pg::SqlError)
      << "the lookup deallocated behind the connection's back fails once (26000)";
  EXPECT_EQ(query::run(pooled, unseen).rows.at(0).at(0), "100") << "then is prepared again";
  ASSERT_TRUE(query::clean_session(pooled));
  pooled.exec("BEGIN");
  pooled.exec("SELECT pg_advisory_lock(4243)");
  EXPECT_TRUE(query::clean_session(pooled)) << "a transaction left open is rolled back, then the session reset";
  EXPECT_EQ(PQtransactionStatus(pooled.raw()), PQTRANS_IDLE);
  EXPECT_EQ(observer.exec("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1::int", {pid}).scalar(),
            "0");
  pooled.exec("BEGIN");
  pooled.exec("PREPARE q AS SELECT 1");  // survives the ROLLBACK
  EXPECT_FALSE(query::clean_session(pooled)) << "state that outlives the rolled-back transaction";
  pooled.exec("DEALLOCATE q");
  observer.exec("SELECT pg_terminate_backend($1::int)", {pid});
  EXPECT_TRUE(wait_until([&] { return observer.exec("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int",
                                                     {pid}).scalar() == "0"; },
                         util::Millis(10'000)));
  EXPECT_FALSE(query::clean_session(pooled)) << "a terminated backend";
}

TEST_F(QueryFunctionPolicyTest, CliTakesTheAllowFlagsAndShowsCatalogRefusalsLikeTheGates) {
  std::string url = db_->cluster().url("app", "reader");
  CliRun refused = run_pgshift({"query", "--db", url, "SELECT id,\n  pg_prewarm('accounts') FROM accounts"});
  EXPECT_EQ(refused.exit_code, 1) << refused.all();
  EXPECT_NE(refused.err.find("rejected [extension-function]: public.pg_prewarm("), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--allow-function public.pg_prewarm"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("LINE 2:   pg_prewarm('accounts') FROM accounts\n          ^"), std::string::npos)
      << refused.err;

  CliRun allowed = run_pgshift({"query", "--db", url, "--allow-function", "public.pg_prewarm", "--allow-function",
                                "public.run_text", "--format", "csv", "SELECT pg_prewarm('accounts') > 0 AS warm"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.all();
  EXPECT_EQ(allowed.out, "warm\r\nt\r\n");  // CSV rows end with CRLF (RFC 4180)

  CliRun foreign = run_pgshift({"query", "--db", db_->cluster().url("app"), "SELECT * FROM shell_out"});
  EXPECT_EQ(foreign.exit_code, 1) << foreign.all();
  EXPECT_NE(foreign.err.find("rejected [foreign-table]"), std::string::npos) << foreign.err;
  CliRun foreign_ok = run_pgshift({"query", "--db", db_->cluster().url("app"), "--allow-foreign-table",
                                   "public.shell_out", "--format", "csv", "SELECT * FROM shell_out"});
  EXPECT_EQ(foreign_ok.out, "line\r\npwned\r\n") << foreign_ok.all();

  for (const char* bad : {"pg_prewarm", "public.crosstab2", "public.pg_sleep"}) {
    CliRun usage = run_pgshift({"query", "--db", url, "--allow-function", bad, "SELECT 1"});
    EXPECT_EQ(usage.exit_code, 2) << bad << ": " << usage.all();
  }
  CliRun help = run_pgshift({"query", "--help"});
  EXPECT_NE(help.out.find("--allow-function"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--allow-foreign-table"), std::string::npos) << help.out;
}

}  // namespace
