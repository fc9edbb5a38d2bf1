// The one place identifiers and literals are quoted for SQL text. Values travel as bound
// parameters wherever PostgreSQL accepts them; quote_literal exists only for utility statements
// that take no parameters (CREATE SUBSCRIPTION ... CONNECTION '...', ALTER ... SET ...).
#pragma once

#include <string>
#include <string_view>

namespace pgshift::pg {

// "name" with embedded double quotes doubled. Always quotes, so case and keywords are kept.
std::string quote_ident(std::string_view name);

// "schema"."name".
std::string qualified_name(std::string_view schema, std::string_view name);

// 'text' with quotes doubled; E'...' with backslashes doubled when the text has a backslash,
// so the result means the same under any standard_conforming_strings setting. Rejects NUL.
std::string quote_literal(std::string_view text);

// schema.name for messages (unquoted unless a part needs quotes to be unambiguous).
std::string display_name(std::string_view schema, std::string_view name);

}  // namespace pgshift::pg
