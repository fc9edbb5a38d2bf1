#include "pg/lsn.hpp"

#include <fmt/format.h>

#include "util/error.hpp"

namespace pgshift::pg {
namespace {

std::optional<uint32_t> parse_hex32(std::string_view s) {
  if (s.empty() || s.size() > 8) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    v <<= 4;
    if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
    else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
    else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
    else return std::nullopt;
  }
  return v;
}

}  // namespace

std::optional<Lsn> Lsn::parse(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto hi = parse_hex32(text.substr(0, slash));
  auto lo = parse_hex32(text.substr(slash + 1));
  if (!hi || !lo) return std::nullopt;
  return Lsn((static_cast<uint64_t>(*hi) << 32) | *lo);
}

Lsn Lsn::parse_or_throw(std::string_view text, std::string_view what) {
  auto lsn = parse(text);
  if (!lsn) throw RuntimeError(fmt::format("{}: '{}' is not an LSN", what, text));
  return *lsn;
}

std::string Lsn::to_string() const {
  return fmt::format("{:X}/{:X}", static_cast<uint32_t>(value_ >> 32), static_cast<uint32_t>(value_));
}

}  // namespace pgshift::pg
