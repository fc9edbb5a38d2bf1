// Listen addresses, loopback, CIDR matching; see http/address.hpp.
#include "http/address.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "util/error.hpp"

namespace pgshift::http {

ListenAddress ListenAddress::parse(std::string_view text, std::string_view what) {
  ListenAddress out;
  std::string_view host, port;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw UsageError(fmt::format("{}: '{}' is not [IPv6]:PORT", what, text));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) throw UsageError(fmt::format("{}: '{}' is not HOST:PORT", what, text));
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      throw UsageError(fmt::format("{}: write an IPv6 address in brackets, as [::1]:8977 (got '{}')", what, text));
    }
  }
  int p = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (host.empty() || ec != std::errc() || end != port.data() + port.size() || p < 0 || p > 65535) {
    throw UsageError(fmt::format("{}: '{}' is not HOST:PORT with a port 0-65535", what, text));
  }
  out.host = std::string(host);
  out.port = p;
  return out;
}

std::string ListenAddress::host_for_url() const {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::optional<std::array<uint8_t, 16>> parse_ip(std::string_view text) {
  std::string s(text);
  std::array<uint8_t, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

bool is_loopback(std::string_view host) {
  if (host == "localhost") return true;
  auto ip = parse_ip(host);
  if (!ip) return false;
  static const std::array<uint8_t, 16> kV6Loopback{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (*ip == kV6Loopback) return true;
  bool mapped = std::all_of(ip->begin(), ip->begin() + 10, [](uint8_t b) { return b == 0; }) && (*ip)[10] == 0xff &&
                (*ip)[11] == 0xff;
  return mapped && (*ip)[12] == 127;
}

Cidr Cidr::parse(std::string_view text, std::string_view what) {
  Cidr out;
  out.text_ = std::string(text);
  std::string_view addr = text;
  int bits = -1;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view b = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(b.data(), b.data() + b.size(), bits);
    if (ec != std::errc() || end != b.data() + b.size()) bits = -2;
  }
  auto ip = parse_ip(addr);
  if (!ip) throw UsageError(fmt::format("{}: '{}' is not an IP address or CIDR range", what, text));
  bool v4 = addr.find(':') == std::string_view::npos;
  int max_bits = v4 ? 32 : 128;
  if (bits == -1) bits = max_bits;
  if (bits < 0 || bits > max_bits) {
    throw UsageError(fmt::format("{}: '{}' has a prefix length outside 0-{}", what, text, max_bits));
  }
  out.prefix_bits_ = v4 ? bits + 96 : bits;
  out.network_ = *ip;
  return out;
}

bool Cidr::contains(std::string_view address) const {
  auto ip = parse_ip(address);
  if (!ip) return false;
  int bits = prefix_bits_;
  for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if (((*ip)[i] & mask) != (network_[i] & mask)) return false;
  }
  return true;
}

}  // namespace pgshift::http
