#include "query/format.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "query/value.hpp"
#include "util/error.hpp"
#include "util/utf8.hpp"

namespace pgshift::query {

Format parse_format(std::string_view name, std::string_view what) {
  if (name == "table") return Format::table;
  if (name == "csv") return Format::csv;
  if (name == "json") return Format::json;
  if (name == "markdown" || name == "md") return Format::markdown;
  throw UsageError(fmt::format("{}: unknown format '{}' (use table, csv, json or markdown)", what, name));
}

std::string render(const Result& result, Format format) {
  switch (format) {
    case Format::table: return render_table(result);
    case Format::csv: return render_csv(result);
    case Format::json: return render_json(result);
    case Format::markdown: return render_markdown(result);
  }
  return {};
}

std::vector<TypeClass> column_classes(const Result& result) {
  std::vector<TypeClass> out;
  for (const Column& c : result.columns) out.push_back(type_class(c.type_oid));
  return out;
}

bool render_pieces(const Result& result, Format format, size_t rows_per_piece,
                   const std::function<bool(std::string_view)>& write) {
  if (format == Format::table) return write(render_table(result));
  const size_t n = result.rows.size();
  const size_t step = std::max<size_t>(1, rows_per_piece);
  for (size_t first = 0;; first += step) {
    const size_t last = std::min(n, first + step);
    const bool opening = first == 0, closing = last >= n;
    std::string piece = format == Format::csv    ? render_csv_part(result, first, last, opening)
                        : format == Format::json ? render_json_part(result, first, last, opening, closing)
                                                 : render_markdown_part(result, first, last, opening);
    if (!piece.empty() && !write(piece)) return false;
    if (closing) return true;
  }
}

nlohmann::ordered_json result_json(const Result& result) {
  using json = nlohmann::ordered_json;
  json columns = json::array();
  for (const Column& c : result.columns) {
    columns.push_back({{"name", util::sanitize_utf8(c.name)}, {"type", c.type_name}, {"type_oid", c.type_oid}});
  }
  const char* by = result.truncated_by == Truncation::limit   ? "limit"
                   : result.truncated_by == Truncation::bytes ? "bytes"
                                                              : nullptr;
  return json{
      {"kind", sqlgate::kind_name(result.verdict.kind)},
      {"fingerprint", result.verdict.fingerprint},
      {"columns", columns},
      {"rows", rows_json(result)},
      {"row_count", result.rows.size()},
      {"truncated", result.truncated},
      {"truncated_by", by ? json(by) : json()},
      {"limit", result.limit},
      {"elapsed_ms", result.elapsed.count()},
  };
}

std::string summary(const Result& result) {
  size_t n = result.rows.size();
  std::string rows = fmt::format("{} row{}", n, n == 1 ? "" : "s");
  std::string why;
  if (result.truncated_by == Truncation::limit) {
    why = fmt::format(" (truncated at the limit of {}; there are more)", result.limit);
  } else if (result.truncated_by == Truncation::bytes) {
    why = " (truncated: the values passed the size budget; there are more)";
  }
  return fmt::format("{}{} in {}", rows, why, util::format_duration(result.elapsed));
}

}  // namespace pgshift::query
