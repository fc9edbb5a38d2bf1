// How the table browser shows one value (internal to console). Values arrive as PostgreSQL's
// text output (or JSON null for SQL NULL) with the column's type name:
//   NULL        <span class="null">NULL</span>, never confused with ''
//   ''          <span class="empty">''</span>
//   bytea       decided per column: when every non-NULL value of the column on the page is 16
//               bytes that look like a UUID (RFC 9562 version 1-8, variant 10), all as UUIDs;
//               otherwise all as \x hex shortened to query::kByteaShown bytes with the full
//               length in bytes (never a column that mixes the two)
//   text        control and bidi characters as visible escapes (query::display_text); longer
//               than kTextShown characters cut, with the full length, the start in the title
// Everything returned is escaped HTML.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pgshift::console {

inline constexpr size_t kTextShown = 80;    // characters shown of a long value
inline constexpr size_t kTitleShown = 2000;  // characters of a long value in its title

// "\x" + 32 hex digits of a UUID-shaped value → "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"; else nullopt.
std::optional<std::string> bytea_as_uuid(std::string_view hex);

// Right-aligned in the table (integer, numeric, float, money, oid types).
bool is_numeric_column(std::string_view pg_type);

// Whether column i of rows (arrays of values) is a bytea column shown as UUIDs (see above).
bool uuid_column(const nlohmann::json& rows, size_t i, std::string_view pg_type);

// uuid: the column's uuid_column() decision.
std::string cell_html(const nlohmann::json& value, std::string_view pg_type, bool uuid = false);

}  // namespace pgshift::console
