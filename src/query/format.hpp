// The result formats shared by every surface (`pgshift query`, the console, the MCP server):
//   table     aligned plain text for a terminal; numbers right-aligned; NULL shown as NULL, an
//             empty string as an empty cell; display escapes and bytea shortening (value.hpp);
//             a value with line breaks (EXPLAIN (FORMAT JSON), a text block) spans several lines.
//   csv       RFC 4180: header row, CRLF line ends, fields quoted when they hold a comma, quote,
//             CR or LF (quotes doubled). NULL is an empty unquoted field, an empty string is "",
//             as COPY ... CSV does, so the two stay distinct. Values whole.
//   json      an array of objects, one per row, keys in column order (a repeated column name
//             gets a _2, _3 ... suffix). int2/int4/oid and int8 within ±(2^53-1) are numbers,
//             larger int8, numeric and money are strings (exact); finite floats are numbers,
//             NaN/Infinity strings; booleans true/false; json/jsonb embedded as JSON; NULL null;
//             arrays of scalar types (int, float, numeric, bool, json, text-like, dates) as JSON
//             arrays of values typed the same way, nested for multi-dimensional arrays;
//             everything else (bytea as \x hex, whole) a string.
//   markdown  a GitHub table: pipes escaped as \|, newlines as <br>, NULL as NULL, display
//             escapes and bytea shortening; numbers right-aligned.
// Every format is valid UTF-8 whatever the values hold. Output ends with a newline.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "query/query.hpp"
#include "query/value.hpp"

namespace pgshift::query {

enum class Format { table, csv, json, markdown };

// "table", "csv", "json", "markdown". Throws UsageError naming `what` (e.g. "--format").
Format parse_format(std::string_view name, std::string_view what);

std::string render(const Result& result, Format format);
std::string render_table(const Result& result);
std::string render_csv(const Result& result);
std::string render_json(const Result& result);
std::string render_markdown(const Result& result);

// Pieces of a rendering, for a download streamed in slices of rows [first, last): the header
// (csv, markdown) or the opening bracket (json) when asked, the rows, the closing bracket (json).
// Pieces over consecutive slices concatenate to render(). The table format is not streamed.
std::string render_csv_part(const Result& result, size_t first, size_t last, bool header);
std::string render_markdown_part(const Result& result, size_t first, size_t last, bool header);
std::string render_json_part(const Result& result, size_t first, size_t last, bool opening, bool closing);

// Calls write() with successive pieces of render(result, format) (csv, json, markdown: about
// rows_per_piece rows each; table: one piece) until the end or until write() returns false,
// so the whole text never exists at once. Returns false when write() stopped it.
bool render_pieces(const Result& result, Format format, size_t rows_per_piece,
                   const std::function<bool(std::string_view)>& write);

// type_class() of every column, in order.
std::vector<TypeClass> column_classes(const Result& result);

// The rows as the json format's array of objects.
nlohmann::ordered_json rows_json(const Result& result);

// Everything about a result, for APIs (the console, MCP): columns with types, rows (as
// rows_json), row_count, truncated, truncated_by, limit, elapsed_ms, kind, fingerprint.
nlohmann::ordered_json result_json(const Result& result);

// "1,000 rows (truncated at the limit of 1000) in 35ms" — for stderr or a status line.
std::string summary(const Result& result);

}  // namespace pgshift::query
