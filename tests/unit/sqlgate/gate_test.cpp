// The gate on its own (no database): the corpora's verdicts, positions, the function lists,
// malformed text, fingerprints.
#include "sqlgate/sqlgate.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "sqlgate/functions.hpp"
#include "sqlgate/tokens.hpp"
#include "support/query_corpus.hpp"

using namespace pgshift;
using sqlgate::check;
using sqlgate::Kind;
using sqlgate::Rule;

namespace {

std::string rule_of(std::string_view sql) { return sqlgate::rule_name(check(sql).rule); }

// Whole-text position of the first occurrence of needle, 1-based (ASCII texts).
int at(std::string_view sql, std::string_view needle, size_t from = 0) {
  return static_cast<int>(sql.find(needle, from)) + 1;
}

// Whether a rule code is one of the catalog check's (which check() alone never returns).
bool catalog_rule(const std::string& code) {
  for (int r = 0; r <= static_cast<int>(Rule::foreign_table); ++r) {
    if (code == sqlgate::rule_name(static_cast<Rule>(r))) return sqlgate::is_catalog_rule(static_cast<Rule>(r));
  }
  return false;
}

}  // namespace

TEST(GateCorpus, EveryBypassAttemptIsRejectedByItsRule) {
  auto corpus = pgshift::testing::load_corpus("bypass.txt");
  ASSERT_GE(corpus.size(), 60u);
  std::map<std::string, int> classes;
  for (const auto& e : corpus) {
    sqlgate::Verdict v = check(e.sql);
    ++classes[e.cls];
    if (catalog_rule(e.rule)) {
      // A catalog rule: the name pre-check lets it through, with the reference the catalog
      // check refuses (tests/integration/query_corpus_test.cpp shows that on a cluster).
      EXPECT_TRUE(v.accepted) << e.where() << ": " << v.message();
      EXPECT_FALSE(v.references.empty()) << e.where();
      continue;
    }
    EXPECT_FALSE(v.accepted) << e.where() << ": accepted: " << e.sql;
    EXPECT_EQ(sqlgate::rule_name(v.rule), e.rule) << e.where() << ": " << v.message() << "\n" << e.sql;
    EXPECT_GT(v.position, 0) << e.where() << ": no position";
    EXPECT_FALSE(v.reason.empty());
    EXPECT_FALSE(v.fingerprint.empty()) << e.where() << ": rejected statements are fingerprinted for the audit log";
    EXPECT_FALSE(e.cls.empty()) << e.where();
  }
  // Every class the issue names is covered.
  for (const char* c : {"multi-statement", "transaction-control", "set", "data-modifying-cte", "select-into",
                        "locking", "explain", "explain-dml", "do-call", "copy", "listen-notify", "lock",
                        "prepare-execute", "cursor", "backend-signalling", "set-config", "sequences",
                        "large-objects", "dblink", "server-files", "sql-text", "advisory-locks", "replication",
                        "wal-backup", "stats-reset", "notify", "xid", "sleep", "comments-quoting", "nested",
                        "functions-in-from", "schema-qualified", "attribute-notation"}) {
    EXPECT_GT(classes[c], 0) << "no bypass attempt of class " << c;
  }
}

TEST(GateCorpus, EveryLegitimateQueryIsAccepted) {
  auto corpus = pgshift::testing::load_corpus("legit.txt");
  ASSERT_GE(corpus.size(), 40u);
  for (const auto& e : corpus) {
    sqlgate::Verdict v = check(e.sql);
    EXPECT_TRUE(v.accepted) << e.where() << ": " << v.message() << "\n" << e.sql;
    EXPECT_NE(v.kind, Kind::none);
    EXPECT_FALSE(v.statement.empty());
    EXPECT_FALSE(v.fingerprint.empty());
  }
}

TEST(Gate, AcceptsTheThreeKinds) {
  EXPECT_EQ(check("SELECT 1").kind, Kind::query);
  EXPECT_EQ(check("VALUES (1)").kind, Kind::query);
  EXPECT_EQ(check("TABLE accounts").kind, Kind::query);
  EXPECT_EQ(check("WITH x AS (SELECT 1) SELECT * FROM x").kind, Kind::query);
  EXPECT_EQ(check("(SELECT 1) UNION ALL (SELECT 2)").kind, Kind::query);
  EXPECT_EQ(check("EXPLAIN (FORMAT JSON, VERBOSE) SELECT 1").kind, Kind::explain);
  EXPECT_EQ(check("SHOW work_mem").kind, Kind::show);
  EXPECT_EQ(check("SHOW ALL").kind, Kind::show);
}

