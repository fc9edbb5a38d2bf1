// The gate on a database as applications have it (issue #23): the common contrib extensions in
// `public` (citext, hstore, pg_trgm, pgcrypto, ltree, cube, intarray, isn, btree_gist/gin,
// fuzzystrmatch, unaccent, earthdistance, seg), and a file_fdw
// table whose program leaves a marker file when it runs (on the canary schema's file_fdw server).
//   - item 0: table_to_xml and table_to_xml_and_xmlschema of that foreign table (named, through
//     a view, by oid from pg_class) are refused and the program never runs;
//   - item 2: ordinary reads (the issue's shapes, the legitimate corpus, the console table
//     browser's generated keyset and "contains" queries) run as the reader role: under 1 %
//     refused (in fact none), nothing changed (canary checksum, transaction id); what the
//     statement really calls from outside the pure extensions stays refused.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "console/table_browser.hpp"
#include "pg/quote.hpp"
#include "query/query.hpp"
#include "sqlgate/sqlgate.hpp"
#include "support/canary.hpp"
#include "support/query_corpus.hpp"
#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

constexpr std::string_view kApp = R"sql(
CREATE EXTENSION citext;
CREATE EXTENSION hstore;
CREATE EXTENSION pg_trgm;
CREATE EXTENSION pgcrypto;
CREATE EXTENSION ltree;
CREATE EXTENSION cube;
CREATE EXTENSION earthdistance;
CREATE EXTENSION intarray;
CREATE EXTENSION isn;
CREATE EXTENSION btree_gist;
CREATE EXTENSION btree_gin;
CREATE EXTENSION fuzzystrmatch;
CREATE EXTENSION unaccent;
CREATE EXTENSION seg;
CREATE TABLE customers (id int PRIMARY KEY, email citext NOT NULL, attrs hstore, path ltree, tags int[],
                        created timestamptz NOT NULL DEFAULT now());
INSERT INTO customers
SELECT g, 'User' || g || '@Example.com', hstore('plan', CASE WHEN g % 2 = 0 THEN 'pro' ELSE 'free' END),
       ('top.n' || (g % 3))::ltree, ARRAY[g, g + 1], now() - g * interval '1 hour'
FROM generate_series(1, 200) g;
CREATE INDEX customers_email_trgm ON customers USING gist (email gist_trgm_ops)
)sql";

// A user-defined cast into text (third test only: with it, a cast of a column to text is
// conservatively refused, since the gate does not know the column's type).
constexpr std::string_view kUserCast = R"sql(
CREATE TYPE amount AS (cents int);
CREATE FUNCTION amount_text(amount) RETURNS text LANGUAGE plpgsql AS $$BEGIN RETURN ($1).cents::text; END$$;
CREATE CAST (amount AS text) WITH FUNCTION amount_text(amount)
)sql";

// The issue's ordinary shapes, and the extensions' own operators and functions.
constexpr const char* kShapes[] = {
    "SELECT 1 WHERE 1 = 1",
    "SELECT * FROM customers WHERE id = 1",
    "SELECT c.id, d.id FROM customers c JOIN customers d ON d.id = c.id + 1 WHERE c.id < 5",
    "SELECT * FROM customers WHERE id < 10",
    "SELECT * FROM customers WHERE id >= 10 ORDER BY id LIMIT 5",
    "SELECT * FROM customers WHERE email ILIKE '%example%'",
    "SELECT count(*) > 0 FROM customers",
    "SELECT now() - interval '1 day'",
    "SELECT gen_random_uuid()",
    "SELECT '{\"a\": 1}'::jsonb",
    "SELECT 1::text",
    "SELECT 'x'::text || 1",
    "SELECT email FROM customers WHERE email = 'user1@example.com'",
    "SELECT strpos(email, 'User') FROM customers LIMIT 3",
    "SELECT upper(email), lower(email), length(email) FROM customers LIMIT 3",
    "SELECT date_trunc('day', created), count(*) FROM customers GROUP BY 1 ORDER BY 1",
    "SELECT * FROM customers WHERE created > now() - interval '7 days'",
    "SELECT x FROM generate_series(1, 3) x",
    "SELECT attrs -> 'plan', attrs ? 'plan' FROM customers LIMIT 3",
    "SELECT coalesce(attrs -> 'missing', 'none') FROM customers LIMIT 1",
    "SELECT attrs::jsonb, hstore_to_jsonb(attrs) FROM customers LIMIT 1",
    "SELECT similarity(email::text, 'user1'), email::text % 'user1' FROM customers ORDER BY email <-> 'user1' LIMIT 3",
    "SELECT * FROM customers WHERE path <@ 'top' LIMIT 3",
    "SELECT * FROM customers WHERE tags && ARRAY[1, 2]",
    "SELECT encode(digest(email::text, 'sha256'), 'hex') FROM customers LIMIT 1",
    "SELECT crypt('secret', '$1$abcdefgh')",
    "SELECT levenshtein('kitten', 'sitting'), soundex('Robert')",
    "SELECT unaccent('Hôtel')",
    "SELECT cube(1, 2) <-> cube(3, 4), earth_distance(ll_to_earth(0, 0), ll_to_earth(1, 1))",
    "SELECT '1.5 .. 2.5'::seg",
    "SELECT isbn13('978-0-306-40615-7')",
    "EXPLAIN SELECT * FROM customers WHERE email = 'x'",
    "EXPLAIN (ANALYZE false, COSTS off) SELECT * FROM customers WHERE attrs ? 'plan'",
};

class QueryExtensionsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new ReaderCluster("query-extensions", {{"autovacuum", "off"}}, "app", kCanarySchema);
    pg::Connection admin = db_->open("superuser");
    run_sql(admin, kApp);
    // The program leaves a marker where the test can see it.
    admin.exec(fmt::format("CREATE FOREIGN TABLE fdw_prog (line text) SERVER files OPTIONS (program {})",
                           pg::quote_literal(fmt::format("echo ran > {}; echo line", marker()))));
    admin.exec("CREATE VIEW fdw_view AS SELECT * FROM fdw_prog");
  }
  static void TearDownTestSuite() {
    delete db_;
    std::filesystem::remove(marker());
  }
  static std::string marker() { return fmt::format("/tmp/pgshift-gate-fdw-ran-{}", getpid()); }

  // The rule query::run refuses sql with, "" when it ran.
  static std::string refusal(pg::Connection& conn, const std::string& sql, const query::Options& options = {},
                             const pg::Params& params = {}) {
    try {
      query::run(conn, sql, params, options);
      return "";
    } catch (const query::Rejected& r) {
      return std::string(sqlgate::rule_name(r.verdict().rule)) + ": " + r.verdict().message();
    }
  }

  static ReaderCluster* db_;
};
ReaderCluster* QueryExtensionsTest::db_ = nullptr;

TEST_F(QueryExtensionsTest, TableToXmlOfAProgramForeignTableIsRefusedAndTheProgramNeverRuns) {
  std::filesystem::remove(marker());
  for (const char* user : {"reader", "superuser"}) {
    pg::Connection conn = db_->open(user);
    for (const char* sql : {"SELECT table_to_xml('fdw_prog'::regclass, true, false, '')",
                            "SELECT table_to_xml_and_xmlschema('public.fdw_prog', true, false, '')",
                            "SELECT table_to_xml('fdw_view'::regclass, true, false, '')",
                            "SELECT length(table_to_xml(tbl => 'fdw_prog', nulls => true, tableforest => false, "
                            "targetns => '')::text)"}) {
      std::string why = refusal(conn, sql);
      EXPECT_TRUE(why.starts_with("foreign-table: ")) << sql << ": " << why;
      EXPECT_NE(why.find("--allow-foreign-table public.fdw_prog"), std::string::npos) << why;
    }
    for (const char* sql : {"SELECT table_to_xml(c.oid, true, false, '') FROM pg_class c WHERE c.relkind = 'f'",
                            "SELECT table_to_xml(oid, true, false, '') FROM pg_class WHERE relname = 'fdw_prog'",
                            "SELECT table_to_xml(to_regclass('fdw_prog'), true, false, '')"}) {
      EXPECT_TRUE(refusal(conn, sql).starts_with("relation-argument: ")) << sql << ": " << refusal(conn, sql);
    }
    EXPECT_FALSE(std::filesystem::exists(marker())) << "the foreign table's program ran";
    // An ordinary table still works, and so does the foreign table once allowed by name (which
    // shows the marker would have appeared).
    query::Result r = query::run(conn, "SELECT table_to_xml('customers'::regclass, true, false, '')");
    EXPECT_NE(r.rows.at(0).at(0)->find("Example.com"), std::string::npos);
  }
  query::Options allowed;
  allowed.allow_foreign_tables = {"public.fdw_prog"};
  pg::Connection superuser = db_->open("superuser");
  query::run(superuser, "SELECT table_to_xml('fdw_prog'::regclass, true, false, '')", allowed);
  EXPECT_TRUE(std::filesystem::exists(marker()));
}

