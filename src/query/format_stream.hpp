// One csv, json or markdown text rendered from a result that arrives in batches
// (query/streamed_run.hpp), piece by piece: the concatenated pieces equal render() of the whole
// result (query/format.hpp), yet no more than one batch and one piece are held at a time.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "query/format.hpp"

namespace pgshift::query {

class StreamRenderer {
 public:
  using Write = std::function<bool(std::string_view)>;

  // format: csv, json or markdown (not table: its column widths need every row).
  explicit StreamRenderer(Format format);

  // Writes the batch's rows in pieces of about rows_per_piece rows (the header or the opening
  // bracket before the first). Returns false when write() did.
  bool batch(const Result& batch, size_t rows_per_piece, const Write& write);

  // Writes what ends the text: json's held last row and closing bracket, or, when no row came,
  // the empty result's rendering (the header alone, "[]"). columns: the statement's.
  bool finish(const std::vector<Column>& columns, const Write& write);

 private:
  Format format_;
  bool started_ = false;
  std::string held_;  // json: the last piece, whose last row's comma waits for the next row
};

}  // namespace pgshift::query
