// What a database holds that a roles.yaml declares: the declared roles' attributes, direct
// memberships and role-wide settings; the direct grants of the declared roles and of PUBLIC on
// schemas, tables, sequences, columns, the database, the functions of the PUBLIC grant kinds and
// the SECURITY DEFINER routines of user schemas; the default
// privileges granting to them; and the relations the read patterns can match. read_state() reads
// it from a live database; bootstrap_state() is what a freshly initialised database of a major
// version holds (for `cnpg render`, whose SQL runs at bootstrap).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "access/spec.hpp"
#include "pg/connection.hpp"

namespace pgshift::access {

struct RoleState {
  bool superuser = false, inherit = true, createrole = false, createdb = false, login = false;
  bool replication = false, bypassrls = false;
  long long connection_limit = -1;
  std::optional<std::string> valid_until_epoch;  // nullopt: no expiry
  std::optional<std::string> password;  // stored verifier (needs superuser to read); nullopt: none
  bool password_readable = false;       // whether `password` is known
  std::string comment;
  std::set<std::string> member_of;                  // direct memberships
  std::map<std::string, std::string> settings;      // ALTER ROLE ... SET, all databases
  std::vector<std::string> owned;                   // objects it owns (described), any database
};

struct Relation {
  std::string schema, name;
  char kind = 'r';  // pg_class.relkind: r p v m f S
};

// One privilege granted directly. kind: schema, table, sequence, column, database, function.
struct Grant {
  std::string kind, schema, name, column, privilege, grantee;  // grantee "PUBLIC" for PUBLIC
  auto operator<=>(const Grant&) const = default;
};

// One entry of pg_default_acl granting to a declared role. objtype: r S f T n.
struct DefaultGrant {
  std::string owner, schema;  // schema "" for the owner's global default
  char objtype = 'r';
  std::string privilege, grantee;
  auto operator<=>(const DefaultGrant&) const = default;
};

struct CatalogState {
  std::string database;
  int server_version = 150000;
  std::set<std::string> existing_roles;      // every role name on the server
  std::map<std::string, RoleState> roles;    // declared roles that exist
  std::set<std::string> schemas;             // user schemas
  std::vector<Relation> relations;           // user relations (r p v m f S)
  std::set<Grant> grants;
  std::set<DefaultGrant> default_grants;
  // The pg_catalog functions of the PUBLIC grant kinds present: name -> identity signatures, e.g.
  // "lo_put(oid,bigint,bytea)".
  std::map<std::string, std::vector<std::string>> catalog_functions;
  // SECURITY DEFINER routines in user schemas that can be called (not trigger functions):
  // (schema, "name"(args) quoted for GRANT ... ON ROUTINE) -> owner. Their EXECUTE grants to
  // PUBLIC and to the file's roles are in `grants` with kind "function" and that schema.
  std::map<std::pair<std::string, std::string>, std::string> definers;
  // validUntil values of the file as the server reads them: text -> epoch seconds.
  std::map<std::string, std::string> valid_until_epochs;
  bool bootstrap = false;  // from bootstrap_state(): nothing exists yet
};

// Reads the state that `file` declares from the connected database (one REPEATABLE READ snapshot).
CatalogState read_state(pg::Connection& conn, const RolesFile& file);

// A fresh database of major version `major` (e.g. 15) owned by `owner`, as CloudNativePG's initdb
// bootstrap leaves it before postInitApplicationSQL: `owner` exists (LOGIN, nothing else), no
// other role of a roles file does, and there is only the public schema.
CatalogState bootstrap_state(int major, const std::string& database, const std::string& owner);

}  // namespace pgshift::access
