#include "pg/conninfo.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "util/error.hpp"
#include "util/redact.hpp"

using pgshift::pg::ConnInfo;

TEST(ConnInfo, ParsesUrlAndRedactsPassword) {
  ConnInfo c = ConnInfo::parse("postgresql://app:hunter2-x@db.internal:6543/shop?sslmode=require", "--source");
  EXPECT_EQ(c.host(), "db.internal");
  EXPECT_EQ(c.port(), "6543");
  EXPECT_EQ(c.dbname(), "shop");
  EXPECT_EQ(c.user(), "app");
  EXPECT_EQ(c.get("sslmode"), "require");
  EXPECT_EQ(c.redacted(), "app@db.internal:6543/shop");
  EXPECT_EQ(pgshift::util::redact("error: password hunter2-x rejected"), "error: password **** rejected");
}

TEST(ConnInfo, ParsesKeyValueStrings) {
  ConnInfo c = ConnInfo::parse("host=127.0.0.1 port=5433 dbname='my db' user=u password='p w\\'q'", "--target");
  EXPECT_EQ(c.dbname(), "my db");
  EXPECT_EQ(c.get("password"), "p w'q");
  EXPECT_EQ(c.redacted(), "u@127.0.0.1:5433/my db");
  // to_conninfo round-trips through libpq's parser.
  ConnInfo again = ConnInfo::parse(c.to_conninfo(), "again");
  EXPECT_EQ(again.get("password"), "p w'q");
  EXPECT_EQ(again.dbname(), "my db");
}

TEST(ConnInfo, PercentEncodedPasswordIsDecodedAndRedacted) {
  ConnInfo c = ConnInfo::parse("postgres://u:p%40ss%2Fword@h/db", "--source");
  EXPECT_EQ(c.get("password"), "p@ss/word");
  EXPECT_EQ(pgshift::util::redact("p@ss/word"), "****");
}

TEST(ConnInfo, InvalidStringIsAUsageErrorNamingTheFlag) {
  try {
    ConnInfo::parse("host=h password=zz-secret-zz bogus_key=1", "--source");
    FAIL() << "expected UsageError";
  } catch (const pgshift::UsageError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("--source"), std::string::npos) << what;
    EXPECT_NE(what.find("bogus_key"), std::string::npos) << what;
    EXPECT_EQ(what.find("zz-secret-zz"), std::string::npos) << what;
  }
  EXPECT_THROW(ConnInfo::parse("   ", "--target"), pgshift::UsageError);
  EXPECT_THROW(ConnInfo::parse("postgresql://h:notaport/db", "--target"), pgshift::UsageError);
}

// libpq's parser quotes the input back in some errors (a bad percent escape, an unexpected
// character, which echoes the whole URI); the password must not come with it.
TEST(ConnInfo, UnparsableUrlNeverEchoesItsPassword) {
  const std::vector<std::string> inputs = {
      "postgresql://u:bad%zz-secret-1@h/db",
      "postgresql://u:secret-2-ok@h:5432/db?password=qsecret-3&x",
      "postgres://u:secret-4-ok@[::1/db",
      "postgresql://h/db?a=b=c&password=secret-5&=",
  };
  for (const auto& input : inputs) {
    try {
      ConnInfo::parse(input, "--source");
      ADD_FAILURE() << "expected UsageError for " << input;
    } catch (const pgshift::UsageError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("--source: invalid connection string"), std::string::npos) << what;
      EXPECT_EQ(what.find("secret-"), std::string::npos) << what;
    }
  }
}

TEST(ConnInfo, PasswordSpansAreFoundAsWritten) {
  auto spans_of = [](std::string_view text) {
    std::vector<std::string> out;
    for (auto [begin, end] : pgshift::pg::password_spans(text)) out.emplace_back(text.substr(begin, end - begin));
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(spans_of("postgresql://u:p%40w@h:5/d"), V{"p%40w"});
  EXPECT_EQ(spans_of("--source=postgres://u:pw1@h/d?password=pw2&sslmode=require"), (V{"pw1", "pw2"}));
  EXPECT_EQ(spans_of("postgresql://u@h/d?x=a:b@c"), V{});
  EXPECT_EQ(spans_of("postgresql://h/d"), V{});
  // An unencoded '@' in the password: libpq stops at the first, the span reaches the last.
  EXPECT_EQ(spans_of("postgresql://u:pa@ss-w@h:5/d"), V{"pa@ss-w"});
  EXPECT_EQ(spans_of("host=h password = 'a b\\'c' user=u"), V{"a b\\'c"});
  EXPECT_EQ(spans_of("host=h password=plain user=u"), V{"plain"});
  EXPECT_EQ(spans_of("host=h password='unterminated"), V{"unterminated"});
  EXPECT_EQ(spans_of("passwordless text"), V{});
}

TEST(ConnInfo, PasswordWithAnUnencodedAtSignIsRedactedWhereLibpqShowsIt) {
  ConnInfo c = ConnInfo::parse("postgresql://u:pa@ss-word-7@127.0.0.1:5/d", "--source");
  // libpq reads host "ss-word-7@127.0.0.1"; every message names the endpoint.
  EXPECT_EQ(c.redacted().find("ss-word-7"), std::string::npos) << c.redacted();
}

TEST(ConnInfo, ReadsEnvironmentAndTrimsWhitespace) {
  setenv("PGSHIFT_TEST_URL", "postgresql://e@envhost:1234/envdb\n", 1);
  auto c = ConnInfo::from_env("PGSHIFT_TEST_URL");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->redacted(), "e@envhost:1234/envdb");
  unsetenv("PGSHIFT_TEST_URL");
  EXPECT_FALSE(ConnInfo::from_env("PGSHIFT_TEST_URL").has_value());
}

TEST(ConnInfo, Ipv6HostIsBracketed) {
  ConnInfo c = ConnInfo::parse("postgresql://u@[::1]:5432/d", "x");
  EXPECT_EQ(c.redacted(), "u@[::1]:5432/d");
}
