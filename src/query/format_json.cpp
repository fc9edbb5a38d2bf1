// The json format; see query/format.hpp.
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "query/format.hpp"
#include "query/value.hpp"
#include "util/utf8.hpp"

namespace pgshift::query {
namespace {

using json = nlohmann::ordered_json;

constexpr long long kMaxSafeInteger = (1LL << 53) - 1;

json integer_value(const std::string& text) {
  long long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc() && end == text.data() + text.size() && v >= -kMaxSafeInteger && v <= kMaxSafeInteger) {
    return v;
  }
  return text;  // beyond what a double holds exactly: keep it exact as a string
}

json float_value(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() + text.size() && std::isfinite(v)) return v;
  return text;  // NaN, Infinity, -Infinity
}

json typed(const std::string& text, TypeClass type) {
  switch (type) {
    case TypeClass::integer: return integer_value(text);
    case TypeClass::floating: return float_value(text);
    case TypeClass::boolean: return text == "t";
    case TypeClass::json: {
      json parsed = json::parse(text, nullptr, false);
      if (!parsed.is_discarded()) return parsed;
      return util::sanitize_utf8(text);
    }
    default: return util::sanitize_utf8(text);
  }
}

// Column names made unique: a, a_2, a_3 (skipping names that already exist).
std::vector<std::string> unique_names(const Result& result) {
  std::vector<std::string> out;
  std::set<std::string> taken;
  for (const Column& c : result.columns) taken.insert(util::sanitize_utf8(c.name));
  std::set<std::string> used;
  for (const Column& c : result.columns) {
    std::string name = util::sanitize_utf8(c.name);
    if (used.count(name)) {
      for (int k = 2;; ++k) {
        std::string candidate = name + "_" + std::to_string(k);
        if (!used.count(candidate) && !taken.count(candidate)) {
          name = candidate;
          break;
        }
      }
    }
    used.insert(name);
    out.push_back(name);
  }
  return out;
}

}  // namespace

json rows_json(const Result& result) {
  std::vector<std::string> names = unique_names(result);
  std::vector<TypeClass> types;
  for (const Column& c : result.columns) types.push_back(type_class(c.type_oid));
  json rows = json::array();
  for (const Row& row : result.rows) {
    json object = json::object();
    for (size_t c = 0; c < row.size() && c < names.size(); ++c) {
      object[names[c]] = row[c] ? typed(*row[c], types[c]) : json();
    }
    rows.push_back(std::move(object));
  }
  return rows;
}

std::string render_json(const Result& result) {
  return rows_json(result).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace pgshift::query
