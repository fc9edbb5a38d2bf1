#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "http/auth.hpp"
#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::http;

namespace {

std::string write_file(const std::string& content) {
  char path[] = "/tmp/pgshift-tokens-XXXXXX";
  int fd = mkstemp(path);
  ::close(fd);
  std::ofstream(path) << content;
  return path;
}

}  // namespace

TEST(HttpAuth, Sha256HexIsTheStandardDigest) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HttpAuth, NoneIsLocal) {
  Authenticator a(AuthConfig{});
  AuthOutcome o = a.authenticate("127.0.0.1", "", "");
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.identity, "local");
}

TEST(HttpAuth, TrustedHeaderOnlyFromTrustedPeers) {
  AuthConfig c;
  c.mode = AuthMode::trusted_header;
  c.identity_header = "X-Forwarded-Email";
  c.trusted_proxies = {Cidr::parse("127.0.0.1/32", "--trusted-proxy")};
  Authenticator a(c);
  AuthOutcome ok = a.authenticate("127.0.0.1", "alice@example.com", "");
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.identity, "alice@example.com");
  AuthOutcome untrusted = a.authenticate("127.0.0.2", "alice@example.com", "");
  EXPECT_FALSE(untrusted.ok);
  EXPECT_NE(untrusted.reason.find("127.0.0.2"), std::string::npos);
  EXPECT_FALSE(a.authenticate("127.0.0.1", "", "").ok);
  EXPECT_FALSE(a.authenticate("127.0.0.1", "evil\nline", "").ok);
  EXPECT_FALSE(a.authenticate("127.0.0.1", std::string(300, 'a'), "").ok);
}

TEST(HttpAuth, MoreThanOneIdentityValueIsRefused) {
  AuthConfig c;
  c.mode = AuthMode::trusted_header;
  c.identity_header = "X-Forwarded-Email";
  c.trusted_proxies = {Cidr::parse("127.0.0.1/32", "--trusted-proxy")};
  Authenticator a(c);
  // An appending proxy: the client's value first, the proxy's after it.
  AuthOutcome twice = a.authenticate("127.0.0.1", std::vector<std::string>{"a@x", "root@x"}, {});
  EXPECT_FALSE(twice.ok);
  EXPECT_NE(twice.reason.find("more than one X-Forwarded-Email"), std::string::npos) << twice.reason;
  EXPECT_FALSE(a.authenticate("127.0.0.1", "a@x, root@x", "").ok);
  EXPECT_TRUE(a.authenticate("127.0.0.1", std::vector<std::string>{"a@x"}, {}).ok);
}

TEST(HttpAuth, MoreThanOneAuthorizationIsRefused) {
  std::string path = write_file("alice " + sha256_hex("alice-secret-token") + "\n");
  AuthConfig c;
  c.mode = AuthMode::token;
  c.tokens_file = path;
  Authenticator a(c);
  EXPECT_FALSE(a.authenticate("10.0.0.1", {}, std::vector<std::string>{"Bearer alice-secret-token", "Bearer x"}).ok);
  EXPECT_TRUE(a.authenticate("10.0.0.1", {}, std::vector<std::string>{"Bearer alice-secret-token"}).ok);
  std::remove(path.c_str());
}

TEST(HttpAuth, TrustedHeaderNeedsHeaderAndProxy) {
  AuthConfig c;
  c.mode = AuthMode::trusted_header;
  EXPECT_THROW(Authenticator{c}, UsageError);
  c.identity_header = "X-Forwarded-Email";
  EXPECT_THROW(Authenticator{c}, UsageError);
}

TEST(HttpAuth, TokensFromAFileOfDigests) {
  std::string path = write_file("# console tokens\n\nalice " + sha256_hex("alice-secret-token") + "\nbob\t" +
                                sha256_hex("bob-token") + "\n");
  AuthConfig c;
  c.mode = AuthMode::token;
  c.tokens_file = path;
  Authenticator a(c);
  AuthOutcome alice = a.authenticate("10.0.0.1", "", "Bearer alice-secret-token");
  EXPECT_TRUE(alice.ok);
  EXPECT_EQ(alice.identity, "alice");
  EXPECT_EQ(a.authenticate("10.0.0.1", "", "Bearer bob-token").identity, "bob");
  EXPECT_FALSE(a.authenticate("10.0.0.1", "", "Bearer alice-secret-tokeN").ok);
  EXPECT_FALSE(a.authenticate("10.0.0.1", "", "Bearer ").ok);
  EXPECT_FALSE(a.authenticate("10.0.0.1", "", "Basic YWxpY2U6eA==").ok);
  EXPECT_FALSE(a.authenticate("10.0.0.1", "", "").ok);
  // The digest itself is not a token.
  EXPECT_FALSE(a.authenticate("10.0.0.1", "", "Bearer " + sha256_hex("bob-token")).ok);
  std::remove(path.c_str());
}

TEST(HttpAuth, MalformedTokenFilesNameTheLine) {
  AuthConfig c;
  c.mode = AuthMode::token;
  c.tokens_file = write_file("alice " + sha256_hex("x") + "\nbob nothex\n");
  try {
    Authenticator a(c);
    FAIL() << "accepted a malformed line";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  std::remove(c.tokens_file.c_str());
  c.tokens_file = write_file("# only comments\n");
  EXPECT_THROW(Authenticator{c}, UsageError);
  std::remove(c.tokens_file.c_str());
  c.tokens_file = "/nonexistent/tokens";
  EXPECT_THROW(Authenticator{c}, UsageError);
}

TEST(HttpAuth, ParsesModes) {
  EXPECT_EQ(parse_auth_mode("token", "--auth"), AuthMode::token);
  EXPECT_EQ(parse_auth_mode("trusted-header", "--auth"), AuthMode::trusted_header);
  EXPECT_THROW(parse_auth_mode("basic", "--auth"), UsageError);
}
