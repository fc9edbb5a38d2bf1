// StreamRenderer: a result rendered batch by batch, in pieces, is byte for byte render() of the
// whole result, whatever the batch and piece sizes (json's commas across batches included).
#include "query/format_stream.hpp"

#include <gtest/gtest.h>

using namespace pgshift;
using query::Column;
using query::Result;

namespace {

Result rows(size_t n) {
  Result r;
  r.columns = {Column{"id", 23, -1, "integer"}, Column{"note", 25, -1, "text"}};
  for (size_t i = 0; i < n; ++i) {
    r.rows.push_back({std::to_string(i), i % 3 == 0 ? query::Value() : query::Value("a|b, \"c\"\nline " + std::to_string(i))});
  }
  return r;
}

std::string streamed(const Result& whole, query::Format format, size_t batch, size_t piece) {
  query::StreamRenderer renderer(format);
  std::string out;
  auto write = [&out](std::string_view p) {
    out += p;
    return true;
  };
  for (size_t first = 0; first < whole.rows.size(); first += batch) {
    Result b;
    b.columns = whole.columns;
    for (size_t i = first; i < std::min(whole.rows.size(), first + batch); ++i) b.rows.push_back(whole.rows[i]);
    EXPECT_TRUE(renderer.batch(b, piece, write));
  }
  EXPECT_TRUE(renderer.finish(whole.columns, write));
  return out;
}

}  // namespace

TEST(FormatStream, BatchesConcatenateToTheWholeRendering) {
  for (query::Format format : {query::Format::csv, query::Format::json, query::Format::markdown}) {
    for (size_t n : {0, 1, 2, 7, 50}) {
      const Result whole = rows(n);
      const std::string expected = query::render(whole, format);
      for (size_t batch : {1, 3, 7, 100}) {
        for (size_t piece : {1, 2, 5, 200}) {
          EXPECT_EQ(streamed(whole, format, batch, piece), expected)
              << "format " << static_cast<int>(format) << ", " << n << " rows, batch " << batch << ", piece " << piece;
        }
      }
    }
  }
}

TEST(FormatStream, AWriterThatStopsStopsIt) {
  query::StreamRenderer renderer(query::Format::csv);
  int calls = 0;
  EXPECT_FALSE(renderer.batch(rows(10), 2, [&](std::string_view) { return ++calls < 2; }));
  EXPECT_EQ(calls, 2);
  EXPECT_THROW(query::StreamRenderer(query::Format::table), UsageError);
}