TEST_F(QueryExtensionsTest, PlainReadsAreNotRefusedAndChangeNothing) {
  pg::Connection observer = db_->open("superuser");
  pg::Connection reader = db_->open("reader");
  const Checksum before = checksum(observer, true);
  int total = 0, refused = 0;
  std::string refusals;
  auto run = [&](const std::string& sql, const pg::Params& params = {}) {
    ++total;
    std::string why;
    try {
      why = refusal(reader, sql, {}, params);
    } catch (const std::exception& e) {
      ADD_FAILURE() << sql << ": " << e.what();
    }
    if (!why.empty()) {
      ++refused;
      refusals += sql + "\n  " + why + "\n";
    }
  };
  for (const char* sql : kShapes) run(sql);
  for (const CorpusEntry& e : load_corpus("legit.txt")) run(e.sql);

  // The console's table browser: "contains" filters (strpos) and keyset pages (>=, >).
  console::TableShape shape = console::read_shape(reader, "public", "customers");
  auto browse = [](std::vector<std::string> filters, std::string page, std::optional<std::string> after = {},
                   std::optional<std::string> sort = {}) {
    console::BrowseRequest r;
    r.filters = std::move(filters);
    r.page = std::move(page);
    r.after = std::move(after);
    r.sort = std::move(sort);
    return r;
  };
  for (const console::BrowseRequest& request : {
           browse({}, "1"),
           browse({"email:contains:user1"}, "1"),
           browse({"email:=:user7@example.com", "id:>:1"}, "1"),
           browse({}, "3"),
           browse({}, "2", "50"),
           browse({"attrs:contains:pro"}, "2", std::nullopt, "email"),
       }) {
    console::BrowseQuery q = console::build_query(shape, request, 50);
    run(q.sql, pg::Params(q.params.begin(), q.params.end()));
  }
  EXPECT_LT(refused * 100, total) << refused << " of " << total << " refused:\n" << refusals;
  EXPECT_EQ(refused, 0) << refusals;
  Checksum after = checksum(observer, true);
  EXPECT_EQ(after, before) << diff(before, after);
}

TEST_F(QueryExtensionsTest, WhatTheStatementReallyCallsOutsideThePureExtensionsIsStillRefused) {
  pg::Connection reader = db_->open("reader");
  // VOLATILE members, pgcrypto beyond its digests, the extension's own copy named explicitly.
  EXPECT_TRUE(refusal(reader, "SELECT set_limit(0.5)").starts_with("extension-function: ")) << refusal(reader, "SELECT set_limit(0.5)");
  EXPECT_TRUE(refusal(reader, "SELECT gen_random_bytes(8)").starts_with("extension-function: "));
  EXPECT_TRUE(refusal(reader, "SELECT public.gen_random_uuid()").starts_with("extension-function: "));
  EXPECT_TRUE(refusal(reader, "SELECT pgp_sym_encrypt('x', 'k')").starts_with("extension-function: "));
  // The user-defined cast into text: not a candidate for a constant, called for a value of its type.
  pg::Connection admin = db_->open("superuser");
  run_sql(admin, kUserCast);
  EXPECT_EQ(refusal(reader, "SELECT 42::text, 'x'::text, CAST(true AS text)"), "");
  std::string why = refusal(reader, "SELECT ROW(1)::amount::text");
  EXPECT_TRUE(why.starts_with("user-function: ")) << why;
  EXPECT_NE(why.find("the type text written here converts from amount"), std::string::npos) << why;
  EXPECT_NE(why.find("--allow-function public.amount_text"), std::string::npos) << why;
  run_sql(admin, "DROP CAST (amount AS text); DROP FUNCTION amount_text(amount); DROP TYPE amount");
}

}  // namespace

namespace {

// Issue #23, item 8: `pgshift query` as a superuser warns on stderr (the console and the MCP
// server refuse such a role without --allow-privileged-role); the flag silences it.
TEST_F(QueryExtensionsTest, PgshiftQueryWarnsWhenTheRoleIsPrivileged) {
  CliRun as_super = run_pgshift({"query", "--db", db_->cluster().url("app"), "SELECT 1"});
  EXPECT_EQ(as_super.exit_code, 0) << as_super.all();
  EXPECT_NE(as_super.err.find("is a superuser"), std::string::npos) << as_super.err;
  EXPECT_NE(as_super.err.find("--allow-privileged-role"), std::string::npos) << as_super.err;
  CliRun allowed = run_pgshift({"query", "--db", db_->cluster().url("app"), "--allow-privileged-role", "SELECT 1"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.all();
  EXPECT_EQ(allowed.err.find("superuser"), std::string::npos) << allowed.err;
  CliRun reader = run_pgshift({"query", "--db", db_->cluster().url("app", "reader"), "SELECT 1"});
  EXPECT_EQ(reader.exit_code, 0) << reader.all();
  EXPECT_EQ(reader.err.find("--allow-privileged-role"), std::string::npos) << reader.err;
}

}  // namespace
