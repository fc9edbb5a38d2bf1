// The relation a regclass literal names, read the way PostgreSQL's regclassin reads it
// (stringToQualifiedNameList): dot-separated identifiers, unquoted ones folded to lower case,
// "double-quoted" ones kept as written ("" for a quote), each truncated to 63 bytes, whitespace
// around them ignored; one, two (schema.name) or three (database.schema.name) parts. A text of
// digits only is an oid and "-" is InvalidOid: neither names a relation the gate can resolve
// without the catalog, so both are nullopt, as is any text regclassin would not read as names.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pgshift::sqlgate {

struct RelationName {
  std::string schema;  // "" when unqualified (resolved through the search path)
  std::string name;
};

std::optional<RelationName> parse_relation_name(std::string_view text);

}  // namespace pgshift::sqlgate
