// Rendering a batched result; see query/format_stream.hpp.
#include "query/format_stream.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace pgshift::query {

StreamRenderer::StreamRenderer(Format format) : format_(format) {
  if (format == Format::table) throw UsageError("the table format cannot be streamed");
}

bool StreamRenderer::batch(const Result& batch, size_t rows_per_piece, const Write& write) {
  const size_t n = batch.rows.size();
  const size_t step = std::max<size_t>(1, rows_per_piece);
  for (size_t first = 0; first < n; first += step) {
    const size_t last = std::min(n, first + step);
    const bool opening = !started_;
    started_ = true;
    if (format_ == Format::json) {
      // render_json_part() ends a batch's last row without a comma: a row follows after all.
      if (!held_.empty()) {
        if (!held_.ends_with(",\n")) {
          held_.pop_back();  // its '\n'
          held_ += ",\n";
        }
        if (!write(held_)) return false;
      }
      held_ = render_json_part(batch, first, last, opening, false);
      continue;
    }
    const std::string piece = format_ == Format::csv ? render_csv_part(batch, first, last, opening)
                                                     : render_markdown_part(batch, first, last, opening);
    if (!write(piece)) return false;
  }
  return true;
}

bool StreamRenderer::finish(const std::vector<Column>& columns, const Write& write) {
  if (!started_) {
    Result empty;
    empty.columns = columns;
    started_ = true;
    return write(render(empty, format_));
  }
  if (format_ == Format::json) return write(held_ + "]\n");
  return true;
}

}  // namespace pgshift::query
