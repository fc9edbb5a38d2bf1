// The gate's function policy: which functions a read-only statement may not call, and which
// functions may appear in FROM. The lists and the reasoning live in functions.cpp, in one place.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace pgshift::sqlgate {

// A family of functions denied for one reason. A name ending in '*' is a prefix.
struct DeniedFamily {
  std::string_view family;  // short code, e.g. "backend-signalling"
  std::string_view reason;  // why, in a few words; shown to the user
  std::span<const std::string_view> names;
};

// Folds a name as the gate compares it: ASCII lower case (quoted and unquoted spellings, and
// any schema qualification, compare equal; the caller passes the last name part only).
std::string fold_name(std::string_view name);

// The family that denies this (folded, unqualified) function name, or nullptr.
const DeniedFamily* denied_function(std::string_view folded_name);

// The same for relations (views that read server files).
const DeniedFamily* denied_relation(std::string_view folded_name);

// Whether a function may be called in FROM (a known, side-effect-free set-returning function).
// Matched exactly, not folded: the names are PostgreSQL's own, in lower case; a quoted
// "GENERATE_SERIES" is a different function.
bool allowed_in_from(std::string_view name);

// Everything, for the documentation and the tests.
std::span<const DeniedFamily> denied_families();
std::span<const std::string_view> from_functions();
const DeniedFamily& denied_relations();

}  // namespace pgshift::sqlgate
