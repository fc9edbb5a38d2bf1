#include "query/value.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "util/utf8.hpp"

namespace pgshift::query {

TypeClass type_class(Oid oid) {
  switch (oid) {
    case 20:   // int8
    case 21:   // int2
    case 23:   // int4
    case 26:   // oid
      return TypeClass::integer;
    case 700:  // float4
    case 701:  // float8
      return TypeClass::floating;
    case 1700:  // numeric
    case 790:   // money
      return TypeClass::numeric;
    case 16: return TypeClass::boolean;
    case 114:   // json
    case 3802:  // jsonb
      return TypeClass::json;
    case 17: return TypeClass::bytea;
    default: return TypeClass::text;
  }
}

std::string shorten_bytea(std::string_view hex) {
  if (!hex.starts_with("\\x") || hex.size() <= 2 + 2 * kByteaShown) return std::string(hex);
  size_t bytes = (hex.size() - 2) / 2;
  return fmt::format("{}… ({} bytes)", hex.substr(0, 2 + 2 * kByteaShown), bytes);
}

namespace {

uint32_t code_point(std::string_view s, size_t i, size_t n) {
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i + k])); };
  switch (n) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

// C0 and C1 controls, DEL, and the bidi embedding/override/isolate characters.
bool needs_escape(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string display_text(std::string_view value) {
  std::string clean = util::sanitize_utf8(value);
  std::string out;
  out.reserve(clean.size());
  for (size_t i = 0; i < clean.size();) {
    size_t n = std::max<size_t>(1, util::utf8_sequence_length(clean, i));
    uint32_t cp = code_point(clean, i, n);
    if (!needs_escape(cp)) {
      out.append(clean, i, n);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp < 0x80) {
      out += fmt::format("\\x{:02x}", cp);
    } else {
      out += fmt::format("\\u{:04x}", cp);
    }
    i += n;
  }
  return out;
}

std::string display_value(std::string_view value, TypeClass type) {
  if (type == TypeClass::bytea) return display_text(shorten_bytea(value));
  return display_text(value);
}

}  // namespace pgshift::query
