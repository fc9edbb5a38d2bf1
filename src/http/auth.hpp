// Who is making a request. Three modes (--auth):
//   none            identity "local"; the server refuses to start with it off loopback.
//   trusted-header  identity = the value of --identity-header (X-Forwarded-Email from
//                   oauth2-proxy, Tailscale-User-Login from Tailscale serve), accepted only when
//                   the TCP peer is inside one of the --trusted-proxy ranges. From any other peer,
//                   or without the header, the request is refused (401) and the header ignored.
//                   More than one value (the header twice, or one header holding a comma list)
//                   is refused too: a proxy that appends (Envoy's default, Caddy's
//                   `header_up +`) would otherwise let the client choose its identity.
//   token           "Authorization: Bearer T"; the file (--tokens) has lines "identity sha256hex"
//                   (hex of SHA-256 of the token; '#' comments, blank lines). The presented
//                   token's digest is compared with every line in constant time (CRYPTO_memcmp,
//                   no early exit), so timing tells nothing about which bytes matched.
// Tokens themselves are never stored or logged; only their digests are read.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/address.hpp"

namespace pgshift::http {

enum class AuthMode { none, trusted_header, token };
AuthMode parse_auth_mode(std::string_view text, std::string_view what);  // throws UsageError
const char* auth_mode_name(AuthMode mode);                              // "none", "trusted-header", "token"

struct AuthConfig {
  AuthMode mode = AuthMode::none;
  std::string identity_header;        // trusted-header: e.g. "X-Forwarded-Email"
  std::vector<Cidr> trusted_proxies;  // trusted-header: at least one
  std::string tokens_file;            // token: path
};

struct AuthOutcome {
  bool ok = false;
  std::string identity;  // when ok
  std::string reason;    // when not: one line for the 401 body ("no Authorization: Bearer token")
};

// Lowercase hex SHA-256 of text (what a --tokens file line holds).
std::string sha256_hex(std::string_view text);

class Authenticator {
 public:
  // Validates the configuration and reads the tokens file. Throws UsageError (a missing
  // --identity-header or --trusted-proxy, an unreadable or malformed tokens file, with its line).
  explicit Authenticator(AuthConfig config);

  // peer: the TCP peer address; identity_values: every value of the identity header in the
  // request (empty when absent); authorizations: every Authorization header. More than one
  // value of the header the mode reads is refused.
  AuthOutcome authenticate(std::string_view peer, const std::vector<std::string>& identity_values,
                           const std::vector<std::string>& authorizations) const;
  // One value each ("" when absent).
  AuthOutcome authenticate(std::string_view peer, std::string_view identity_value,
                           std::string_view authorization) const;

  const AuthConfig& config() const { return config_; }

 private:
  struct TokenEntry {
    std::string identity;
    std::array<uint8_t, 32> digest{};
  };
  AuthConfig config_;
  std::vector<TokenEntry> tokens_;
};

}  // namespace pgshift::http
