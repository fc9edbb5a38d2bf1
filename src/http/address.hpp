// Network addresses the HTTP service reasons about: the listen address (host:port, IPv6 in
// brackets), whether a host is loopback, and CIDR ranges for --trusted-proxy.
//
// Contract: parsing throws UsageError naming `what` (the flag) on malformed input; matching
// never throws. Addresses are compared numerically (inet_pton), so "127.000.0.1" or an
// IPv4-mapped IPv6 peer ("::ffff:127.0.0.1") match the CIDR "127.0.0.1/32".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgshift::http {

struct ListenAddress {
  std::string host = "127.0.0.1";  // without brackets
  int port = 8977;                 // 0: any free port (the bound port is reported by Server)

  // "127.0.0.1:8977", "[::1]:8977", "localhost:0". Throws UsageError.
  static ListenAddress parse(std::string_view text, std::string_view what);
  std::string host_for_url() const;  // "[::1]" for IPv6, else host
};

// 127.0.0.0/8, ::1, "localhost".
bool is_loopback(std::string_view host);

// An IPv4 or IPv6 address as 16 bytes (IPv4 as IPv4-mapped IPv6); nullopt if not an address.
std::optional<std::array<uint8_t, 16>> parse_ip(std::string_view text);

class Cidr {
 public:
  // "10.0.0.0/8", "127.0.0.1" (a /32), "fd00::/8". Throws UsageError naming what.
  static Cidr parse(std::string_view text, std::string_view what);
  bool contains(std::string_view address) const;
  const std::string& text() const { return text_; }

 private:
  std::array<uint8_t, 16> network_{};
  int prefix_bits_ = 128;  // in the 128-bit (mapped) space
  std::string text_;
};

}  // namespace pgshift::http
