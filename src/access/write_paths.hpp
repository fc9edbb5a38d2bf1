// What a role can write, read from the catalog: every write path of a role with the object and
// the SQL that removes it. A path is anything that lets the role change data or the catalog
// without SUPERUSER help: an attribute, a membership (transitively, pg_has_role MEMBER) in a
// predefined writer role or in a role holding write privileges, a privilege held by the role
// or PUBLIC (tables, columns, sequences, schemas, the database, tablespaces, the large-object
// write functions, large objects, SECURITY DEFINER functions that may write, parameters), an
// object it (or a role it reaches) owns, a usable foreign-server user mapping, a foreign table
// whose read runs a program (file_fdw), dblink_connect_u,
// or a default privilege that will grant it write on future objects. Availability paths are
// reported the same way (kind "availability"): session advisory locks, pg_logical_emit_message
// and pg_notify executable by the role, and PREPARE TRANSACTION when max_prepared_transactions
// is above 0.
// Role settings (default_transaction_read_only and the timeouts) are guardrails the role can
// change itself, not barriers: read_guardrails() reports them separately.
// This is the shared "what can this role write" reader: `roles check` uses it. The console and
// MCP startup guard (query/role_guard.hpp) asks another question, what escapes READ ONLY.
#pragma once

#include <string>
#include <vector>

#include "pg/connection.hpp"

namespace pgshift::access {

struct WritePath {
  std::string kind;       // attribute, membership, table, column, sequence, schema, database, tablespace,
                          // ownership, large-object, function, security-definer, foreign-server, foreign-table,
                          // dblink, parameter, default-privileges, availability, spec, probe
  std::string object;     // "table public.accounts", "role writer", "database app"
  std::string privilege;  // "UPDATE", "SUPERUSER", "EXECUTE", ... ("" when not a privilege)
  std::string grantee;    // who holds it: the role, PUBLIC, or a role it reaches
  std::string detail;     // one line for a human
  std::string fix;        // SQL that removes the path
};

struct Guardrail {
  std::string setting, value;
  std::string scope;  // "role", "role in database X", "database X"
  bool settable = true;  // the role can SET it itself (a user-context parameter); false: superuser-only
};

// Every write path of `role` in the connected database. Throws UsageError when the role does
// not exist. Works on PostgreSQL 13 to 17 (predefined roles and pg_parameter_acl where present).
std::vector<WritePath> find_write_paths(pg::Connection& conn, const std::string& role);

// The settings that apply to `role` when it connects to this database.
std::vector<Guardrail> read_guardrails(pg::Connection& conn, const std::string& role);

// The predefined roles whose membership is a write path (those the server has are checked).
const std::vector<std::pair<std::string, std::string>>& writer_predefined_roles();

}  // namespace pgshift::access
