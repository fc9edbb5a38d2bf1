// Tolerant JSON readers and typed value formatting for the console's pages (page_parts.hpp).
#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "console/html.hpp"
#include "console/page_parts.hpp"
#include "util/duration.hpp"

namespace pgshift::console::parts {
namespace {

const nlohmann::json* member(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string null_html() { return "<span class=\"nil\" title=\"NULL\">—</span>"; }

std::string percent(double ratio) {
  double p = ratio * 100.0;
  // 99.95% must not round up to a reassuring 100.0%.
  if (p < 100.0 && p > 99.9) return fmt::format("{:.2f}%", std::floor(p * 100.0) / 100.0);
  return fmt::format("{:.1f}%", p);
}

}  // namespace

std::string text_of(const nlohmann::json& object, std::string_view key, std::string_view fallback) {
  const nlohmann::json* v = member(object, key);
  if (v == nullptr || v->is_null()) return std::string(fallback);
  return v->is_string() ? v->get<std::string>() : plain(*v);
}

long long int_of(const nlohmann::json& object, std::string_view key, long long fallback) {
  const nlohmann::json* v = member(object, key);
  double d = 0;
  if (v == nullptr || !number_of(*v, d) || !std::isfinite(d)) return fallback;
  return static_cast<long long>(d);
}

bool bool_of(const nlohmann::json& object, std::string_view key, bool fallback) {
  const nlohmann::json* v = member(object, key);
  return v != nullptr && v->is_boolean() ? v->get<bool>() : fallback;
}

const nlohmann::json& array_of(const nlohmann::json& object, std::string_view key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  const nlohmann::json* v = member(object, key);
  return v != nullptr && v->is_array() ? *v : kEmpty;
}

std::string plain(const nlohmann::json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool number_of(const nlohmann::json& value, double& out) {
  if (value.is_number()) {
    out = value.get<double>();
    return true;
  }
  if (!value.is_string()) return false;
  const std::string& s = value.get_ref<const std::string&>();
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::string group_digits(std::string_view number) {
  bool negative = number.starts_with('-');
  std::string_view digits = negative ? number.substr(1) : number;
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) return std::string(number);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return negative ? "-" + out : out;
}

std::string group_thousands(long long n) { return group_digits(std::to_string(n)); }

std::string human_seconds(double seconds) {
  if (!std::isfinite(seconds)) return "∞";
  if (seconds < 0) return "-" + human_seconds(-seconds);
  if (seconds < 86400) return util::format_duration(util::Millis(static_cast<long long>(std::llround(seconds * 1000))));
  auto s = static_cast<long long>(seconds);
  return fmt::format("{}d {:02}h", s / 86400, (s % 86400) / 3600);
}

bool is_numeric_type(std::string_view type) {
  return type == "bytes" || type == "count" || type == "seconds" || type == "ratio";
}

std::string typed_value(const nlohmann::json& value, std::string_view type) {
  if (value.is_null()) return null_html();
  double d = 0;
  bool numeric = number_of(value, d) && std::isfinite(d);
  if (type == "bytes" && numeric) {
    auto n = static_cast<long long>(d);
    return fmt::format("<span title=\"{} bytes\">{}</span>", group_thousands(n), html_escape(util::format_bytes(n)));
  }
  if (type == "seconds" && numeric) {
    return fmt::format("<span title=\"{} s\">{}</span>", html_escape(plain(value)), html_escape(human_seconds(d)));
  }
  if (type == "ratio" && numeric) return html_escape(percent(d));
  if (type == "count" && numeric) {
    // Beyond 2^53 stats sends integers as strings: grouped as they are, not through a double.
    if (value.is_string()) {
      std::string grouped = group_digits(value.get<std::string>());
      if (grouped != value.get<std::string>() || grouped.size() <= 3) return grouped;
    }
    if (d == std::floor(d) && std::fabs(d) < 9.2e18) return group_thousands(static_cast<long long>(d));
    return html_escape(fmt::format("{:.2f}", d));
  }
  if (type == "bool" && value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (type == "json" && !value.is_string()) return "<code>" + html_escape(plain(value)) + "</code>";
  return html_escape(plain(value));
}

}  // namespace pgshift::console::parts
