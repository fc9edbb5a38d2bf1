// The csv format (RFC 4180); see query/format.hpp.
#include "query/format.hpp"
#include "util/utf8.hpp"

namespace pgshift::query {
namespace {

void field(std::string& out, std::string_view value, bool force_quotes) {
  std::string clean = util::sanitize_utf8(value);
  bool quote = force_quotes || clean.find_first_of(",\"\r\n") != std::string::npos;
  if (!quote) {
    out += clean;
    return;
  }
  out += '"';
  for (char c : clean) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace

std::string render_csv(const Result& result) { return render_csv_part(result, 0, result.rows.size(), true); }

std::string render_csv_part(const Result& result, size_t first, size_t last, bool header) {
  std::string out;
  if (header) {
    for (size_t c = 0; c < result.columns.size(); ++c) {
      if (c) out += ',';
      field(out, result.columns[c].name, result.columns[c].name.empty());
    }
    out += "\r\n";
  }
  for (size_t r = first; r < last && r < result.rows.size(); ++r) {
    const Row& row = result.rows[r];
    for (size_t c = 0; c < row.size(); ++c) {
      if (c) out += ',';
      if (row[c]) field(out, *row[c], row[c]->empty());  // NULL: nothing; empty string: ""
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace pgshift::query
