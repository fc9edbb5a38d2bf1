#include "backup/time_text.hpp"

#include <ctime>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

namespace pgshift::backup {
namespace {

std::optional<int64_t> utc(std::tm tm) {
  time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return static_cast<int64_t>(t);
}

// "+02:00", "-0530", "Z", "UTC", "" → offset seconds east of UTC; nullopt when not a zone.
std::optional<int64_t> zone_offset(std::string_view z) {
  while (!z.empty() && z.front() == ' ') z.remove_prefix(1);
  if (z.empty() || z == "Z" || z == "UTC" || z == "GMT" || z == "+00" || z == "+00:00") return 0;
  if (z.front() != '+' && z.front() != '-') return std::nullopt;
  int sign = z.front() == '-' ? -1 : 1;
  std::string digits;
  for (char c : z.substr(1)) {
    if (c >= '0' && c <= '9') digits += c;
    else if (c != ':') return std::nullopt;
  }
  if (digits.size() != 2 && digits.size() != 4) return std::nullopt;
  int h = std::stoi(digits.substr(0, 2));
  int m = digits.size() == 4 ? std::stoi(digits.substr(2, 2)) : 0;
  return sign * (h * 3600 + m * 60);
}

}  // namespace

std::optional<int64_t> parse_time(std::string_view text) {
  std::string s(text);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  std::tm tm{};
  // ISO 8601 / PostgreSQL: date, 'T' or ' ', time, optional fraction, optional zone.
  if (const char* end = strptime(s.c_str(), "%Y-%m-%d", &tm); end && (*end == 'T' || *end == ' ')) {
    const char* rest = strptime(end + 1, "%H:%M:%S", &tm);
    if (!rest) return std::nullopt;
    if (*rest == '.') {
      ++rest;
      while (*rest >= '0' && *rest <= '9') ++rest;
    }
    auto offset = zone_offset(rest);
    auto t = utc(tm);
    if (!offset || !t) return std::nullopt;
    return *t - *offset;
  }
  tm = {};
  // ctime: "Tue Dec  1 19:44:08 2026" (no zone: barman 3.4 prints the server's local time,
  // which on the hosts it runs on is UTC; we read it as UTC).
  if (const char* end = strptime(s.c_str(), "%a %b %d %H:%M:%S %Y", &tm); end && *end == '\0') return utc(tm);
  return std::nullopt;
}

std::string iso_time(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace pgshift::backup