TEST(Gate, StatementTextDropsTheSemicolonAndSurroundingSpace) {
  EXPECT_EQ(check("  SELECT 1 ;  ").statement, "SELECT 1");
  EXPECT_EQ(check("SELECT 1; -- done").statement, "SELECT 1");
  // A trailing comment without a semicolon is kept: nothing is ever appended after it.
  EXPECT_EQ(check("SELECT 1 -- done").statement, "SELECT 1 -- done");
}

TEST(Gate, PositionsPointAtTheOffendingText) {
  std::string sql = "SELECT 1;\n  -- now\n  DELETE FROM t";
  sqlgate::Verdict v = check(sql);
  EXPECT_EQ(v.rule, Rule::multiple_statements);
  EXPECT_EQ(v.position, at(sql, "DELETE"));
  EXPECT_EQ(sqlgate::caret_excerpt(sql, v.position), "LINE 3:   DELETE FROM t\n          ^");

  struct Case {
    std::string sql;
    std::string_view points_at;
  };
  for (const Case& c : std::vector<Case>{
           {"SELECT a FROM t WHERE b = 'for update' /* for share */ FOR SHARE", "FOR SHARE"},
           {"SELECT x, (SELECT max(y) FROM u WHERE pg_catalog.\"pg_sleep\"(1) IS NULL) FROM t", "pg_catalog"},
           {"SELECT (1).pg_cancel_backend", "pg_cancel_backend"},
           {"SELECT * INTO copy FROM t", "INTO"},
           {"EXPLAIN (VERBOSE, ANALYZE) SELECT 1", "ANALYZE"},
           {"-- comment\n/* another */ COPY t TO STDOUT", "COPY"},
           {"SELECT * FROM t TABLESAMPLE dblink_x (1)", "dblink_x"},
       }) {
    EXPECT_EQ(check(c.sql).position, at(c.sql, c.points_at)) << c.sql;
  }

  // Character positions, as PostgreSQL counts them: é is one character.
  sql = "SELECT 'é', pg_sleep(1)";
  EXPECT_EQ(check(sql).position, 13);
}

TEST(Gate, TheFirstProblemInTheTextIsReported) {
  sqlgate::Verdict v = check("SELECT nextval('s'), pg_sleep(1) FROM t FOR UPDATE");
  EXPECT_EQ(v.rule, Rule::denied_function);
  EXPECT_NE(v.reason.find("nextval"), std::string::npos) << v.reason;
}

TEST(Gate, MalformedTextIsAVerdictNotACrash) {
  EXPECT_EQ(rule_of(""), "empty");
  EXPECT_EQ(rule_of("  -- only a comment\n"), "empty");
  EXPECT_EQ(rule_of(";;"), "empty");
  sqlgate::Verdict v = check("SELEC 1");
  EXPECT_EQ(v.rule, Rule::syntax_error);
  EXPECT_EQ(v.position, 1);
  EXPECT_EQ(rule_of("SELECT 'unterminated"), "syntax-error");
  EXPECT_EQ(rule_of(std::string("SELECT 1\0; DROP TABLE t", 24)), "invalid-text");
  EXPECT_EQ(rule_of("SELECT '\xff\xfe'"), "invalid-text");
  EXPECT_EQ(check("SELECT '\xc0\xaf'").position, 9);  // overlong encoding
  EXPECT_EQ(rule_of(std::string(sqlgate::kMaxTextBytes + 1, ' ')), "invalid-text");
  // Deep nesting: the walk is iterative, and the parser refuses what is too deep for it.
  std::string deep = "SELECT " + std::string(1000, '(') + "1" + std::string(1000, ')');
  EXPECT_TRUE(check(deep).accepted);
  std::string deeper = "SELECT " + std::string(200000, '(') + "1" + std::string(200000, ')');
  EXPECT_FALSE(check(deeper).accepted);
}

