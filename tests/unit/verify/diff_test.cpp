#include <gtest/gtest.h>

#include "verify/diff.hpp"

using namespace pgshift::verify;

TEST(VerifyDiff, RowsByKeyAndHash) {
  RowHashes s = {{{"1"}, {"a"}}, {{"2"}, {"b"}}, {{"3"}, {"c"}}, {{"10"}, {"x"}}};
  RowHashes t = {{{"1"}, {"a"}}, {{"3"}, {"C"}}, {{"4"}, {"d"}}, {{"10"}, {"x"}}};
  auto d = diff_rows(s, t);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].kind, DiffKind::missing_on_target);
  EXPECT_EQ(d[0].key, Key{"2"});
  EXPECT_EQ(d[1].kind, DiffKind::different);
  EXPECT_EQ(d[1].key, Key{"3"});
  EXPECT_EQ(d[2].kind, DiffKind::extra_on_target);
  EXPECT_EQ(d[2].key, Key{"4"});
  EXPECT_TRUE(diff_rows(s, s).empty());
  EXPECT_EQ(diff_rows({}, t).size(), t.size());
}

TEST(VerifyDiff, TermsNameTheDifferingColumns) {
  RowTerms s = {{{"7"}, {{"1", "2", "3"}}}, {{"8"}, {{"1", "1", "1"}}}};
  RowTerms t = {{{"7"}, {{"1", "9", "9"}}}, {{"8"}, {{"1", "1", "1"}}}};
  auto d = diff_terms(s, t, {"id", "total", "note"}, true);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].key, Key{"7"});
  EXPECT_EQ(d[0].columns, (std::vector<std::string>{"total", "note"}));
  // Counts mode: content is not compared, presence is.
  EXPECT_TRUE(diff_terms(s, t, {"id", "total", "note"}, false).empty());
  RowTerms fewer = {{{"8"}, {{"1", "1", "1"}}}};
  auto missing = diff_terms(s, fewer, {"id", "total", "note"}, false);
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].kind, DiffKind::missing_on_target);
}

TEST(VerifyDiff, KeylessRowsCountCopies) {
  KeylessRows s = {{"h1", {1, "(a)"}}, {"h2", {2, "(b)"}}, {"h3", {1, "(c)"}}};
  KeylessRows t = {{"h1", {2, "(a)"}}, {"h2", {2, "(b)"}}, {"h4", {3, "(d)"}}};
  auto d = diff_keyless(s, t);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].row, "(a)");
  EXPECT_EQ(d[0].kind, DiffKind::extra_on_target);
  EXPECT_EQ(d[0].source_copies, 1);
  EXPECT_EQ(d[0].target_copies, 2);
  EXPECT_EQ(d[0].row_hash, "h1");
  EXPECT_EQ(rows_of(d[0]), 1);
  EXPECT_EQ(d[1].row, "(c)");
  EXPECT_EQ(d[1].kind, DiffKind::missing_on_target);
  EXPECT_EQ(d[2].row, "(d)");
  EXPECT_EQ(rows_of(d[2]), 3);
}

// A target without a unique index on the key can hold it twice: the surplus copy is an extra
// row, in both modes, whether the copies agree or not.
TEST(VerifyDiff, DuplicateKeysAreExtraOrMissingRows) {
  RowHashes s = {{{"5"}, {"a"}}, {{"6"}, {"b"}}};
  RowHashes t = {{{"5"}, {"a", "a"}}, {{"6"}, {"b"}}};
  auto d = diff_rows(s, t);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, DiffKind::extra_on_target);
  EXPECT_EQ(d[0].key, Key{"5"});
  EXPECT_EQ(d[0].source_copies, 1);
  EXPECT_EQ(d[0].target_copies, 2);
  EXPECT_EQ(rows_of(d[0]), 1);
  auto back = diff_rows(t, s);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].kind, DiffKind::missing_on_target);

  RowTerms st = {{{"5"}, {{"1", "2"}}}};
  RowTerms tt = {{{"5"}, {{"1", "2"}, {"1", "3"}, {"1", "4"}}}};
  for (bool content : {true, false}) {
    auto dt = diff_terms(st, tt, {"id", "v"}, content);
    ASSERT_EQ(dt.size(), 1u);
    EXPECT_EQ(dt[0].kind, DiffKind::extra_on_target);
    EXPECT_EQ(rows_of(dt[0]), 2);
  }
  // As many copies on both sides, one of them different: the column is named.
  RowTerms two = {{{"5"}, {{"1", "2"}, {"1", "2"}}}};
  RowTerms other = {{{"5"}, {{"1", "2"}, {"1", "9"}}}};
  auto dd = diff_terms(two, other, {"id", "v"}, true);
  ASSERT_EQ(dd.size(), 1u);
  EXPECT_EQ(dd[0].kind, DiffKind::different);
  EXPECT_EQ(dd[0].columns, std::vector<std::string>{"v"});
}
