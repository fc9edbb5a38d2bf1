// The shared result formats on hand-built results: typing, escaping, NULL versus empty,
// bytea shortening, invalid UTF-8.
#include "query/format.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "query/format_budget.hpp"
#include "query/value.hpp"

using namespace pgshift;
using query::Column;
using query::Result;

namespace {

Result make(std::vector<Column> columns, std::vector<query::Row> rows) {
  Result r;
  r.columns = std::move(columns);
  r.rows = std::move(rows);
  r.limit = 1000;
  return r;
}

Column col(std::string name, Oid oid) { return Column{std::move(name), oid, -1, ""}; }

}  // namespace

TEST(FormatJson, TypesValuesExactly) {
  Result r = make({col("i", 23), col("big", 20), col("huge", 20), col("n", 1700), col("f", 701), col("nan", 701),
                   col("b", 16), col("j", 3802), col("t", 25), col("e", 25), col("by", 17), col("bad", 114)},
                  {{"42", "9007199254740991", "9007199254740993", "1.50", "0.1", "NaN", "f", R"({"a": [1, 2]})",
                    std::nullopt, "", "\\xdeadbeef", "{not json"}});
  auto doc = nlohmann::json::parse(query::render_json(r));
  ASSERT_TRUE(doc.is_array());
  const auto& o = doc[0];
  EXPECT_EQ(o["i"], 42);
  EXPECT_EQ(o["big"], 9007199254740991LL);
  EXPECT_EQ(o["huge"], "9007199254740993");  // beyond 2^53: a string, exact
  EXPECT_EQ(o["n"], "1.50");
  EXPECT_DOUBLE_EQ(o["f"].get<double>(), 0.1);
  EXPECT_EQ(o["nan"], "NaN");
  EXPECT_EQ(o["b"], false);
  EXPECT_EQ(o["j"]["a"][1], 2);
  EXPECT_TRUE(o["t"].is_null());
  EXPECT_EQ(o["e"], "");
  EXPECT_EQ(o["by"], "\\xdeadbeef");
  EXPECT_EQ(o["bad"], "{not json");
}