TEST(Gate, EveryDeniedFunctionIsRefusedEverywhere) {
  for (const auto& family : sqlgate::denied_families()) {
    EXPECT_FALSE(family.reason.empty());
    for (std::string_view pattern : family.names) {
      std::string name(pattern);
      if (name.back() == '*') name = name.substr(0, name.size() - 1) + "x";
      if (size_t slash = name.find('/'); slash != std::string::npos) {
        // Denied with that many arguments only: ts_rewrite/2.
        int arity = std::stoi(name.substr(slash + 1));
        name = name.substr(0, slash);
        std::string args = "1";
        for (int i = 1; i < arity; ++i) args += ", 1";
        EXPECT_EQ(rule_of("SELECT " + name + "(" + args + ")"), "denied-function") << name;
        EXPECT_EQ(rule_of("SELECT * FROM " + name + "(" + args + ")"), "denied-function") << name;
        EXPECT_TRUE(check("SELECT " + name + "(" + args + ", 1)").accepted) << name;
        continue;
      }
      for (const std::string& sql :
           {"SELECT " + name + "(1)", "SELECT * FROM t WHERE " + name + "() IS NULL",
            "SELECT * FROM " + name + "('a')", "SELECT pg_catalog.\"" + name + "\"()",
            "SELECT upper(" + name + "()::text)", "WITH x AS (SELECT " + name + "()) SELECT * FROM x",
            "EXPLAIN SELECT " + name + "()", "SELECT (1)." + name, "SELECT * FROM t TABLESAMPLE " + name + " (1)"}) {
        sqlgate::Verdict v = check(sql);
        EXPECT_EQ(v.rule, Rule::denied_function) << sql << " -> " << v.message();
        EXPECT_NE(v.reason.find(family.family), std::string::npos) << v.reason;
      }
    }
  }
}

TEST(Gate, FunctionsInFromAreLeftToTheCatalogCheck) {
  // The name pre-check judges a function in FROM like anywhere else; the catalog check then
  // judges what it resolves to (tests/integration/query_function_policy_test.cpp).
  for (const char* sql : {"SELECT * FROM film, to_tsquery('english', 'dog') q", "SELECT * FROM my_function()",
                          "SELECT * FROM jsonb_to_recordset('[]') AS r(a int)", "SELECT * FROM unnest(ARRAY[1])",
                          "SELECT * FROM pg_control_checkpoint()", "SELECT * FROM evil.generate_series(1, 3)",
                          "SELECT ts_rewrite('a'::tsquery, 'a'::tsquery, 'b'::tsquery)",
                          "SELECT table_to_xml('accounts'::regclass, true, false, '')", "SELECT currval('s')"}) {
    EXPECT_TRUE(check(sql).accepted) << sql << ": " << check(sql).message();
  }
  EXPECT_EQ(rule_of("SELECT ts_rewrite('a'::tsquery, 'SELECT t, s FROM aliases')"), "denied-function");
  EXPECT_EQ(rule_of("SELECT * FROM query_to_xml('SELECT 1', true, false, '')"), "denied-function");
  EXPECT_EQ(rule_of("SELECT * FROM crosstab2('SELECT 1')"), "denied-function");
  EXPECT_EQ(rule_of("SELECT * FROM public.connectby('t', 'id', 'parent', '1', 0)"), "denied-function");
  EXPECT_TRUE(check("SELECT * FROM CAST(1 AS int) AS c").accepted);
}

