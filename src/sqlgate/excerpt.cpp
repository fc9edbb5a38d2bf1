// sqlgate::caret_excerpt(): the psql-style "LINE n: ..." excerpt with a caret.
#include <fmt/format.h>

#include "sqlgate/sqlgate.hpp"
#include "sqlgate/tokens.hpp"

namespace pgshift::sqlgate {
namespace {

constexpr int kWindow = 60;  // characters shown on each side of the position on a long line

bool is_lead(char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }

}  // namespace

std::string caret_excerpt(std::string_view sql, int position) {
  if (position <= 0 || sql.empty()) return "";
  size_t at = std::min(byte_offset(sql, position), sql.size());
  size_t newline = at == 0 ? std::string_view::npos : sql.rfind('\n', at - 1);
  size_t line_start = newline == std::string_view::npos ? 0 : newline + 1;
  size_t line_end = sql.find('\n', at);
  if (line_end == std::string_view::npos) line_end = sql.size();
  int line_number = 1;
  for (size_t i = 0; i < line_start; ++i) line_number += sql[i] == '\n';

  std::string_view line = sql.substr(line_start, line_end - line_start);
  size_t col_bytes = at - line_start;
  // Cut long lines to a window around the position, on character boundaries.
  size_t from = 0;
  int skipped = 0;
  int column = 0;
  for (size_t i = 0; i < col_bytes; ++i) column += is_lead(line[i]);
  std::string prefix, suffix;
  if (column > kWindow) {
    int drop = column - kWindow;
    while (from < line.size() && drop > 0) {
      ++from;
      while (from < line.size() && !is_lead(line[from])) ++from;
      --drop;
      ++skipped;
    }
    prefix = "...";
  }
  size_t to = from;
  for (int chars = 0; to < line.size() && chars < 2 * kWindow; ++chars) {
    ++to;
    while (to < line.size() && !is_lead(line[to])) ++to;
  }
  if (to < line.size()) suffix = "...";
  std::string shown = prefix + std::string(line.substr(from, to - from)) + suffix;
  for (char& c : shown) {
    if (c == '\t' || c == '\r') c = ' ';
  }
  std::string head = fmt::format("LINE {}: ", line_number);
  int caret_column = static_cast<int>(head.size() + prefix.size()) + column - skipped;
  return head + shown + "\n" + std::string(static_cast<size_t>(caret_column), ' ') + "^";
}

}  // namespace pgshift::sqlgate
