#include "verify/types.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string_view>

namespace pgshift::verify {

namespace {

bool is_integer(const std::string& s) {
  size_t i = s.size() > 1 && s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

// -1 / 0 / 1 for two integers in decimal text, any length.
int compare_integers(const std::string& a, const std::string& b) {
  bool na = a[0] == '-', nb = b[0] == '-';
  if (na != nb) return na ? -1 : 1;
  std::string_view da = std::string_view(a).substr(na), db = std::string_view(b).substr(nb);
  int mag = da.size() != db.size() ? (da.size() < db.size() ? -1 : 1) : da.compare(db) < 0 ? -1 : da == db ? 0 : 1;
  return na ? -mag : mag;
}

}  // namespace

bool KeyLess::operator()(const Key& a, const Key& b) const {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] == b[i]) continue;
    if (is_integer(a[i]) && is_integer(b[i])) return compare_integers(a[i], b[i]) < 0;
    return a[i] < b[i];
  }
  return a.size() < b.size();
}

std::string to_string(Mode mode) { return mode == Mode::counts ? "counts" : "full"; }

std::vector<Range> split_range(const Range& parent, const std::vector<Key>& bounds) {
  std::vector<Range> out;
  out.reserve(bounds.size() + 1);
  std::optional<Key> lo = parent.lo;
  for (const Key& b : bounds) {
    out.push_back({lo, b});
    lo = b;
  }
  out.push_back({lo, parent.hi});
  return out;
}

namespace {

std::string tuple(const std::vector<std::string>& parts) {
  return parts.size() == 1 ? parts[0] : "(" + fmt::format("{}", fmt::join(parts, ", ")) + ")";
}

std::string quoted_values(const Key& key) {
  std::vector<std::string> parts;
  for (const auto& v : key) parts.push_back("'" + v + "'");
  return tuple(parts);
}

}  // namespace

std::string describe(const Range& range, const std::vector<std::string>& key_columns) {
  if (range.whole()) return "whole table";
  std::string cols = tuple(key_columns);
  std::string out;
  if (range.lo) out += cols + " >= " + quoted_values(*range.lo);
  if (range.hi) out += (out.empty() ? "" : " AND ") + cols + " < " + quoted_values(*range.hi);
  return out;
}

}  // namespace pgshift::verify
