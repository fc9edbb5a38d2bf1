#include "util/duration.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cmath>

#include "util/error.hpp"

namespace pgshift::util {
namespace {

[[noreturn]] void bad(std::string_view what, std::string_view text, std::string_view expected) {
  throw UsageError(fmt::format("{}: '{}' is not a valid {}", what, text, expected));
}

}  // namespace

Millis parse_duration(std::string_view text, std::string_view what) {
  constexpr std::string_view expected = "duration (e.g. 500ms, 30s, 5m, 1h30m)";
  if (text.empty()) bad(what, text, expected);
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (start == i) bad(what, text, expected);
    double number = 0;
    try {
      number = std::stod(std::string(text.substr(start, i - start)));
    } catch (const std::exception&) {
      bad(what, text, expected);
    }
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      if (i != text.size() || start != 0) bad(what, text, expected);  // bare number: seconds
      unit = "s";
    }
    if (unit == "ms") total_ms += number;
    else if (unit == "s") total_ms += number * 1000;
    else if (unit == "m" || unit == "min") total_ms += number * 60'000;
    else if (unit == "h") total_ms += number * 3'600'000;
    else if (unit == "d") total_ms += number * 86'400'000;
    else bad(what, text, expected);
  }
  return Millis(static_cast<long long>(std::llround(total_ms)));
}

std::string format_duration(Millis d) {
  long long ms = d.count();
  if (ms < 0) return "-" + format_duration(Millis(-ms));
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60'000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
  long long s = ms / 1000;
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

long long parse_bytes(std::string_view text, std::string_view what) {
  constexpr std::string_view expected = "size (e.g. 1048576, 64kB, 16MB, 1GB)";
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) bad(what, text, expected);
  long long number = 0;
  try {
    number = std::stoll(std::string(text.substr(0, i)));
  } catch (const std::exception&) {
    bad(what, text, expected);
  }
  std::string unit;
  for (char c : text.substr(i)) {
    if (c != ' ') unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (unit.empty() || unit == "b") return number;
  if (unit == "kb" || unit == "k") return number << 10;
  if (unit == "mb" || unit == "m") return number << 20;
  if (unit == "gb" || unit == "g") return number << 30;
  if (unit == "tb" || unit == "t") return number << 40;
  bad(what, text, expected);
}

std::string format_bytes(long long bytes) {
  if (bytes < 0) return "-" + format_bytes(-bytes);
  if (bytes < 1024) return fmt::format("{} B", bytes);
  constexpr const char* units[] = {"kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  return v >= 100 ? fmt::format("{:.0f} {}", v, units[u]) : fmt::format("{:.1f} {}", v, units[u]);
}

}  // namespace pgshift::util
