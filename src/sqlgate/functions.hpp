// The gate's name-based function policy: the denied function families (refused by name, with
// no database, and never allowable) and the views that read server files. The lists and the
// reasoning live in functions.cpp, in one place; the catalog-based half is function_policy.hpp.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace pgshift::sqlgate {

// A family of functions denied for one reason. A name ending in '*' is a prefix; "name/N" is
// name called with N arguments.
struct DeniedFamily {
  std::string_view family;  // short code, e.g. "backend-signalling"
  std::string_view reason;  // why, in a few words; shown to the user
  std::span<const std::string_view> names;
};

// Folds a name as the gate compares it: ASCII lower case (quoted and unquoted spellings, and
// any schema qualification, compare equal; the caller passes the last name part only).
std::string fold_name(std::string_view name);

// The family that denies this (folded, unqualified) function name called with nargs
// arguments (-1: unknown, which matches every arity), or nullptr.
const DeniedFamily* denied_function(std::string_view folded_name, int nargs = -1);

// The same for relations (views that read server files, catalogs holding credentials).
const DeniedFamily* denied_relation(std::string_view folded_name);

// Whether the function (folded, unqualified name) reads the whole relation its argument `tbl`
// (the first) names, as FROM would: table_to_xml and table_to_xml_and_xmlschema. The gate
// treats that argument as a relation of the statement (foreign tables, views over them, file
// views), and refuses the call when the argument is not a constant name it can resolve.
// table_to_xmlschema reads only the catalog; query_to_xml and cursor_to_xml are denied above.
bool reads_relation_argument(std::string_view folded_name);

// Whether a pattern of these lists ("name", "prefix*", "name/N") matches a folded name called
// with nargs arguments (-1: unknown, matches every arity).
bool name_matches(std::string_view pattern, std::string_view name, int nargs);

// Everything, for the documentation and the tests.
std::span<const DeniedFamily> denied_families();
std::span<const DeniedFamily> denied_relations();

}  // namespace pgshift::sqlgate
