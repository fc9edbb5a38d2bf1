// parse_relation_name(): regclassin's reading of a relation name, without the catalog.
#include "sqlgate/relation_name.hpp"

#include <vector>

namespace pgshift::sqlgate {
namespace {

constexpr size_t kMaxIdentifierBytes = 63;  // NAMEDATALEN - 1

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// truncate_identifier(): cut to 63 bytes on a UTF-8 character boundary.
void truncate(std::string& id) {
  if (id.size() <= kMaxIdentifierBytes) return;
  size_t cut = kMaxIdentifierBytes;
  while (cut > 0 && (static_cast<unsigned char>(id[cut]) & 0xC0) == 0x80) --cut;
  id.resize(cut);
}

// SplitIdentifierString(text, '.'): nullopt where it returns false.
std::optional<std::vector<std::string>> split(std::string_view text) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < text.size() && is_space(text[i])) ++i;
  if (i == text.size()) return std::nullopt;
  while (true) {
    std::string part;
    if (i < text.size() && text[i] == '"') {
      ++i;
      while (true) {
        if (i == text.size()) return std::nullopt;  // unterminated quote
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            part += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        part += text[i++];
      }
      if (part.empty()) return std::nullopt;  // "" is an empty name
    } else {
      while (i < text.size() && text[i] != '.' && !is_space(text[i])) {
        char c = text[i++];
        part += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      }
      if (part.empty()) return std::nullopt;
    }
    truncate(part);
    parts.push_back(std::move(part));
    while (i < text.size() && is_space(text[i])) ++i;
    if (i == text.size()) return parts;
    if (text[i] != '.') return std::nullopt;
    ++i;
    while (i < text.size() && is_space(text[i])) ++i;
  }
}

}  // namespace

std::optional<RelationName> parse_relation_name(std::string_view text) {
  if (text == "-") return std::nullopt;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) return std::nullopt;
  auto parts = split(text);
  if (!parts || parts->size() > 3) return std::nullopt;
  RelationName out;
  out.name = parts->back();
  if (parts->size() >= 2) out.schema = (*parts)[parts->size() - 2];
  return out;
}

}  // namespace pgshift::sqlgate
