// The read-only gate: is this SQL text safe to run through pgshift's read-only window (the
// console, the MCP server, `pgshift query`)? Decided with PostgreSQL's own parser (libpg_query,
// the PostgreSQL 15 grammar), never with keywords or regular expressions.
//
// Accepted: exactly one statement that is
//   - a query: SELECT, VALUES or TABLE, with WITH only when every CTE is itself a plain query;
//   - EXPLAIN of such a query, without ANALYZE (any other option, FORMAT JSON included, is fine);
//   - SHOW (a setting, or ALL).
// Rejected, with a stable rule code, a one-line reason and the position of the offending text:
// text that is not valid UTF-8 or holds a NUL byte, syntax errors, no statement, several
// statements, transaction control, SET/RESET (SET ROLE, SET SESSION AUTHORIZATION included),
// every other statement type (DML, DDL, COPY, DO, CALL, DECLARE, FETCH, PREPARE, EXECUTE,
// LISTEN, NOTIFY, LOCK, VACUUM, ...), data-modifying CTEs, SELECT INTO, locking clauses (FOR
// UPDATE/SHARE/...), EXPLAIN ANALYZE, EXPLAIN of anything but a query, calls to the denied
// function families of functions.cpp anywhere in the tree (select list, FROM, WHERE, sub-queries,
// CTEs, function arguments, window and ORDER BY clauses; schema-qualified, quoted or in attribute
// notation), and the views that read server files. Every node of the parse tree is visited, so
// nothing hides in a sub-query.
//
// check() is the half of the gate that needs no database. An accepted verdict lists what the
// statement references (functions in every position, operators, type names, relations), and
// query::run() judges those against the connected database's catalog before running anything
// (function_policy.hpp, query/function_check.hpp): only known-safe built-in functions, or
// functions the operator allowed by name, and no foreign table unless allowed. Its refusals are
// Verdicts with the rules marked "catalog" below.
//
// The gate is the first of several barriers (see query/query.hpp and docs/query.md, "Defence layers"):
// what it accepts still runs READ ONLY, always rolled back, with timeouts, over the extended
// protocol (one statement at most).
//
// check() is thread-safe, does no I/O and never throws for any input: malformed text is a
// rejected verdict.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgshift::sqlgate {

// What an accepted statement is; run as a cursor (query) or directly (explain, show).
enum class Kind { none, query, explain, show };

// Why a statement was rejected. rule_name() gives the stable code used in logs and JSON.
enum class Rule {
  none,
  invalid_text,          // "invalid-text": not UTF-8, NUL byte, longer than kMaxTextBytes
  syntax_error,          // "syntax-error"
  empty,                 // "empty": only whitespace and comments
  multiple_statements,   // "multiple-statements"
  transaction_control,   // "transaction-control": BEGIN, COMMIT, ROLLBACK, SAVEPOINT, ...
  session_setting,       // "session-setting": SET, RESET, SET ROLE, SET SESSION AUTHORIZATION
  data_modification,     // "data-modification": INSERT, UPDATE, DELETE, MERGE
  statement_type,        // "statement-type": any other statement (DDL, COPY, DO, CALL, LOCK, ...)
  data_modifying_cte,    // "data-modifying-cte": WITH x AS (DELETE ... RETURNING ...)
  select_into,           // "select-into"
  locking_clause,        // "locking-clause": FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE
  explain_analyze,       // "explain-analyze"
  explain_target,        // "explain-target": EXPLAIN of DML, CREATE TABLE AS, EXECUTE, ...
  denied_function,       // "denied-function": a call to a denied function family
  denied_relation,       // "denied-relation": a view that reads server files
  relation_argument,     // "relation-argument": table_to_xml(...) of something other than a constant name
  nesting_limit,         // "nesting-limit": nested deeper than the gate parses (kMaxNesting)
  // The catalog check's rules (query::run(), after connecting):
  volatile_function,     // "volatile-function": a built-in VOLATILE function not on the safe list
  extension_function,    // "extension-function": a function from an extension, not allowed by name
  user_function,         // "user-function": a user-defined function, not allowed by name
  security_definer,      // "security-definer": a SECURITY DEFINER function, not allowed by name
  foreign_table,         // "foreign-table": a foreign table, not allowed by name
};

// Whether the rule is one of the catalog check's (check() alone never returns them).
bool is_catalog_rule(Rule rule);

// Something an accepted statement names that the catalog check resolves. Names are as the
// parser resolved the identifiers (unquoted ones folded to lower case), schema "" when
// unqualified.
struct Reference {
  enum class Kind {
    function,       // a call f(...) anywhere, FROM included
    attribute,      // (expr).f: a call f(expr)
    row_attribute,  // t.f where f may be a function of t's row type
    tablesample,    // TABLESAMPLE f(...): the method's handler function
    operator_,      // a op b, op a: the operator's function and its estimators
    type,           // ::t, CAST(... AS t), column definitions: t's input function and casts into t
    relation,       // FROM t: a table, view, foreign table, ...
  };
  Kind kind = Kind::function;
  std::string schema;
  std::string name;
  int nargs = -1;         // function: arguments given (-1 unknown); operator: 1 prefix, 2 infix
  bool in_from = false;   // function: called as a table source
  int position = 0;       // 1-based character position
  bool constant = false;  // type: what is converted is a constant ('x'::t, 1::t), of a built-in type
};

const char* rule_name(Rule rule);
const char* kind_name(Kind kind);

// Texts longer than this are rejected before parsing (bounds the parser's memory).
inline constexpr size_t kMaxTextBytes = 1 << 20;

struct Verdict {
  bool accepted = false;
  Kind kind = Kind::none;
  Rule rule = Rule::none;   // Rule::none when accepted
  std::string reason;       // rejected: one line, e.g. "pg_sleep() is denied: holds a connection ..."
  int position = 0;         // 1-based character position of the offending text; 0 when none
  std::string statement;    // accepted: the statement's text, without the trailing semicolon
  std::string fingerprint;  // libpg_query fingerprint (16 hex digits); "" when the text does not parse
  std::string normalized;   // the text with constants replaced by $1, $2...; "" when it does not parse
  std::vector<Reference> references;  // accepted: what the catalog check must resolve

  // "reason at character N" (or just the reason when there is no position).
  std::string message() const;
};

Verdict check(std::string_view sql);

// A psql-style excerpt of the line holding a 1-based character position, and a caret under it:
//   LINE 2: SELECT pg_sleep(1)
//                  ^
// Long lines are cut around the position. "" when position is 0.
std::string caret_excerpt(std::string_view sql, int position);

}  // namespace pgshift::sqlgate
