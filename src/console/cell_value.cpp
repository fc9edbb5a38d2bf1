// cell_html and the bytea/UUID and long-text presentation of console/cell_value.hpp.
#include "console/cell_value.hpp"

#include <fmt/format.h>

#include <cctype>

#include "console/html.hpp"
#include "console/page_parts.hpp"
#include "query/value.hpp"
#include "util/utf8.hpp"

namespace pgshift::console {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Byte offset after the first n characters of valid UTF-8 text (or its size).
size_t prefix_bytes(std::string_view s, size_t chars) {
  size_t i = 0;
  for (size_t k = 0; k < chars && i < s.size(); ++k) i += std::max<size_t>(1, util::utf8_sequence_length(s, i));
  return std::min(i, s.size());
}

size_t char_count(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) i += std::max<size_t>(1, util::utf8_sequence_length(s, i));
  return n;
}

std::string bytea_html(const std::string& hex, bool as_uuid) {
  if (auto uuid = as_uuid ? bytea_as_uuid(hex) : std::nullopt) {
    return "<span class=\"uuid\" title=\"bytea, 16 bytes, shown as a UUID: " + html_escape(hex) + "\">" + *uuid +
           "</span>";
  }
  std::string shown = query::shorten_bytea(hex);
  if (shown.size() == hex.size()) return "<span class=\"bytea\">" + html_escape(hex) + "</span>";
  return "<span class=\"bytea cut\" title=\"bytea, " +
         parts::group_thousands(static_cast<long long>((hex.size() - 2) / 2)) + " bytes\">" + html_escape(shown) + "</span>";
}

}  // namespace

std::optional<std::string> bytea_as_uuid(std::string_view hex) {
  if (hex.size() != 34 || !hex.starts_with("\\x")) return std::nullopt;
  std::string_view h = hex.substr(2);
  for (char c : h) {
    if (hex_digit(c) < 0) return std::nullopt;
  }
  int version = hex_digit(h[12]);
  int variant = hex_digit(h[16]);
  if (version < 1 || version > 8 || (variant & 0xC) != 0x8) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < h.size(); ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(h[i])));
  }
  return out;
}

bool is_numeric_column(std::string_view t) {
  return t == "smallint" || t == "integer" || t == "bigint" || t == "numeric" || t.starts_with("numeric(") ||
         t == "real" || t == "double precision" || t == "money" || t == "oid" || t == "int2" || t == "int4" ||
         t == "int8" || t == "float4" || t == "float8";
}

bool uuid_column(const nlohmann::json& rows, size_t i, std::string_view pg_type) {
  if (pg_type != "bytea" || !rows.is_array()) return false;
  bool any = false;
  for (const auto& row : rows) {
    if (!row.is_array() || i >= row.size() || row[i].is_null()) continue;
    if (!row[i].is_string() || !bytea_as_uuid(row[i].get<std::string>())) return false;
    any = true;
  }
  return any;
}

std::string cell_html(const nlohmann::json& value, std::string_view pg_type, bool uuid) {
  if (value.is_null()) return "<span class=\"null\">NULL</span>";
  std::string raw = parts::plain(value);
  if (raw.empty()) return "<span class=\"empty\" title=\"empty string\">''</span>";
  if (pg_type == "bytea" && raw.starts_with("\\x")) return bytea_html(raw, uuid);
  std::string text = query::display_text(raw);
  size_t chars = char_count(text);
  if (chars <= kTextShown) return html_escape(text);
  std::string title = text.substr(0, prefix_bytes(text, kTitleShown));
  return "<span class=\"cut\" title=\"" + html_escape(title) + "\">" + html_escape(text.substr(0, prefix_bytes(text, kTextShown))) +
         "<span class=\"more\">… (" + parts::group_thousands(static_cast<long long>(chars)) + " chars)</span></span>";
}

}  // namespace pgshift::console
