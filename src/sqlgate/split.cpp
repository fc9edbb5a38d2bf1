#include "sqlgate/split.hpp"

#include <fmt/format.h>
#include <pg_query.h>

#include "util/error.hpp"

namespace pgshift::sqlgate {

std::vector<std::string> split_statements(std::string_view sql) {
  std::string text(sql);
  PgQuerySplitResult r = pg_query_split_with_parser(text.c_str());
  if (r.error) {
    std::string message = fmt::format("SQL syntax error at character {}: {}", r.error->cursorpos, r.error->message);
    pg_query_free_split_result(r);
    throw UsageError(message);
  }
  std::vector<std::string> out;
  for (int i = 0; i < r.n_stmts; ++i) {
    // stmt_len 0 means "to the end of the text", as in PostgreSQL's RawStmt.
    size_t location = static_cast<size_t>(r.stmts[i]->stmt_location);
    size_t length = r.stmts[i]->stmt_len == 0 ? std::string::npos : static_cast<size_t>(r.stmts[i]->stmt_len);
    std::string stmt = text.substr(location, length);
    size_t first = stmt.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) continue;
    out.push_back(stmt.substr(first));
  }
  pg_query_free_split_result(r);
  return out;
}

}  // namespace pgshift::sqlgate