TEST(Gate, AcceptedStatementsListWhatTheCatalogCheckResolves) {
  std::string sql =
      "SELECT s.f, (x).g, a.id + 1, '1'::app.money_t FROM app.t s TABLESAMPLE system (10), "
      "ROWS FROM (app.srf(1, 2)) r, LATERAL (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v), count(*) FROM u) q "
      "WHERE -s.v OPERATOR(app.%) 3";
  sqlgate::Verdict v = check(sql);
  ASSERT_TRUE(v.accepted) << v.message();
  using K = sqlgate::Reference::Kind;
  std::map<std::string, sqlgate::Reference> by;
  for (const auto& r : v.references) by[std::to_string(static_cast<int>(r.kind)) + ":" + r.schema + "." + r.name] = r;
  auto has = [&](K kind, const std::string& schema, const std::string& name) -> const sqlgate::Reference* {
    auto it = by.find(std::to_string(static_cast<int>(kind)) + ":" + schema + "." + name);
    return it == by.end() ? nullptr : &it->second;
  };
  ASSERT_TRUE(has(K::row_attribute, "", "f"));
  EXPECT_EQ(has(K::row_attribute, "", "f")->position, at(sql, "f,"));
  ASSERT_TRUE(has(K::attribute, "", "g"));
  ASSERT_TRUE(has(K::type, "app", "money_t"));
  ASSERT_TRUE(has(K::relation, "app", "t"));
  ASSERT_TRUE(has(K::relation, "", "u"));
  ASSERT_TRUE(has(K::function, "app", "srf"));
  EXPECT_TRUE(has(K::function, "app", "srf")->in_from);
  EXPECT_EQ(has(K::function, "app", "srf")->nargs, 2);
  EXPECT_EQ(has(K::function, "app", "srf")->position, at(sql, "app.srf"));
  ASSERT_TRUE(has(K::function, "", "percentile_cont"));
  EXPECT_EQ(has(K::function, "", "percentile_cont")->nargs, 2);  // direct and ordered arguments
  EXPECT_FALSE(has(K::function, "", "percentile_cont")->in_from);
  ASSERT_TRUE(has(K::function, "", "count"));
  EXPECT_EQ(has(K::function, "", "count")->nargs, 0);
  ASSERT_TRUE(has(K::tablesample, "", "system"));
  ASSERT_TRUE(has(K::operator_, "app", "%"));
  EXPECT_EQ(has(K::operator_, "app", "%")->nargs, 2);
  ASSERT_TRUE(has(K::operator_, "", "-"));
  EXPECT_EQ(has(K::operator_, "", "-")->nargs, 1);
  ASSERT_TRUE(has(K::operator_, "", "+"));
  // Each once, in text order.
  for (size_t i = 1; i < v.references.size(); ++i) {
    EXPECT_LE(v.references[i - 1].position, v.references[i].position);
  }
  // Operators the text implies: BETWEEN's comparisons, a sub-query comparison. A one-argument
  // call may be a function-style cast, so its name is looked up as a type too.
  sqlgate::Verdict implied = check("SELECT mood(1) FROM t WHERE x BETWEEN 1 AND 2 AND y = ANY (SELECT z FROM u)");
  std::set<std::string> seen;
  for (const auto& r : implied.references) seen.insert(std::to_string(static_cast<int>(r.kind)) + r.name);
  for (const char* op : {"<", "<=", ">", ">=", "="}) {
    EXPECT_TRUE(seen.count(std::to_string(static_cast<int>(K::operator_)) + op)) << op;
  }
  EXPECT_TRUE(seen.count(std::to_string(static_cast<int>(K::type)) + "mood"));
  EXPECT_TRUE(seen.count(std::to_string(static_cast<int>(K::function)) + "mood"));
  // EXPLAIN's query is resolved too (the planner runs functions); SHOW references nothing.
  EXPECT_FALSE(check("EXPLAIN SELECT app.f()").references.empty());
  EXPECT_TRUE(check("SHOW work_mem").references.empty());
}

TEST(Gate, NamesAreFoldedAndQualifiersIgnored) {
  for (const char* sql : {"SELECT PG_SLEEP(1)", "SELECT \"PG_SLEEP\"(1)", "SELECT Pg_Catalog.Pg_Sleep(1)",
                          "SELECT myschema.pg_sleep(1)", "SELECT U&\"pg_\\0073leep\"(1)", "SELECT (t).pg_sleep FROM t",
                          "SELECT ('/etc/passwd'::text).pg_read_file"}) {
    EXPECT_EQ(rule_of(sql), "denied-function") << sql;
  }
  // An ordinary column or alias with a denied name is not a call.
  EXPECT_TRUE(check("SELECT 1 AS pg_sleep").accepted);
  EXPECT_TRUE(check("SELECT pg_sleep FROM t").accepted);
  // Qualified columns are columns: the notation cannot reach a denied function through a row.
  EXPECT_TRUE(check("SELECT j.schedule, r.http_status, o.lo_price FROM jobs j, requests r, orders o").accepted);
  EXPECT_TRUE(check("SELECT 'pg_sleep(1)'").accepted);
}

TEST(Gate, FingerprintAndNormalizedTextIgnoreConstants) {
  sqlgate::Verdict a = check("SELECT * FROM t WHERE id = 1 AND name = 'x'");
  sqlgate::Verdict b = check("select *   from t where id = 42 and name = 'secret'");
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.fingerprint.size(), 16u);
  EXPECT_EQ(a.normalized, "SELECT * FROM t WHERE id = $1 AND name = $2");
  EXPECT_EQ(b.normalized.find("secret"), std::string::npos);
  EXPECT_NE(a.fingerprint, check("SELECT * FROM u WHERE id = 1").fingerprint);
}

