// A text[] literal for a bound parameter ($1::text[]): {"a","b"} with quotes and backslashes
// escaped, so any role or function name travels as a value.
#pragma once

#include <string>
#include <vector>

namespace pgshift::access {

inline std::string text_array_literal(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    out += i ? ",\"" : "\"";
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace pgshift::access
