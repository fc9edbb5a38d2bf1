// REPLICA IDENTITY FULL needs equality on every column's type (the apply worker finds the row of
// an UPDATE or DELETE by comparing each column). The catalog's has_equality must say exactly
// what PostgreSQL says: checked against the server's own answer (SELECT DISTINCT resolves the
// same type-cache equality the apply worker uses) for every built-in type and a few user types.
// Then the trial's case end to end: a key-less table of varchar columns is replicated, UPDATE
// and DELETE included, with no identity-full-without-equality error.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "catalog/catalog.hpp"
#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using nlohmann::json;

namespace {

// One column per type of pg_catalog that can be a column type (base, range, multirange,
// composite, and their arrays), plus user types built on them. A type that cannot be a column
// type is skipped by the DO block.
constexpr std::string_view kEveryType = R"sql(
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE DOMAIN short_name AS varchar(20);
CREATE DOMAIN doc AS json;
CREATE DOMAIN nested_name AS short_name;
CREATE TYPE pair_ok AS (a varchar, b int, c mood[]);
CREATE TYPE pair_bad AS (a int, b json);
CREATE TYPE floatrange AS RANGE (subtype = float8);
CREATE TABLE every_type ();
ALTER TABLE every_type ADD COLUMN u_short_name short_name, ADD COLUMN u_doc doc, ADD COLUMN u_nested nested_name,
  ADD COLUMN u_nested_arr nested_name[], ADD COLUMN u_doc_arr doc[], ADD COLUMN u_pair_ok pair_ok,
  ADD COLUMN u_pair_bad pair_bad, ADD COLUMN u_pair_bad_arr pair_bad[], ADD COLUMN u_mood mood,
  ADD COLUMN u_mood_arr mood[], ADD COLUMN u_floatrange floatrange, ADD COLUMN u_floatmultirange floatmultirange;
DO $$
DECLARE t regtype;
BEGIN
  FOR t IN SELECT oid::regtype FROM pg_type
            WHERE typnamespace = 'pg_catalog'::regnamespace AND typisdefined AND typtype IN ('b', 'r', 'm', 'c')
            ORDER BY oid LOOP
    BEGIN
      EXECUTE format('ALTER TABLE every_type ADD COLUMN %I %s', 'c_' || t::text, t);
    EXCEPTION WHEN OTHERS THEN NULL;  -- not a possible column type (pseudo element, shell)
    END;
  END LOOP;
END $$;
)sql";

class IdentityEqualityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = start_cluster("ideq-src").release();
    target_ = start_cluster("ideq-tgt").release();
    source_->create_database("types");
    source_->create_database("app");
    target_->create_database("app");
  }
  static void TearDownTestSuite() {
    delete source_;
    delete target_;
  }
  static inline LocalCluster* source_ = nullptr;
  static inline LocalCluster* target_ = nullptr;
};

// PostgreSQL's answer: DISTINCT needs the type's equality operator and fails with 42883
// ("could not identify an equality operator") without one.
bool server_says_equality(pg::Connection& conn, const std::string& column) {
  try {
    conn.exec(fmt::format("EXPLAIN SELECT DISTINCT {} FROM every_type", pg::quote_ident(column)));
    return true;
  } catch (const pg::SqlError& e) {
    EXPECT_EQ(e.sqlstate(), "42883") << column << ": " << e.what();
    return false;
  }
}

TEST_F(IdentityEqualityTest, HasEqualityMatchesPostgresForEveryBuiltInType) {
  pg::Connection s = connect(*source_, "types");
  run_sql(s, kEveryType);
  std::vector<catalog::Table> tables = catalog::read_tables(s);
  const catalog::Table* every = nullptr;
  for (const auto& t : tables) every = t.ref.name == "every_type" ? &t : every;
  ASSERT_NE(every, nullptr);
  ASSERT_GT(every->columns.size(), 400u) << "a column per built-in type and its array";

  int with = 0, without = 0;
  std::vector<std::string> wrong;
  for (const auto& c : every->columns) {
    bool truth = server_says_equality(s, c.name);
    (truth ? with : without)++;
    if (truth != c.has_equality) wrong.push_back(fmt::format("{} ({}): server {}, pgshift {}", c.name, c.type, truth, c.has_equality));
  }
  EXPECT_TRUE(wrong.empty()) << fmt::format("{}", fmt::join(wrong, "\n"));
  EXPECT_GT(without, 20) << "json, xml, the geometric types, their arrays, pair_bad ...";
  EXPECT_GT(with, 300);
  // The trial's false error and its neighbours, by name.
  EXPECT_TRUE(every->column("c_character varying")->has_equality);
  EXPECT_TRUE(every->column("u_short_name")->has_equality);
  EXPECT_TRUE(every->column("u_nested_arr")->has_equality);
  EXPECT_TRUE(every->column("c_cidr")->has_equality);
  EXPECT_TRUE(every->column("u_pair_ok")->has_equality);
  EXPECT_FALSE(every->column("c_json")->has_equality);
  EXPECT_FALSE(every->column("u_doc_arr")->has_equality);
  EXPECT_FALSE(every->column("u_pair_bad_arr")->has_equality);
  EXPECT_FALSE(every->column("c_point[]")->has_equality);
}

// A key-less table of varchar columns (REPLICA IDENTITY FULL once published): check has no
// error for it, sync start runs, and UPDATE and DELETE reach the target.
TEST_F(IdentityEqualityTest, KeylessVarcharTableReplicatesUpdatesAndDeletes) {
  constexpr std::string_view schema =
      "CREATE TABLE labels (code varchar(12), title character varying, kind char(3), note text)";
  pg::Connection s = connect(*source_, "app");
  pg::Connection t = connect(*target_, "app");
  run_sql(s, schema);
  run_sql(t, schema);
  run_sql(s, "INSERT INTO labels SELECT 'c' || g, 'title ' || g, 'abc', NULL FROM generate_series(1, 50) g");
  std::vector<std::string> ends = {"--source", source_->url("app"), "--target", target_->url("app")};

  std::vector<std::string> check = {"check", "--json"};
  check.insert(check.end(), ends.begin(), ends.end());
  CliRun checked = run_pgshift(check);
  EXPECT_EQ(checked.exit_code, 0) << checked.all();
  EXPECT_EQ(checked.out.find("identity-full-without-equality"), std::string::npos) << checked.out;

  std::vector<std::string> start = {"sync", "start"};
  start.insert(start.end(), ends.begin(), ends.end());
  CliRun started = run_pgshift(start);
  ASSERT_EQ(started.exit_code, 0) << started.all();
  run_sql(s, "UPDATE labels SET title = 'renamed' WHERE code = 'c7'; DELETE FROM labels WHERE code = 'c9'");
  EXPECT_TRUE(wait_until([&] {
    return t.exec("SELECT count(*) FILTER (WHERE title = 'renamed') AS r, count(*) AS n FROM labels")
               .row(0).int64("r") == 1 &&
           count_rows(t, "labels") == 49;
  }, util::Millis(30'000))) << "the UPDATE and DELETE were not applied on the target";

  std::vector<std::string> stop = {"sync", "stop"};
  stop.insert(stop.end(), ends.begin(), ends.end());
  EXPECT_EQ(run_pgshift(stop).exit_code, 0);
}

}  // namespace