TEST(Gate, NormalizedTextHidesEveryKindOfConstant) {
  EXPECT_EQ(check("SELECT 1, -2.5e3, 'it''s', E'x\\n', $$dollar$$, $t$tag$t$, B'101', X'ff', U&'d\\0061t\\+000061' "
                  "FROM t WHERE a = $1")
                .normalized,
            "SELECT $2, -$3, $4, $5, $6, $7, $8, $9, $10 FROM t WHERE a = $1");
  EXPECT_EQ(check("SELECT 'secret' -- comment 'kept'\n").normalized, "SELECT $1 -- comment 'kept'\n");
  // libpg_query's own pg_query_normalize reads out of bounds on this text (found by the fuzz
  // target); the gate must neither crash nor echo garbage.
  sqlgate::Verdict v = check("DO E''$$$$$$$$");
  EXPECT_EQ(v.rule, Rule::statement_type);
  EXPECT_EQ(v.normalized, "DO $1$2$3");
}

TEST(Tokens, WordsInsideStringsAndCommentsAreNotWords) {
  std::string sql = "SELECT 'for' /* for */ -- for\n, \"for\" FOR";
  sqlgate::Tokens tokens(sql);
  EXPECT_EQ(tokens.find_word("for", 0), sql.find("\"for\""));
  EXPECT_EQ(tokens.find_word("for", sql.find("\"for\"") + 1), sql.rfind("FOR"));
  EXPECT_EQ(tokens.first_after(6), sql.find("'for'"));
  EXPECT_EQ(sqlgate::char_position("aé b", 3), 3);
  EXPECT_EQ(sqlgate::byte_offset("aé b", 3), 3u);
}

TEST(CaretExcerpt, CutsLongLinesAroundThePosition) {
  std::string sql = "SELECT " + std::string(200, 'x') + " + pg_sleep(1)";
  int position = at(sql, "pg_sleep");
  std::string excerpt = sqlgate::caret_excerpt(sql, position);
  auto newline = excerpt.find('\n');
  ASSERT_NE(newline, std::string::npos);
  std::string line = excerpt.substr(0, newline);
  size_t caret = excerpt.size() - newline - 2;
  EXPECT_EQ(line.substr(caret, 8), "pg_sleep") << excerpt;
  EXPECT_LT(line.size(), 150u);
  EXPECT_EQ(sqlgate::caret_excerpt(sql, 0), "");
}

TEST(Gate, ExplainAnalyzeFalseIsAPlainExplain) {
  for (const char* sql : {"EXPLAIN (ANALYZE false) SELECT 1", "EXPLAIN (ANALYZE off, VERBOSE) SELECT 1",
                          "EXPLAIN (analyze 0, FORMAT JSON) SELECT 1", "EXPLAIN (ANALYZE 'false') SELECT 1"}) {
    sqlgate::Verdict v = check(sql);
    EXPECT_TRUE(v.accepted) << sql << ": " << v.message();
    EXPECT_EQ(v.kind, Kind::explain) << sql;
  }
  for (const char* sql : {"EXPLAIN ANALYZE SELECT 1", "EXPLAIN (ANALYZE) SELECT 1", "EXPLAIN (ANALYZE true) SELECT 1",
                          "EXPLAIN (ANALYZE on) SELECT 1", "EXPLAIN (ANALYZE 1) SELECT 1",
                          "EXPLAIN (ANALYZE false, ANALYZE true) SELECT 1", "EXPLAIN (ANALYZE maybe) SELECT 1"}) {
    EXPECT_EQ(rule_of(sql), "explain-analyze") << sql;
  }
}

TEST(Gate, CastsOfConstantsAreMarkedSoUserCastsFromOtherTypesAreNotCandidates) {
  auto types = [](std::string_view sql) {
    std::vector<std::pair<std::string, bool>> out;
    for (const sqlgate::Reference& r : check(sql).references) {
      if (r.kind == sqlgate::Reference::Kind::type) out.emplace_back(r.name, r.constant);
    }
    return out;
  };
  using V = std::vector<std::pair<std::string, bool>>;
  EXPECT_EQ(types("SELECT 1::text"), (V{{"text", true}}));
  EXPECT_EQ(types("SELECT '{}'::jsonb, CAST(true AS text)"), (V{{"jsonb", true}, {"text", true}}));
  EXPECT_EQ(types("SELECT a::text FROM t"), (V{{"text", false}}));
  EXPECT_EQ(types("SELECT 1::text, a::text FROM t"), (V{{"text", true}, {"text", false}}));
}
