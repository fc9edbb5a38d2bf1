#include <gtest/gtest.h>

#include "http/address.hpp"
#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::http;

TEST(HttpAddress, ParsesListenAddresses) {
  auto a = ListenAddress::parse("127.0.0.1:8977", "--listen");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 8977);
  auto b = ListenAddress::parse("[::1]:0", "--listen");
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 0);
  EXPECT_EQ(b.host_for_url(), "[::1]");
  for (const char* bad : {"127.0.0.1", "::1:80", ":80", "host:99999", "host:x", "[::1]80"}) {
    EXPECT_THROW(ListenAddress::parse(bad, "--listen"), UsageError) << bad;
  }
}

TEST(HttpAddress, KnowsLoopback) {
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("127.1.2.3"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_TRUE(is_loopback("localhost"));
  EXPECT_TRUE(is_loopback("::ffff:127.0.0.1"));
  EXPECT_FALSE(is_loopback("0.0.0.0"));
  EXPECT_FALSE(is_loopback("::"));
  EXPECT_FALSE(is_loopback("10.0.0.1"));
  EXPECT_FALSE(is_loopback("db.example.com"));
}

TEST(HttpAddress, CidrMatchesNumerically) {
  Cidr one = Cidr::parse("127.0.0.1/32", "--trusted-proxy");
  EXPECT_TRUE(one.contains("127.0.0.1"));
  EXPECT_TRUE(one.contains("::ffff:127.0.0.1"));
  EXPECT_FALSE(one.contains("127.0.0.2"));
  EXPECT_FALSE(one.contains("not an address"));
  Cidr ten = Cidr::parse("10.0.0.0/8", "--trusted-proxy");
  EXPECT_TRUE(ten.contains("10.255.1.2"));
  EXPECT_FALSE(ten.contains("11.0.0.1"));
  Cidr bare = Cidr::parse("192.168.1.7", "--trusted-proxy");
  EXPECT_TRUE(bare.contains("192.168.1.7"));
  EXPECT_FALSE(bare.contains("192.168.1.8"));
  Cidr v6 = Cidr::parse("fd00::/8", "--trusted-proxy");
  EXPECT_TRUE(v6.contains("fd12::1"));
  EXPECT_FALSE(v6.contains("fe80::1"));
  EXPECT_FALSE(v6.contains("10.0.0.1"));
  Cidr all = Cidr::parse("0.0.0.0/0", "--trusted-proxy");
  EXPECT_TRUE(all.contains("8.8.8.8"));
  EXPECT_FALSE(all.contains("fd12::1"));
  for (const char* bad : {"10.0.0.0/33", "10.0.0/8", "fd00::/129", "x/8", "10.0.0.0/"}) {
    EXPECT_THROW(Cidr::parse(bad, "--trusted-proxy"), UsageError) << bad;
  }
}
