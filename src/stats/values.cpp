#include "stats/values.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace pgshift::stats {
namespace {

// Type OIDs (pg_type.h) this file distinguishes.
constexpr Oid kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26, kXid = 28, kJson = 114,
              kFloat4 = 700, kFloat8 = 701, kTimestamp = 1114, kTimestampTz = 1184, kNumeric = 1700,
              kLsn = 3220, kJsonb = 3802, kXid8 = 5069;

bool is_integer_type(Oid oid) {
  return oid == kInt8 || oid == kInt2 || oid == kInt4 || oid == kOid || oid == kXid || oid == kXid8;
}

}  // namespace

nlohmann::json integer_json(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v > kMaxExactInteger || v < -kMaxExactInteger) {
    return std::string(text);
  }
  return v;
}

nlohmann::json numeric_json(std::string_view text) {
  if (text.find_first_of(".eE") == std::string_view::npos) {
    if (text == "NaN" || text.find("Infinity") != std::string_view::npos) return std::string(text);
    return integer_json(text);
  }
  std::string s(text);
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(d)) return s;
  return d;
}

std::string iso_timestamp(std::string_view text) {
  // ISO DateStyle: "YYYY-MM-DD HH:MM:SS[.ffffff][+00]"; BC dates and infinity are left alone.
  if (text.size() < 19 || text[10] != ' ' || text.ends_with(" BC")) return std::string(text);
  std::string out(text.substr(0, 10));
  out += 'T';
  out += text.substr(11, 8);
  std::string_view rest = text.substr(19);
  std::string fraction = "000";
  if (rest.starts_with(".")) {
    size_t n = 1;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    std::string digits(rest.substr(1, n - 1));
    digits.resize(3, '0');
    fraction = digits;
    rest = rest.substr(n);
  }
  out += '.';
  out += fraction;
  if (rest.empty() || rest == "+00") {
    out += 'Z';
  } else {
    out += rest;  // another zone offset (the session is UTC, so only for timestamp without zone)
    if (rest.size() == 3) out += ":00";
  }
  return out;
}

nlohmann::json cell_json(std::optional<std::string_view> text, Oid oid) {
  if (!text) return nullptr;
  if (is_integer_type(oid)) return integer_json(*text);
  switch (oid) {
    case kBool: return *text == "t";
    case kNumeric: return numeric_json(*text);
    case kFloat4:
    case kFloat8: return numeric_json(*text);
    case kJson:
    case kJsonb: {
      nlohmann::json v = nlohmann::json::parse(*text, nullptr, false);
      return v.is_discarded() ? nlohmann::json(std::string(*text)) : v;
    }
    case kTimestamp:
    case kTimestampTz: return iso_timestamp(*text);
    default: return std::string(*text);
  }
}

std::string column_type(std::string_view name, Oid oid) {
  if (name.ends_with("_bytes")) return "bytes";
  if (name.ends_with("_seconds")) return "seconds";
  if (name.ends_with("_ratio")) return "ratio";
  if (oid == kTimestamp || oid == kTimestampTz || name.ends_with("_at")) return "timestamp";
  if (oid == kLsn || name.ends_with("_lsn")) return "lsn";
  if (oid == kBool) return "bool";
  if (oid == kJson || oid == kJsonb) return "json";
  // Process ids, object ids and keys are names that happen to be numbers: never 12,345.
  if (is_integer_type(oid) && (name == "pid" || name == "id" || name == "oid" || name == "blocked_by" ||
                               name == "blocked" || name == "blocker" || name.ends_with("_pid") ||
                               name.ends_with("_id") || name.ends_with("_oid"))) {
    return "id";
  }
  if (is_integer_type(oid) || oid == kNumeric || oid == kFloat4 || oid == kFloat8) return "count";
  return "text";
}

}  // namespace pgshift::stats
