#include "pg/quote.hpp"

#include "util/error.hpp"

namespace pgshift::pg {
namespace {

bool is_plain_identifier(std::string_view name) {
  if (name.empty()) return false;
  if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z'))) return false;
  for (char c : name) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '$')) return false;
  }
  return true;
}

}  // namespace

std::string quote_ident(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string qualified_name(std::string_view schema, std::string_view name) {
  return quote_ident(schema) + "." + quote_ident(name);
}

std::string quote_literal(std::string_view text) {
  bool has_backslash = false;
  std::string body;
  for (char c : text) {
    if (c == '\0') throw RuntimeError("a SQL literal cannot contain a NUL byte");
    if (c == '\'') body += '\'';
    if (c == '\\') {
      body += '\\';
      has_backslash = true;
    }
    body += c;
  }
  return (has_backslash ? "E'" : "'") + body + "'";
}

std::string display_name(std::string_view schema, std::string_view name) {
  auto part = [](std::string_view p) {
    return is_plain_identifier(p) ? std::string(p) : quote_ident(p);
  };
  return part(schema) + "." + part(name);
}

}  // namespace pgshift::pg
