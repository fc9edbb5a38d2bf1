// console/html: the one escaping function and the URL helpers, on hostile values.
#include "console/html.hpp"

#include <gtest/gtest.h>

using namespace pgshift::console;
using namespace std::string_literals;

TEST(HtmlEscape, EscapesMarkupAndBothQuotes) {
  EXPECT_EQ(html_escape("<script>alert(\"x\")</script>"), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  EXPECT_EQ(html_escape("it's"), "it&#39;s");
  EXPECT_EQ(html_escape("&amp; & &#39;"), "&amp;amp; &amp; &amp;#39;");
  EXPECT_EQ(html_escape(""), "");
  EXPECT_EQ(html_escape("plain text 123"), "plain text 123");
}

TEST(HtmlEscape, AttributeValuesCannotBeLeft) {
  std::string out = html_escape("x\" onmouseover=\"alert(1)' autofocus='");
  EXPECT_EQ(out.find('"'), std::string::npos);
  EXPECT_EQ(out.find('\''), std::string::npos);
  EXPECT_EQ(out.find('<'), std::string::npos);
  EXPECT_EQ(out.find('>'), std::string::npos);
}

TEST(HtmlEscape, KeepsUnicodeAndWhitespace) {
  EXPECT_EQ(html_escape("Ünïcødé ✓ 🐘 日本"), "Ünïcødé ✓ 🐘 日本");
  EXPECT_EQ(html_escape("a\tb\nc\r\n"), "a\tb\nc\r\n");
}

TEST(HtmlEscape, NulControlsAndInvalidUtf8BecomeReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(html_escape("a\0b"s), "a" + fffd + "b");
  EXPECT_EQ(html_escape("\x1b[31mred\x7f"), fffd + "[31mred" + fffd);
  EXPECT_EQ(html_escape("\xff<"), fffd + "&lt;");
  EXPECT_EQ(html_escape("\xe2\x82"), fffd + fffd);       // truncated sequence
  EXPECT_EQ(html_escape("\xc0\xbc"), fffd + fffd);       // overlong '<' stays harmless
  EXPECT_EQ(html_escape("\xed\xa0\x80"), fffd + fffd + fffd);  // a surrogate
}

TEST(UrlEncode, EncodesEverythingButUnreserved) {
  EXPECT_EQ(url_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(url_encode("a b/c?d&e=f:g#h%"), "a%20b%2Fc%3Fd%26e%3Df%3Ag%23h%25");
  EXPECT_EQ(url_encode("é"), "%C3%A9");
  EXPECT_EQ(url_encode("\0\"<'"s), "%00%22%3C%27");
  EXPECT_EQ(url_encode("../.."), "..%2F..");
}

TEST(UrlQuery, BuildsAnEncodedQueryString) {
  EXPECT_EQ(Query().str(), "");
  Query q;
  q.add("sort", "id").add("dir", "desc").add("f", "name:contains:a&b=c d").add("page", "2");
  EXPECT_EQ(q.str(), "?sort=id&dir=desc&f=name%3Acontains%3Aa%26b%3Dc%20d&page=2");
}

TEST(Href, PrefixesTheBasePath) {
  EXPECT_EQ(href("", "/tables"), "/tables");
  EXPECT_EQ(href("/ops/db", "/tables/" + url_encode("my schema") + "/" + url_encode("t/1"), Query().add("page", "3")),
            "/ops/db/tables/my%20schema/t%2F1?page=3");
}

TEST(Link, EscapesUrlAndText) {
  EXPECT_EQ(link("/a?x=1&y=\"2\"", "<b>", "up"), "<a href=\"/a?x=1&amp;y=&quot;2&quot;\" class=\"up\">&lt;b&gt;</a>");
}
