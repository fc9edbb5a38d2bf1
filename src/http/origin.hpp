// Where a request may come from. Two checks, both answered before anything runs:
//
//   Host (DNS rebinding): a page on evil.example whose name re-resolves to 127.0.0.1 reaches the
//   console with "Host: evil.example". Host must be the listen address (with localhost,
//   127.0.0.1 and [::1] when that is loopback), the address the connection arrived on, or the
//   host of an --allowed-origin. Otherwise 421 Misdirected Request.
//
//   Origin (cross-site requests): a request is same-origin when its Origin is one of
//   --allowed-origin (scheme, host and port), or http://<its validated Host> when that Host is
//   the server's own address (the server speaks plain HTTP: https://<Host> is another origin,
//   and a Host known only from an --allowed-origin takes that origin's scheme); without an Origin header, when
//   Sec-Fetch-Site is "same-origin". The console requires that (plus X-Pgshift-Request: 1) on
//   every POST; the MCP server requires it whenever an Origin is sent at all.
//
// Comparisons ignore case; an --allowed-origin is scheme://host[:port] with no path (UsageError
// otherwise, naming it).
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "http/address.hpp"

namespace pgshift::http {

class OriginCheck {
 public:
  OriginCheck(const ListenAddress& listen, const std::vector<std::string>& allowed_origins);

  // local_address/local_port: where the connection arrived (Request::local_addr/local_port).
  bool host_allowed(std::string_view host, std::string_view local_address, int local_port) const;

  // host must already have passed host_allowed(). origin and sec_fetch_site are "" when absent.
  bool same_origin(std::string_view host, std::string_view origin, std::string_view sec_fetch_site) const;

  // An Origin header, when present, must be same-origin; absent is fine (a non-browser client).
  bool origin_if_present(std::string_view host, std::string_view origin, std::string_view sec_fetch_site) const;

 private:
  std::set<std::string> hosts_;    // lowercase authorities: "127.0.0.1:8977", "db.example.com"
  std::set<std::string> origins_;  // lowercase: "https://db.example.com"
  std::set<std::string> proxied_hosts_;  // hosts_ known only from an --allowed-origin
  int listen_port_ = 0;
  bool listen_any_ = false;        // 0.0.0.0 / :: : the arrival address stands for the listen host
};

}  // namespace pgshift::http
