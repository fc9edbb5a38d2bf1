#include <gtest/gtest.h>

#include "http/origin.hpp"
#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::http;

TEST(HttpOrigin, HostMustBeThisServer) {
  OriginCheck c(ListenAddress::parse("127.0.0.1:8977", "--listen"), {"https://db.example.com"});
  EXPECT_TRUE(c.host_allowed("127.0.0.1:8977", "127.0.0.1", 8977));
  EXPECT_TRUE(c.host_allowed("localhost:8977", "127.0.0.1", 8977));
  EXPECT_TRUE(c.host_allowed("LOCALHOST:8977", "127.0.0.1", 8977));
  EXPECT_TRUE(c.host_allowed("[::1]:8977", "127.0.0.1", 8977));
  EXPECT_TRUE(c.host_allowed("db.example.com", "127.0.0.1", 8977));
  EXPECT_TRUE(c.host_allowed("db.example.com:443", "127.0.0.1", 8977));
  EXPECT_FALSE(c.host_allowed("evil.example:8977", "127.0.0.1", 8977));
  EXPECT_FALSE(c.host_allowed("127.0.0.1:8978", "127.0.0.1", 8977));
  EXPECT_FALSE(c.host_allowed("", "127.0.0.1", 8977));
}

TEST(HttpOrigin, WildcardListenAcceptsTheArrivalAddress) {
  OriginCheck c(ListenAddress::parse("0.0.0.0:8977", "--listen"), {});
  EXPECT_TRUE(c.host_allowed("10.1.2.3:8977", "10.1.2.3", 8977));
  EXPECT_FALSE(c.host_allowed("10.1.2.4:8977", "10.1.2.3", 8977));
  EXPECT_FALSE(c.host_allowed("rebind.evil:8977", "10.1.2.3", 8977));
}

TEST(HttpOrigin, SameOriginRule) {
  OriginCheck c(ListenAddress::parse("127.0.0.1:8977", "--listen"), {"https://db.example.com/"});
  EXPECT_TRUE(c.same_origin("127.0.0.1:8977", "http://127.0.0.1:8977", ""));
  EXPECT_TRUE(c.same_origin("db.example.com", "https://db.example.com", ""));
  EXPECT_TRUE(c.same_origin("127.0.0.1:8977", "https://DB.example.com", ""));
  EXPECT_FALSE(c.same_origin("127.0.0.1:8977", "http://evil.example", ""));
  EXPECT_FALSE(c.same_origin("127.0.0.1:8977", "null", ""));
  EXPECT_FALSE(c.same_origin("127.0.0.1:8977", "http://127.0.0.1:8977.evil.example", ""));
  EXPECT_TRUE(c.same_origin("127.0.0.1:8977", "", "same-origin"));
  EXPECT_FALSE(c.same_origin("127.0.0.1:8977", "", "cross-site"));
  EXPECT_FALSE(c.same_origin("127.0.0.1:8977", "", ""));
}

TEST(HttpOrigin, TheSchemeIsPartOfTheOrigin) {
  OriginCheck c(ListenAddress::parse("127.0.0.1:8977", "--listen"), {"https://db.example.com"});
  // The server speaks plain HTTP: an https page on its address is another origin.
  EXPECT_TRUE(c.same_origin("127.0.0.1:8977", "http://127.0.0.1:8977", ""));
  EXPECT_FALSE(c.same_origin("127.0.0.1:8977", "https://127.0.0.1:8977", ""));
  EXPECT_FALSE(c.origin_if_present("127.0.0.1:8977", "https://127.0.0.1:8977", ""));
  // Behind the TLS proxy of --allowed-origin: its scheme only.
  EXPECT_TRUE(c.same_origin("db.example.com", "https://db.example.com", ""));
  EXPECT_FALSE(c.same_origin("db.example.com", "http://db.example.com", ""));
  EXPECT_FALSE(c.same_origin("db.example.com:443", "http://db.example.com:443", ""));
  OriginCheck plain(ListenAddress::parse("127.0.0.1:8977", "--listen"), {"http://db.internal:8080"});
  EXPECT_TRUE(plain.same_origin("db.internal:8080", "http://db.internal:8080", ""));
  EXPECT_FALSE(plain.same_origin("db.internal:8080", "https://db.internal:8080", ""));
}

TEST(HttpOrigin, OriginIfPresentLetsNonBrowsersThrough) {
  OriginCheck c(ListenAddress::parse("127.0.0.1:8977", "--listen"), {});
  EXPECT_TRUE(c.origin_if_present("127.0.0.1:8977", "", ""));
  EXPECT_TRUE(c.origin_if_present("127.0.0.1:8977", "http://127.0.0.1:8977", ""));
  EXPECT_FALSE(c.origin_if_present("127.0.0.1:8977", "http://evil.example", ""));
  EXPECT_FALSE(c.origin_if_present("127.0.0.1:8977", "", "cross-site"));
}

TEST(HttpOrigin, AllowedOriginsAreValidated) {
  auto l = ListenAddress::parse("127.0.0.1:8977", "--listen");
  for (const char* bad : {"db.example.com", "ftp://db.example.com", "https://db.example.com/ops", "https://"}) {
    EXPECT_THROW(OriginCheck(l, {bad}), UsageError) << bad;
  }
}
