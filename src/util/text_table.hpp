// An aligned plain-text table for terminal output: a header row, a rule, then rows. Column
// widths count UTF-8 code points, so non-ASCII names stay aligned. Cells never contain newlines
// (they are replaced by a visible "\n"); callers shorten long cells themselves.
#pragma once

#include <string>
#include <vector>

namespace pgshift::util {

class TextTable {
 public:
  enum class Align { left, right };

  explicit TextTable(std::vector<std::string> headers);
  void set_align(size_t column, Align align);
  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  std::string render() const;  // ends with '\n'; renders only the header when there are no rows

 private:
  std::vector<std::string> headers_;
  std::vector<Align> align_;
  std::vector<std::vector<std::string>> rows_;
};

// Number of UTF-8 code points in s (bytes that are not continuation bytes).
size_t display_width(const std::string& s);

}  // namespace pgshift::util
