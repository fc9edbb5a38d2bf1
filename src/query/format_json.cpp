// The json format; see query/format.hpp.
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
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

// Arrays of scalar types by their OID, with their elements' class. Arrays of other types
// (composites, ranges, geometric types with their own delimiter) stay strings.
std::optional<TypeClass> array_element(Oid oid) {
  switch (oid) {
    case 1005: case 1007: case 1016: case 1028: return TypeClass::integer;  // int2[] int4[] int8[] oid[]
    case 1021: case 1022: return TypeClass::floating;                      // float4[] float8[]
    case 1231: case 791: return TypeClass::numeric;                        // numeric[] money[]
    case 1000: return TypeClass::boolean;                                  // bool[]
    case 199: case 3807: return TypeClass::json;                           // json[] jsonb[]
    case 1009: case 1015: case 1014: case 1003: case 2951:                 // text[] varchar[] bpchar[] name[] uuid[]
    case 1182: case 1115: case 1185: case 1183: case 1187:                 // date[] timestamp[] timestamptz[] time[] interval[]
    case 1001:                                                             // bytea[]
      return TypeClass::text;
    default: return std::nullopt;
  }
}

// Parses PostgreSQL's array output ({a,"b c",NULL,{nested}}) into a JSON array, elements typed
// as `element`. nullopt on anything else (e.g. explicit bounds "[0:1]={1,2}"): shown as text.
class ArrayParser {
 public:
  ArrayParser(std::string_view text, TypeClass element) : s_(text), element_(element) {}
  std::optional<json> parse() {
    std::optional<json> out = array();
    if (!out || i_ != s_.size()) return std::nullopt;
    return out;
  }

 private:
  std::optional<json> array() {
    if (i_ >= s_.size() || s_[i_] != '{') return std::nullopt;
    ++i_;
    json out = json::array();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return out;
    }
    while (i_ < s_.size()) {
      if (s_[i_] == '{') {
        std::optional<json> inner = array();
        if (!inner) return std::nullopt;
        out.push_back(std::move(*inner));
      } else if (s_[i_] == '"') {
        std::string v;
        for (++i_; i_ < s_.size() && s_[i_] != '"'; ++i_) {
          if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
          v += s_[i_];
        }
        if (i_ >= s_.size()) return std::nullopt;
        ++i_;
        out.push_back(typed(v, element_));
      } else {
        size_t end = s_.find_first_of(",}", i_);
        if (end == std::string_view::npos) return std::nullopt;
        std::string v(s_.substr(i_, end - i_));
        i_ = end;
        out.push_back(v == "NULL" ? json() : typed(v, element_));
      }
      if (i_ >= s_.size()) return std::nullopt;
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == '}') {
        ++i_;
        return out;
      }
      return std::nullopt;
    }
    return std::nullopt;
  }

  std::string_view s_;
  TypeClass element_;
  size_t i_ = 0;
};

json typed_column(const std::string& text, Oid oid, TypeClass type) {
  if (std::optional<TypeClass> element = array_element(oid)) {
    if (std::optional<json> parsed = ArrayParser(text, *element).parse()) return *parsed;
  }
  return typed(text, type);
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

json row_object(const Result& result, const std::vector<std::string>& names, const std::vector<TypeClass>& types,
                const Row& row) {
  json object = json::object();
  for (size_t c = 0; c < row.size() && c < names.size(); ++c) {
    object[names[c]] = row[c] ? typed_column(*row[c], result.columns[c].type_oid, types[c]) : json();
  }
  return object;
}

}  // namespace

json rows_json(const Result& result) {
  std::vector<std::string> names = unique_names(result);
  std::vector<TypeClass> types = column_classes(result);
  json rows = json::array();
  for (const Row& row : result.rows) rows.push_back(row_object(result, names, types, row));
  return rows;
}

std::string render_json(const Result& result) { return render_json_part(result, 0, result.rows.size(), true, true); }

// The pieces join to what rows_json(result).dump(2) prints: "[", the objects indented by two
// more spaces and separated by ",", "]" (an empty result is "[]").
std::string render_json_part(const Result& result, size_t first, size_t last, bool opening, bool closing) {
  if (result.rows.empty()) return opening ? "[]\n" : "";
  std::vector<std::string> names = unique_names(result);
  std::vector<TypeClass> types = column_classes(result);
  std::string out = opening ? "[\n" : "";
  for (size_t r = first; r < last && r < result.rows.size(); ++r) {
    std::string object = row_object(result, names, types, result.rows[r]).dump(2, ' ', false, json::error_handler_t::replace);
    out += "  ";
    for (char ch : object) {
      out += ch;
      if (ch == '\n') out += "  ";  // JSON strings hold no raw newline: every one is layout
    }
    if (r + 1 < result.rows.size()) out += ',';
    out += '\n';
  }
  if (closing) out += "]\n";
  return out;
}

}  // namespace pgshift::query
