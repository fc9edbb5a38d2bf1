// How a value is shown. Shared by every output format (query/format.hpp).
//   - Every value and column name passes through util::sanitize_utf8, so text from a
//     SQL_ASCII database or a mislabelled column never breaks an output (bad bytes become U+FFFD).
//   - Display formats (table, Markdown) also show control characters as escapes (\n, \t, \r,
//     \x1b, \u0085, \u202e), so a value cannot move the cursor, recolour the terminal or reorder
//     text, and shorten long bytea values: "\x0011...ff… (1048576 bytes)".
//   - Data formats (CSV, JSON) keep values whole.
#pragma once

#include <libpq-fe.h>

#include <string>
#include <string_view>

namespace pgshift::query {

// How a column's values are typed in JSON and aligned in tables (by the type OID the server sent;
// domains arrive as their base type).
enum class TypeClass { integer, floating, numeric, boolean, json, bytea, text };
TypeClass type_class(Oid oid);

// Bytes of a bytea value shown before it is shortened in display formats.
inline constexpr size_t kByteaShown = 32;

// "\x" + the first kByteaShown bytes + "… (N bytes)" when the hex text is longer; else unchanged.
std::string shorten_bytea(std::string_view hex);

// Valid UTF-8 with control and bidi-override characters written as visible escapes.
std::string display_text(std::string_view value);

// A value for a display format: display_text, and shorten_bytea for bytea.
std::string display_value(std::string_view value, TypeClass type);

}  // namespace pgshift::query
