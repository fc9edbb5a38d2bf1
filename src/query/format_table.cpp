// The table and markdown formats (display formats); see query/format.hpp.
#include <algorithm>

#include "query/format.hpp"
#include "query/value.hpp"
#include "util/text_table.hpp"

namespace pgshift::query {
namespace {

constexpr std::string_view kNull = "NULL";

bool right_aligned(TypeClass t) {
  return t == TypeClass::integer || t == TypeClass::floating || t == TypeClass::numeric;
}

// Display text with pipes escaped and line breaks as <br> (a Markdown table row is one line).
std::string markdown_cell(std::string_view value, TypeClass type) {
  std::string out;
  size_t from = 0;
  while (true) {
    size_t nl = value.find('\n', from);
    std::string piece = display_value(value.substr(from, nl == std::string_view::npos ? nl : nl - from), type);
    for (char ch : piece) {
      if (ch == '|') out += "\\|";
      else out += ch;
    }
    if (nl == std::string_view::npos) break;
    out += "<br>";
    from = nl + 1;
  }
  return out;
}

}  // namespace

std::string render_table(const Result& result) {
  if (result.columns.empty()) return "(no columns)\n";  // SELECT FROM t
  std::vector<std::string> headers;
  for (const Column& c : result.columns) headers.push_back(display_text(c.name));
  util::TextTable table(headers);
  std::vector<TypeClass> types = column_classes(result);
  for (size_t c = 0; c < types.size(); ++c) {
    if (right_aligned(types[c])) table.set_align(c, util::TextTable::Align::right);
  }
  for (const Row& row : result.rows) {
    // A multi-line value is shown as its lines, one table row each (the other cells empty).
    std::vector<std::vector<std::string>> lines(row.size());
    size_t height = 1;
    for (size_t c = 0; c < row.size(); ++c) {
      if (!row[c]) {
        lines[c].emplace_back(kNull);
        continue;
      }
      std::string_view v = *row[c];
      size_t from = 0;
      while (true) {
        size_t nl = v.find('\n', from);
        std::string_view piece = v.substr(from, nl == std::string_view::npos ? std::string_view::npos : nl - from);
        if (nl != std::string_view::npos && piece.ends_with('\r')) piece.remove_suffix(1);
        lines[c].push_back(display_value(piece, types[c]));
        if (nl == std::string_view::npos) break;
        from = nl + 1;
      }
      height = std::max(height, lines[c].size());
    }
    for (size_t k = 0; k < height; ++k) {
      std::vector<std::string> cells;
      for (size_t c = 0; c < row.size(); ++c) cells.push_back(k < lines[c].size() ? lines[c][k] : std::string());
      table.add_row(std::move(cells));
    }
  }
  return table.render();
}

std::string render_markdown(const Result& result) {
  return render_markdown_part(result, 0, result.rows.size(), true);
}

std::string render_markdown_part(const Result& result, size_t first, size_t last, bool header) {
  if (result.columns.empty()) return header ? "*(no columns)*\n" : "";
  std::vector<TypeClass> types = column_classes(result);
  std::string out;
  if (header) {
    out = "|";
    for (const Column& c : result.columns) out += " " + markdown_cell(c.name, TypeClass::text) + " |";
    out += "\n|";
    for (TypeClass t : types) out += right_aligned(t) ? " ---: |" : " --- |";
    out += "\n";
  }
  for (size_t r = first; r < last && r < result.rows.size(); ++r) {
    const Row& row = result.rows[r];
    out += "|";
    for (size_t c = 0; c < row.size(); ++c) {
      std::string cell = row[c] ? markdown_cell(*row[c], types[c]) : std::string(kNull);
      out += " " + cell + " |";
    }
    out += "\n";
  }
  return out;
}

}  // namespace pgshift::query
