// The catalog half of the gate's function policy: given what the connected database's catalog
// says about a function (FunctionFacts, looked up by query/policy_check.hpp), may a read-only
// statement call it? Pure: no I/O, thread-safe.
//
// The policy, in order (the first that applies decides; docs/query.md, "What the gate accepts and
// refuses" has the same table):
//   1. A denied family of functions.hpp (by name, any schema): refused, and no allow-list entry
//      can allow it (rule denied-function).
//   2. Named by an allow-list entry ("schema.name", or "schema.*" for a whole schema): allowed.
//   3. SECURITY DEFINER: refused (it runs as its owner, not as the reader) (security-definer).
//   3a. IMMUTABLE or STABLE, owned by a superuser, and a member of one of the pure data-type and
//      text-matching extensions of default_allowed_extensions() (citext, hstore, pg_trgm, ...;
//      for pgcrypto only its digests): allowed. Owned by a superuser: the members of a trusted
//      extension belong to the bootstrap superuser, so a function the extension's owner added to
//      it later (ALTER EXTENSION ADD) is not one of them.
//   4. From an extension (pg_depend 'e'), or user-defined (anything outside the built-in set):
//      refused; any extension or user function can run SQL text or act outside the
//      transaction, and the gate cannot see into it (extension-function, user-function).
//   5. Built-in VOLATILE, except the safe list below: refused; volatile is how PostgreSQL marks
//      functions with side effects (volatile-function).
//   6. Built-in IMMUTABLE or STABLE, and the safe volatile list: allowed.
// Built-in means: in pg_catalog or information_schema, created by initdb (oid below
// FirstNormalObjectId, 16384), and not a member of an extension.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "sqlgate/sqlgate.hpp"

namespace pgshift::sqlgate {

struct FunctionFacts {
  std::string schema;
  std::string name;
  std::string signature;          // regprocedure text, e.g. "crosstab2(text)" (schema shown when not on the path)
  int nargs = 0;                  // pronargs
  char volatility = 'v';          // provolatile: 'i', 's' or 'v'
  bool security_definer = false;  // prosecdef
  std::string language;           // lanname: internal, c, sql, plpgsql, ...
  std::string extension;          // the owning extension; "" when none
  bool built_in = false;          // see above
  bool owner_superuser = false;   // proowner is a superuser
};

// An extension whose IMMUTABLE and STABLE functions are allowed without naming them, and why.
struct DefaultAllowedExtension {
  std::string_view extension;
  std::span<const std::string_view> functions;  // empty: all of them; else only these names
  std::string_view reason;
};
std::span<const DefaultAllowedExtension> default_allowed_extensions();

struct FunctionDecision {
  bool allowed = true;
  Rule rule = Rule::none;  // refused: denied_function, security_definer, extension_function, user_function,
                           // volatile_function
  std::string reason;      // refused: one line naming the function and how to allow it, when it can be
};

// allowed: entries of --allow-function / allow-function ("schema.name" or "schema.*").
FunctionDecision judge_function(const FunctionFacts& f, std::span<const std::string> allowed);

// Whether schema.name is named by an entry of an allow-list ("schema.name"; "schema.*" when
// wildcard is true).
bool allow_listed(std::string_view schema, std::string_view name, std::span<const std::string> allowed,
                  bool wildcard);

// What is wrong with an allow-list entry ("" when nothing): it must be schema.name (or
// schema.* when wildcard), and a function may not be one of a denied family. option names the
// setting in the message ("allow-function").
std::string allow_entry_problem(std::string_view entry, std::string_view option, bool wildcard, bool function);

// The built-in VOLATILE functions that are allowed anyway ("prefix*" patterns included).
std::span<const std::string_view> safe_volatile_functions();

}  // namespace pgshift::sqlgate
