// Host and Origin checks; see http/origin.hpp.
#include "http/origin.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "util/error.hpp"

namespace pgshift::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string authority(std::string_view host, int port) {
  std::string h = host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]" : std::string(host);
  return lower(h) + ":" + std::to_string(port);
}

// "host:port" and, for the scheme's default port, "host" too.
void add_authority(std::set<std::string>& hosts, std::string_view host, int port, int default_port) {
  hosts.insert(authority(host, port));
  if (port == default_port) hosts.insert(lower(host.find(':') != std::string_view::npos
                                                   ? "[" + std::string(host) + "]"
                                                   : std::string(host)));
}

}  // namespace

OriginCheck::OriginCheck(const ListenAddress& listen, const std::vector<std::string>& allowed_origins)
    : listen_port_(listen.port), listen_any_(listen.host == "0.0.0.0" || listen.host == "::") {
  add_authority(hosts_, listen.host, listen.port, 80);
  if (is_loopback(listen.host)) {
    for (std::string_view h : {"localhost", "127.0.0.1", "::1"}) add_authority(hosts_, h, listen.port, 80);
  }
  for (const std::string& o : allowed_origins) {
    std::string origin = lower(o);
    while (origin.ends_with('/')) origin.pop_back();
    int default_port = origin.starts_with("https://") ? 443 : origin.starts_with("http://") ? 80 : 0;
    std::string rest = origin.substr(origin.find("://") == std::string::npos ? 0 : origin.find("://") + 3);
    if (default_port == 0 || rest.empty() || rest.find_first_of("/?#@ ") != std::string::npos) {
      throw UsageError(fmt::format("--allowed-origin: '{}' is not scheme://host[:port] (http or https, no path)", o));
    }
    origins_.insert(origin);
    if (!hosts_.count(rest)) proxied_hosts_.insert(rest);
    hosts_.insert(rest);
    size_t colon = rest.rfind(':');
    bool has_port = colon != std::string::npos && rest.find(']', colon) == std::string::npos;
    auto add_proxied = [&](const std::string& h) {
      if (!hosts_.count(h)) proxied_hosts_.insert(h);
      hosts_.insert(h);
    };
    if (has_port && rest.substr(colon + 1) == std::to_string(default_port)) add_proxied(rest.substr(0, colon));
    if (!has_port) add_proxied(rest + ":" + std::to_string(default_port));
  }
}

bool OriginCheck::host_allowed(std::string_view host, std::string_view local_address, int local_port) const {
  if (host.empty()) return false;
  std::string h = lower(host);
  if (hosts_.count(h)) return true;
  // The address the client connected to is never a rebinding name: "Host: 10.1.2.3:8977" from a
  // kubelet probe or a client that dialled the pod's address.
  if (!local_address.empty() && (local_port == listen_port_ || listen_any_)) {
    std::set<std::string> arrival;
    add_authority(arrival, local_address, local_port, 80);
    if (local_address.starts_with("::ffff:")) add_authority(arrival, local_address.substr(7), local_port, 80);
    if (arrival.count(h)) return true;
  }
  return false;
}

bool OriginCheck::same_origin(std::string_view host, std::string_view origin, std::string_view sec_fetch_site) const {
  if (origin.empty()) return lower(sec_fetch_site) == "same-origin";
  std::string o = lower(origin);
  if (origins_.count(o)) return true;
  // pgshift itself speaks plain HTTP: its own origin is http://<Host>. An https origin (a TLS
  // proxy in front), and any origin for a host that only an --allowed-origin names, must be
  // listed there, scheme included.
  std::string h = lower(host);
  return !h.empty() && !proxied_hosts_.count(h) && o == "http://" + h;
}

bool OriginCheck::origin_if_present(std::string_view host, std::string_view origin,
                                    std::string_view sec_fetch_site) const {
  if (origin.empty()) return lower(sec_fetch_site) != "cross-site" && lower(sec_fetch_site) != "same-site";
  return same_origin(host, origin, sec_fetch_site);
}

}  // namespace pgshift::http
