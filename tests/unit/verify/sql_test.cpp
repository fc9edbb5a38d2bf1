#include <gtest/gtest.h>

#include <cctype>

#include "verify/sql.hpp"

using namespace pgshift;
using namespace pgshift::verify;

namespace {

SideSql side(size_t key_parts) {
  SideSql s;
  s.relation = "\"public\".\"t\"";
  for (size_t i = 0; i < key_parts; ++i) {
    KeyPart k;
    k.column = "k" + std::to_string(i);
    k.order_expr = "\"k" + std::to_string(i) + "\"";
    k.bound_type = "bigint";
    k.text_expr = "(\"k" + std::to_string(i) + "\")::text";
    k.lookup_expr = k.order_expr;
    k.lookup_type = "bigint";
    s.key.push_back(k);
  }
  s.terms = {"hashint8extended(\"v\", 1)"};
  s.row_hash = "hashint8extended(\"v\", 1)";
  return s;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST(VerifySql, RangeBoundsAreParameters) {
  Query q = hash_query(side(1), Range{Key{"10"}, Key{"20"}}, {});
  EXPECT_NE(q.sql.find("WHERE \"k0\" >= $1::bigint AND \"k0\" < $2::bigint"), std::string::npos) << q.sql;
  ASSERT_EQ(q.params.size(), 2u);
  EXPECT_EQ(*q.params[0].value(), "10");
  EXPECT_EQ(*q.params[1].value(), "20");
  Query whole = hash_query(side(1), {}, {});
  EXPECT_NE(whole.sql.find("WHERE TRUE"), std::string::npos);
  EXPECT_TRUE(whole.params.empty());
}

TEST(VerifySql, CompositeKeysCompareAsRows) {
  Query q = hash_query(side(2), Range{Key{"1", "a"}, std::nullopt}, {});
  EXPECT_NE(q.sql.find("(\"k0\", \"k1\") >= ($1::bigint, $2::bigint)"), std::string::npos) << q.sql;
}

namespace {

// Evaluates the generated bucket expression for one integer key: the CASE tree's grammar is
// "CASE WHEN "k0" < $n::bigint THEN <expr> ELSE <expr> END" or a bucket number.
int eval_bucket(const std::string& sql, size_t& pos, const pgshift::pg::Params& params, long key) {
  const std::string when = "CASE WHEN \"k0\" < $";
  if (sql.compare(pos, when.size(), when) == 0) {
    pos += when.size();
    size_t n = std::stoul(sql.substr(pos));
    pos = sql.find(" THEN ", pos) + 6;
    long bound = std::stol(*params.at(n - 1).value());
    int below = eval_bucket(sql, pos, params, key);
    pos = sql.find(" ELSE ", pos) + 6;
    int above = eval_bucket(sql, pos, params, key);
    pos = sql.find(" END", pos) + 4;
    return key < bound ? below : above;
  }
  size_t end = pos;
  while (end < sql.size() && std::isdigit(static_cast<unsigned char>(sql[end]))) ++end;
  int b = std::stoi(sql.substr(pos, end - pos));
  pos = end;
  return b;
}

}  // namespace

TEST(VerifySql, BucketTreeCountsTheBoundsBelowTheKey) {
  std::vector<Key> bounds = {{"10"}, {"20"}, {"30"}, {"40"}, {"50"}};
  Query q = hash_query(side(1), {}, bounds);
  EXPECT_EQ(q.params.size(), bounds.size()) << "each bound bound once";
  EXPECT_EQ(count(q.sql, "CASE WHEN"), bounds.size());
  EXPECT_NE(q.sql.find("GROUP BY 1"), std::string::npos);
  size_t start = q.sql.find("SELECT ") + 7;
  for (long key : {-5L, 9L, 10L, 11L, 19L, 20L, 35L, 49L, 50L, 1000L}) {
    size_t pos = start;
    int expected = 0;
    for (const auto& b : bounds) expected += key >= std::stol(b[0]);
    EXPECT_EQ(eval_bucket(q.sql, pos, q.params, key), expected) << "key " << key;
  }
}

TEST(VerifySql, CountsModeSumsNothing) {
  SideSql s = side(1);
  s.row_hash.clear();
  Query q = hash_query(s, {}, {});
  EXPECT_NE(q.sql.find("'0' AS sum"), std::string::npos) << q.sql;
  Query rows = rows_query(s, {}, {}, {});
  EXPECT_NE(rows.sql.find("'0' AS h"), std::string::npos) << rows.sql;
}

TEST(VerifySql, KeyLookupsBindArrays) {
  Query one = keys_query(side(1), {{"1"}, {"2"}});
  EXPECT_NE(one.sql.find("\"k0\" = ANY($1::bigint[])"), std::string::npos) << one.sql;
  EXPECT_EQ(*one.params[0].value(), "{\"1\",\"2\"}");
  Query two = keys_query(side(2), {{"1", "a"}});
  EXPECT_NE(two.sql.find("(\"k0\", \"k1\") IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))"),
            std::string::npos)
      << two.sql;
}

TEST(VerifySql, ArrayLiteralEscapesQuotesAndBackslashes) {
  EXPECT_EQ(array_literal({"a", "b\"c", "d\\e", "", "日本"}), "{\"a\",\"b\\\"c\",\"d\\\\e\",\"\",\"日本\"}");
  EXPECT_EQ(array_literal({}), "{}");
}

TEST(VerifySql, SampleAndSplitQueries) {
  Query sample = sample_query(side(1), 2.5, 8);
  EXPECT_NE(sample.sql.find("TABLESAMPLE SYSTEM ($1::real) REPEATABLE (0)"), std::string::npos) << sample.sql;
  EXPECT_EQ(*sample.params[1].value(), "8");
  Query split = split_query(side(1), Range{Key{"5"}, std::nullopt}, 1000, 16);
  EXPECT_EQ(*split.params.back().value(), "63");  // ceil(1000 / 16)
}

TEST(VerifySql, KeylessRowsByBucketOrHash) {
  Query buckets = keyless_rows_query(side(0), std::vector<int>{3, 7});
  EXPECT_NE(buckets.sql.find("(h & 4095)::int = ANY($1::int[])"), std::string::npos) << buckets.sql;
  EXPECT_EQ(*buckets.params[0].value(), "{3,7}");
  Query hashes = keyless_rows_query(side(0), std::vector<std::string>{"-12", "34"});
  EXPECT_NE(hashes.sql.find("h = ANY($1::bigint[])"), std::string::npos) << hashes.sql;
}

TEST(VerifySql, OnlyIndexServedRangesTurnSequentialScansOff) {
  SideSql s = side(1);
  s.has_key_index = true;
  Range chunk{Key{"1"}, Key{"9"}};
  EXPECT_TRUE(hash_query(s, chunk, {}).index_range);
  EXPECT_TRUE(rows_query(s, chunk, {}, {}).index_range);
  EXPECT_TRUE(split_query(s, chunk, 100, 4).index_range);
  EXPECT_FALSE(hash_query(s, {}, {}).index_range) << "a whole table is read sequentially";
  s.key[0].index_order = false;  // COLLATE "C" on a linguistic column
  EXPECT_FALSE(hash_query(s, chunk, {}).index_range);
  s = side(1);
  EXPECT_FALSE(hash_query(s, chunk, {}).index_range) << "no index on the key";
}