TEST(FormatJson, ArraysOfScalarsAreJsonArrays) {
  Result r = make({col("tags", 1009), col("ints", 1007), col("grid", 1016), col("flags", 1000), col("docs", 3807),
                   col("nums", 1231), col("empty", 1009), col("bounded", 1007), col("point", 1017)},
                  {{R"({Trailers,"Deleted Scenes",NULL,"say \"hi\"","a\\b"})", "{1,-2,NULL}", "{{1,2},{3,4}}", "{t,f}",
                    R"({"{\"a\": 1}","[2]"})", "{1.50,NaN}", "{}", "[0:1]={1,2}", R"x({"(1,2)"})x"}});
  auto o = nlohmann::json::parse(query::render_json(r))[0];
  EXPECT_EQ(o["tags"], nlohmann::json::parse(R"(["Trailers", "Deleted Scenes", null, "say \"hi\"", "a\\b"])"));
  EXPECT_EQ(o["ints"], nlohmann::json::parse("[1, -2, null]"));
  EXPECT_EQ(o["grid"], nlohmann::json::parse("[[1, 2], [3, 4]]"));
  EXPECT_EQ(o["flags"], nlohmann::json::parse("[true, false]"));
  EXPECT_EQ(o["docs"], nlohmann::json::parse(R"([{"a": 1}, [2]])"));
  EXPECT_EQ(o["nums"], nlohmann::json::parse(R"(["1.50", "NaN"])")) << "numeric stays exact";
  EXPECT_EQ(o["empty"], nlohmann::json::array());
  EXPECT_EQ(o["bounded"], "[0:1]={1,2}") << "explicit bounds stay text";
  EXPECT_EQ(o["point"], R"x({"(1,2)"})x") << "arrays of non-scalar types stay text";
  // Other formats are unchanged.
  EXPECT_NE(query::render_csv(r).find(R"("{Trailers,""Deleted Scenes"")"), std::string::npos);
}

TEST(FormatTable, MultiLineValuesPrintAsLines) {
  Result r = make({col("QUERY PLAN", 114), col("n", 23)}, {{"[\n  {\n    \"Plan\": 1\r\n  }\n]", "7"}});
  std::string text = query::render_table(r);
  EXPECT_EQ(text.find("\\n"), std::string::npos) << "no escaped line breaks: " << text;
  EXPECT_NE(text.find("\n    \"Plan\": 1"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 7) << "header, rule, five lines: " << text;
  EXPECT_EQ(text.find("\\r"), std::string::npos) << text;
  // A line break inside a one-line value of another column is still one row per line.
  Result two = make({col("a", 25), col("b", 25)}, {{"x\ny", "z"}});
  EXPECT_EQ(query::render_table(two), query::render_table(make({col("a", 25), col("b", 25)}, {{"x", "z"}, {"y", ""}})));
}

TEST(FormatJson, KeepsColumnOrderAndMakesNamesUnique) {
  Result r = make({col("z", 23), col("a", 23), col("a", 23), col("a_2", 23)}, {{"1", "2", "3", "4"}});
  std::string text = query::render_json(r);
  EXPECT_LT(text.find("\"z\""), text.find("\"a\""));
  auto o = nlohmann::json::parse(text)[0];
  EXPECT_EQ(o.size(), 4u);
  EXPECT_EQ(o["a"], 2);
  EXPECT_EQ(o["a_2"], 4);
  EXPECT_EQ(o["a_3"], 3);
}

TEST(FormatCsv, FollowsRfc4180AndKeepsNullApartFromEmpty) {
  Result r = make({col("a", 25), col("b,c", 25), col("n", 23)},
                  {{"x", "say \"hi\", then\nleave", "1"}, {std::nullopt, "", std::nullopt}});
  EXPECT_EQ(query::render_csv(r), "a,\"b,c\",n\r\nx,\"say \"\"hi\"\", then\nleave\",1\r\n,\"\",\r\n");
}

TEST(FormatMarkdown, EscapesPipesAndLineBreaks) {
  Result r = make({col("a|b", 25), col("n", 1700)}, {{"x|y\nz", "1.5"}, {std::nullopt, ""}});
  EXPECT_EQ(query::render_markdown(r), "| a\\|b | n |\n| --- | ---: |\n| x\\|y<br>z | 1.5 |\n| NULL |  |\n");
}

TEST(FormatTable, AlignsNumbersAndShowsNull) {
  Result r = make({col("name", 25), col("n", 23)}, {{"alice", "7"}, {std::nullopt, "1234"}, {"", std::nullopt}});
  EXPECT_EQ(query::render_table(r),
            "name      n\n"
            "-----  ----\n"
            "alice     7\n"
            "NULL   1234\n"
            "       NULL\n");
}

TEST(FormatTable, NeutralisesTerminalControlAndBidiCharacters) {
  Result r = make({col("v", 25)}, {{"\x1b[2J\x1b]0;pwned\x07 a\tb \xe2\x80\xae" "evil \xc2\x85"}});
  std::string text = query::render_table(r);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\x07'), std::string::npos);
  EXPECT_NE(text.find("\\x1b[2J\\x1b]0;pwned\\x07 a\\tb \\u202eevil \\u0085"), std::string::npos) << text;
}

TEST(Format, InvalidUtf8NeverBreaksAnyFormat) {
  Result r = make({col("bad\xff", 25)}, {{"ok \xc3\x28 \xff end"}});
  for (auto format : {query::Format::table, query::Format::csv, query::Format::json, query::Format::markdown}) {
    std::string text = query::render(r, format);
    EXPECT_EQ(text.find("\xff"), std::string::npos);
    EXPECT_NE(text.find("\xEF\xBF\xBD"), std::string::npos) << text;
  }
  EXPECT_EQ(nlohmann::json::parse(query::render_json(r))[0]["bad\xEF\xBF\xBD"], "ok \xEF\xBF\xBD( \xEF\xBF\xBD end");
}

TEST(Format, ByteaIsShortenedForDisplayOnly) {
  std::string hex = "\\x" + std::string(2 * 1000, 'a');
  Result r = make({col("data", 17)}, {{hex}});
  std::string shown = "\\x" + std::string(2 * query::kByteaShown, 'a') + "… (1000 bytes)";
  EXPECT_NE(query::render_table(r).find(shown), std::string::npos);
  EXPECT_NE(query::render_markdown(r).find(shown), std::string::npos);
  EXPECT_NE(query::render_csv(r).find(hex), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(query::render_json(r))[0]["data"], hex);
  EXPECT_EQ(query::shorten_bytea("\\x0102"), "\\x0102");
}

TEST(Format, ParseFormatNamesTheFlag) {
  EXPECT_EQ(query::parse_format("csv", "--format"), query::Format::csv);
  try {
    query::parse_format("xml", "--format");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--format: unknown format 'xml' (use table, csv, json or markdown)");
  }
}

TEST(Format, SummarySaysWhyItWasTruncated) {
  Result r = make({col("a", 23)}, {{"1"}, {"2"}});
  r.limit = 2;
  r.truncated = true;
  r.truncated_by = query::Truncation::limit;
  r.elapsed = util::Millis(35);
  EXPECT_EQ(query::summary(r), "2 rows (truncated at the limit of 2; there are more) in 35ms");
  auto doc = query::result_json(r);
  EXPECT_EQ(doc["truncated_by"], "limit");
  EXPECT_EQ(doc["row_count"], 2);
}

TEST(Format, ResultsWithoutColumnsStillSaySomething) {
  Result r = make({}, {{}, {}});
  EXPECT_EQ(query::render_table(r), "(no columns)\n");
  EXPECT_EQ(query::render_markdown(r), "*(no columns)*\n");
  EXPECT_EQ(query::render_json(r), "[\n  {},\n  {}\n]\n");
}

TEST(FormatPieces, JoinedPiecesAreTheWholeRendering) {
  std::vector<query::Row> rows;
  for (int i = 0; i < 7; ++i) {
    rows.push_back({std::to_string(i), i % 3 == 0 ? std::optional<std::string>() : "a, \"b\"\nc", R"({"k": [1, {"x": 2}]})"});
  }
  Result r = make({col("id", 23), col("t", 25), col("j", 3802)}, rows);
  for (query::Format f : {query::Format::csv, query::Format::json, query::Format::markdown, query::Format::table}) {
    for (size_t step : {1u, 2u, 3u, 7u, 100u}) {
      std::string joined;
      int pieces = 0;
      EXPECT_TRUE(query::render_pieces(r, f, step, [&](std::string_view p) {
        joined += p;
        ++pieces;
        return true;
      }));
      EXPECT_EQ(joined, query::render(r, f)) << static_cast<int>(f) << " step " << step;
      if (f != query::Format::table && step == 1) {
        EXPECT_GE(pieces, 7);
      }
    }
  }
  Result empty = make({col("id", 23)}, {});
  for (query::Format f : {query::Format::csv, query::Format::json, query::Format::markdown}) {
    std::string joined;
    query::render_pieces(empty, f, 10, [&](std::string_view p) { joined += p; return true; });
    EXPECT_EQ(joined, query::render(empty, f));
  }
  // A writer that stops (the client went away) stops the rendering.
  int calls = 0;
  EXPECT_FALSE(query::render_pieces(r, query::Format::csv, 1, [&](std::string_view) { return ++calls < 2; }));
  EXPECT_EQ(calls, 2);
}

TEST(FormatBudget, ASingleValueIsCutToTheBudgetAndTheRestDropped) {
  Result r = make({col("n", 23), col("big", 25), col("after", 25)},
                  {{"1", std::string(1000, 'x'), "tail"}, {"2", "small", "z"}});
  std::vector<query::CutValue> cuts = query::fit_to_budget(r, 101);
  ASSERT_EQ(cuts.size(), 2u);
  EXPECT_EQ(cuts[0].row, 0u);
  EXPECT_EQ(cuts[0].column, 1u);
  EXPECT_EQ(cuts[0].bytes, 1000u);
  EXPECT_EQ(cuts[0].kept, 100u);  // "1" took one byte of the 101
  EXPECT_EQ(*r.rows[0][1], std::string(100, 'x'));
  EXPECT_EQ(cuts[1].column, 2u);  // nothing left for the rest of the row
  EXPECT_EQ(*r.rows[0][2], "");
  EXPECT_EQ(r.rows.size(), 1u) << "rows after the budget are dropped";
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.truncated_by, query::Truncation::bytes);
  auto j = query::cuts_json(r, cuts);
  EXPECT_EQ(j[0]["column"], "big");
  EXPECT_EQ(j[0]["bytes"], 1000);
  EXPECT_NE(query::describe_cuts(cuts, 101).find("2 values cut"), std::string::npos);
  // Within the budget nothing changes.
  Result fits = make({col("t", 25)}, {{"abc"}, {"def"}});
  EXPECT_TRUE(query::fit_to_budget(fits, 6).empty());
  EXPECT_FALSE(fits.truncated);
}

TEST(FormatBudget, ValuesCutOnTheServerAreListedWithTheirFullSize) {
  Result r = make({col("big", 25), col("n", 23)}, {{std::string(10, 'x'), "1"}, {"small", "2"}});
  r.server_cuts.push_back({0, 0, 300'000'000});
  std::vector<query::CutValue> cuts = query::fit_to_budget(r, 100);  // what arrived fits
  ASSERT_EQ(cuts.size(), 1u);
  EXPECT_EQ(cuts[0].bytes, 300'000'000u);
  EXPECT_EQ(cuts[0].kept, 10u);
  EXPECT_EQ(r.rows.size(), 2u);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.truncated_by, query::Truncation::bytes);
  // Cut further by a smaller budget: still the full size.
  r.truncated = false;
  cuts = query::fit_to_budget(r, 4);
  ASSERT_FALSE(cuts.empty());
  EXPECT_EQ(cuts[0].bytes, 300'000'000u);
  EXPECT_EQ(cuts[0].kept, 4u);
}

TEST(FormatBudget, CutsKeepWholeCharactersAndWholeBytes) {
  Result text = make({col("t", 25)}, {{"ab\xC3\xA9\xC3\xA9"}});  // "abéé": é is two bytes
  auto cuts = query::fit_to_budget(text, 3);
  ASSERT_EQ(cuts.size(), 1u);
  EXPECT_EQ(*text.rows[0][0], "ab");
  Result bytea = make({col("b", 17)}, {{"\\xdeadbeef"}});
  query::fit_to_budget(bytea, 7);
  EXPECT_EQ(*bytea.rows[0][0], "\\xdead");
  // A cut json value is no longer JSON: the json format shows it as a string.
  Result doc = make({col("j", 3802)}, {{R"({"a": "long value"})"}});
  query::fit_to_budget(doc, 8);
  EXPECT_TRUE(nlohmann::json::parse(query::render_json(doc))[0]["j"].is_string());
}
