// The nesting limit (issue #23, item 1): a statement nested deeper than the gate parses is
// refused with a rule and a position before anything recurses over it, and no text up to the
// size limit crashes check(), whatever its shape.
#include <gtest/gtest.h>

#include <string>

#include "sqlgate/deep_stack.hpp"
#include "sqlgate/nesting.hpp"
#include "sqlgate/sqlgate.hpp"
#include "sqlgate/tokens.hpp"

using namespace pgshift;

namespace {

std::string repeat(std::string_view piece, size_t n) {
  std::string out;
  out.reserve(piece.size() * n);
  for (size_t i = 0; i < n; ++i) out += piece;
  return out;
}

size_t bound(const std::string& sql) { return sqlgate::nesting_bound(sql, sqlgate::Tokens(sql)).depth; }

}  // namespace

TEST(Nesting, TheIssuesExpressionIsRefusedWithARuleAndAPosition) {
  for (size_t terms : {70'000u, 100'000u, 500'000u}) {
    std::string sql = "SELECT 1" + repeat("+1", terms);
    sqlgate::Verdict v = sqlgate::check(sql);
    EXPECT_FALSE(v.accepted);
    EXPECT_EQ(sqlgate::rule_name(v.rule), std::string("nesting-limit")) << v.message();
    EXPECT_NE(v.reason.find("nests too deeply"), std::string::npos) << v.reason;
    EXPECT_GT(v.position, 10'000);
  }
}

TEST(Nesting, EveryDeepShapeIsAVerdictNotACrash) {
  // Shapes that nest one level per few bytes, up to the 1 MiB limit; each must come back.
  for (std::string sql : {
           "SELECT " + repeat("- ", 400'000) + "1",
           "SELECT " + repeat("NOT ", 200'000) + "true",
           "SELECT " + repeat("(", 200'000) + "1" + repeat(")", 200'000),
           "SELECT 1" + repeat("::int", 150'000),
           "SELECT 'a'" + repeat(" || 'a'", 100'000),
           "SELECT 1 " + repeat("UNION SELECT 1 ", 60'000),
           "SELECT * FROM t" + repeat(" JOIN t USING (a)", 50'000),
           "SELECT 1 WHERE 1 " + repeat("BETWEEN 1 AND 1 ", 60'000),
           "SELECT " + repeat("ARRAY[", 100'000) + "1" + repeat("]", 100'000),
           "SELECT " + repeat("CASE WHEN true THEN ", 40'000) + "1" + repeat(" END", 40'000),
           "SELECT " + repeat("abs(", 100'000) + "1" + repeat(")", 100'000),
           "SELECT " + repeat("(SELECT ", 50'000) + "1" + repeat(")", 50'000),
       }) {
    sqlgate::Verdict v = sqlgate::check(sql);
    EXPECT_FALSE(v.accepted) << sql.substr(0, 40) << ": " << v.message();
  }
}

TEST(Nesting, OrdinaryLargeStatementsAreAcceptedAndBoundedLow) {
  std::string in_list = "SELECT * FROM t WHERE id IN (1" + repeat(", 1", 100'000) + ")";
  EXPECT_LT(bound(in_list), 20u);
  EXPECT_TRUE(sqlgate::check(in_list).accepted);
  std::string anded = "SELECT * FROM t WHERE a = 1" + repeat(" AND a = 1", 5'000) + repeat(" OR b <> 2", 5'000);
  EXPECT_LT(bound(anded), 20u);
  EXPECT_TRUE(sqlgate::check(anded).accepted);
  std::string cased = "SELECT CASE" + repeat(" WHEN a = 1 THEN 'x'", 5'000) + " ELSE 'y' END FROM t";
  EXPECT_LT(bound(cased), 20u);
  EXPECT_TRUE(sqlgate::check(cased).accepted) << sqlgate::check(cased).message();
  std::string values = "VALUES (1, 'a')" + repeat(", (1, 'a')", 20'000);
  EXPECT_LT(bound(values), 20u);
  EXPECT_TRUE(sqlgate::check(values).accepted);
  // 100 nested sub-queries and a 2,000-term sum stay under the limit.
  std::string nested = repeat("SELECT * FROM (", 100) + "SELECT 1" + repeat(") s", 100);
  EXPECT_LT(bound(nested), 1'000u);
  EXPECT_TRUE(sqlgate::check(nested).accepted);
  std::string sum = "SELECT 1" + repeat("+1", 2'000);
  EXPECT_TRUE(sqlgate::check(sum).accepted);
  // The bound grows with what nests: chains, brackets, BETWEEN's AND, set operations.
  EXPECT_GT(bound("SELECT 1" + repeat("+1", 20'000)), sqlgate::kMaxNesting);
  EXPECT_GT(bound("SELECT 1 WHERE 1 " + repeat("BETWEEN 1 AND 1 ", 5'000)), sqlgate::kMaxNesting);
  EXPECT_GT(bound("SELECT 1, 2 " + repeat("UNION SELECT 1, 2 ", 11'000)), sqlgate::kMaxNesting);
  EXPECT_GT(bound(repeat("(", 11'000)), sqlgate::kMaxNesting);
}

TEST(Nesting, LongTextsParseOnTheirOwnStackWhateverTheCallers) {
  // 4,900 levels (a bound of 9,802, under the limit) need about 600 KB of parser stack; the
  // caller here has 256 KB. Parsed on the caller's stack this would crash the test binary.
  std::string sql = "SELECT 1" + repeat("+1", 4'900);
  sqlgate::Verdict v;
  ASSERT_TRUE(sqlgate::run_on_deep_stack([&] { v = sqlgate::check(sql); }, 256 << 10));
  EXPECT_TRUE(v.accepted) << v.message();
  EXPECT_EQ(v.kind, sqlgate::Kind::query);
  EXPECT_FALSE(v.fingerprint.empty());
}
