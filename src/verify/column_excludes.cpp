#include "verify/column_excludes.hpp"

#include <fmt/format.h>

#include "util/error.hpp"

namespace pgshift::verify {

ColumnExcludes resolve_column_excludes(const std::vector<std::string>& texts, const catalog::Snapshot& source) {
  ColumnExcludes out;
  for (const auto& text : texts) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t dot = text.find('.'); dot != std::string::npos; dot = text.find('.', start)) {
      parts.push_back(text.substr(start, dot - start));
      start = dot + 1;
    }
    parts.push_back(text.substr(start));
    bool empty_part = false;
    for (const auto& p : parts) empty_part = empty_part || p.empty();
    if (parts.size() != 3 || empty_part) {
      throw UsageError(fmt::format("--exclude-column {}: expected schema.table.column", text));
    }
    catalog::TableRef ref{parts[0], parts[1]};
    const catalog::Table* table = source.table(ref);
    if (!table) throw UsageError(fmt::format("--exclude-column {}: no table {} on the source", text, ref.display()));
    if (!table->column(parts[2])) {
      throw UsageError(fmt::format("--exclude-column {}: table {} has no column {} on the source", text,
                                   ref.display(), parts[2]));
    }
    out[ref].insert(parts[2]);
  }
  return out;
}

}  // namespace pgshift::verify
