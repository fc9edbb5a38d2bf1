// Splits SQL text into statements with PostgreSQL's own parser (libpg_query), so semicolons
// inside strings, comments, dollar quotes and CREATE RULE bodies are handled exactly as the
// server would. Used to run fixed multi-statement scripts (demo seed, tests) one statement
// at a time through Connection::exec, which accepts one statement only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgshift::sqlgate {

// Statement texts without trailing semicolons; empty statements dropped. Throws UsageError
// with the parser's message and the 1-based character position on a syntax error.
std::vector<std::string> split_statements(std::string_view sql);

}  // namespace pgshift::sqlgate
