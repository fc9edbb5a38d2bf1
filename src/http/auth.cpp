// Identity from a trusted proxy's header or a bearer token; see http/auth.hpp.
#include "http/auth.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>

#include "util/error.hpp"

namespace pgshift::http {
namespace {

constexpr size_t kMaxIdentityBytes = 256;

std::array<uint8_t, 32> sha256(std::string_view text) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_digest(std::string_view hex, std::array<uint8_t, 32>& out) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

// An identity a log line and an audit record can carry: visible, no control characters.
bool acceptable_identity(std::string_view v) {
  if (v.empty() || v.size() > kMaxIdentityBytes) return false;
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

AuthMode parse_auth_mode(std::string_view text, std::string_view what) {
  if (text == "none") return AuthMode::none;
  if (text == "trusted-header") return AuthMode::trusted_header;
  if (text == "token") return AuthMode::token;
  throw UsageError(fmt::format("{}: '{}' is not an auth mode (none, trusted-header, token)", what, text));
}

const char* auth_mode_name(AuthMode mode) {
  switch (mode) {
    case AuthMode::none: return "none";
    case AuthMode::trusted_header: return "trusted-header";
    case AuthMode::token: return "token";
  }
  return "?";
}

std::string sha256_hex(std::string_view text) {
  std::string out;
  for (uint8_t b : sha256(text)) out += fmt::format("{:02x}", b);
  return out;
}

Authenticator::Authenticator(AuthConfig config) : config_(std::move(config)) {
  if (config_.mode == AuthMode::trusted_header) {
    if (config_.identity_header.empty()) {
      throw UsageError("--auth trusted-header needs --identity-header NAME (e.g. X-Forwarded-Email)");
    }
    if (config_.trusted_proxies.empty()) {
      throw UsageError("--auth trusted-header needs --trusted-proxy CIDR: the address of the proxy that sets " +
                       config_.identity_header);
    }
  }
  if (config_.mode != AuthMode::token) return;
  if (config_.tokens_file.empty()) throw UsageError("--auth token needs --tokens FILE (lines: identity sha256hex)");
  std::ifstream in(config_.tokens_file);
  if (!in) throw UsageError(fmt::format("--tokens: cannot read {}", config_.tokens_file));
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#') continue;
    size_t space = l.find_first_of(" \t");
    TokenEntry entry;
    if (space == std::string_view::npos || !parse_digest(trim(l.substr(space)), entry.digest)) {
      throw UsageError(fmt::format("--tokens: {} line {}: expected 'identity sha256hex' (64 hex digits)",
                                   config_.tokens_file, number));
    }
    entry.identity = std::string(l.substr(0, space));
    if (!acceptable_identity(entry.identity)) {
      throw UsageError(fmt::format("--tokens: {} line {}: the identity has control characters or is too long",
                                   config_.tokens_file, number));
    }
    tokens_.push_back(std::move(entry));
  }
  if (tokens_.empty()) throw UsageError(fmt::format("--tokens: {} has no token lines", config_.tokens_file));
}

AuthOutcome Authenticator::authenticate(std::string_view peer, std::string_view identity_value,
                                        std::string_view authorization) const {
  std::vector<std::string> identity, auth;
  if (!identity_value.empty()) identity.emplace_back(identity_value);
  if (!authorization.empty()) auth.emplace_back(authorization);
  return authenticate(peer, identity, auth);
}

AuthOutcome Authenticator::authenticate(std::string_view peer, const std::vector<std::string>& identity_values,
                                        const std::vector<std::string>& authorizations) const {
  AuthOutcome out;
  const std::string_view identity_value = identity_values.empty() ? std::string_view() : identity_values.front();
  const std::string_view authorization = authorizations.empty() ? std::string_view() : authorizations.front();
  switch (config_.mode) {
    case AuthMode::none:
      out.ok = true;
      out.identity = "local";
      return out;
    case AuthMode::trusted_header: {
      bool trusted = false;
      for (const Cidr& c : config_.trusted_proxies) trusted = trusted || c.contains(peer);
      if (!trusted) {
        out.reason = fmt::format("requests must come through the trusted proxy ({} is not in --trusted-proxy)", peer);
        return out;
      }
      if (identity_values.size() > 1 || identity_value.find(',') != std::string_view::npos) {
        out.reason = fmt::format("more than one {} value from the proxy (it appends instead of replacing?)",
                                 config_.identity_header);
        return out;
      }
      if (!acceptable_identity(identity_value)) {
        out.reason = fmt::format("no usable {} header from the proxy", config_.identity_header);
        return out;
      }
      out.ok = true;
      out.identity = std::string(identity_value);
      return out;
    }
    case AuthMode::token: {
      constexpr std::string_view kBearer = "Bearer ";
      if (authorizations.size() > 1) {
        out.reason = "more than one Authorization header";
        return out;
      }
      if (authorization.size() <= kBearer.size() || authorization.substr(0, kBearer.size()) != kBearer) {
        out.reason = "no Authorization: Bearer token";
        return out;
      }
      std::array<uint8_t, 32> presented = sha256(trim(authorization.substr(kBearer.size())));
      const TokenEntry* match = nullptr;
      for (const TokenEntry& t : tokens_) {
        if (CRYPTO_memcmp(presented.data(), t.digest.data(), presented.size()) == 0 && !match) match = &t;
      }
      if (!match) {
        out.reason = "the bearer token is not valid";
        return out;
      }
      out.ok = true;
      out.identity = match->identity;
      return out;
    }
  }
  return out;
}

}  // namespace pgshift::http
