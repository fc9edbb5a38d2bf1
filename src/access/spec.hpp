// The declared roles of a roles.yaml file: CloudNativePG's managed.roles[] shape (name, comment,
// ensure, login, inherit, connectionLimit, validUntil, inRoles, superuser, createdb, createrole,
// replication, bypassrls, passwordSecret, disablePassword) plus pgshift's `password` (for
// `roles apply`, ${VAR} expanded) and `access` block (read and write patterns, default
// privileges, settings), and the top-level `public` block (which PUBLIC grants to revoke, and which roles keep
// them by explicit grant). Parsing is strict: an unknown key is a UsageError naming the key and
// its line. Passwords are registered for redaction as they are read.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pgshift::access {

struct AccessSpec {
  std::vector<std::string> read;                  // "schema", "schema.*", "schema.table" (* wildcard)
  // Tables it may also INSERT, UPDATE and DELETE (and sequences it may use), same patterns: a
  // role with a write list (a processor) is not read-only and `roles check` does not prove it.
  std::vector<std::string> write;
  std::vector<std::string> default_privileges_for;  // owners whose future tables (and sequences) it gets too
  std::optional<std::map<std::string, std::string>> settings;  // nullopt: not managed
};

struct RoleSpec {
  std::string name;
  int line = 0;  // where it is declared, for messages
  std::string comment;
  bool present = true;  // ensure: present (default) | absent
  bool login = false;
  bool inherit = true;
  long long connection_limit = -1;
  std::string valid_until;  // "" = none (infinity)
  std::vector<std::string> in_roles;
  bool superuser = false;
  bool createdb = false;
  bool createrole = false;
  bool replication = false;
  bool bypassrls = false;
  std::optional<std::string> password;  // pgshift: the clear-text password (expanded)
  bool password_declared = false;       // the file has `password` (expanded or not, see Passwords)
  std::string password_secret;          // CNPG: passwordSecret.name
  bool disable_password = false;
  std::optional<AccessSpec> access;     // present: the role is read-only and checked

  bool read_only() const { return present && access.has_value() && access->write.empty(); }
  // May write: declared present without an access block, or with a write list.
  bool writer() const { return present && !read_only(); }
};

// The PUBLIC grants pgshift knows how to take away from every role. Besides write paths, three
// are availability paths a read-only role holds through PUBLIC: session advisory locks (held
// while idle, outside any transaction), pg_logical_emit_message (writes WAL even in a read-only
// transaction) and pg_notify.
enum class PublicGrant { temp, large_object_writes, create_on_public, advisory_locks, logical_messages, notify };
// "temp", "large-object-writes", "create-on-public", "advisory-locks", "logical-messages", "notify"
std::string public_grant_name(PublicGrant g);

struct PublicSpec {
  std::vector<PublicGrant> revoke;
  std::vector<std::string> grant_to;  // roles that keep them by explicit grant
};

struct RolesFile {
  std::string path;
  std::vector<RoleSpec> roles;
  PublicSpec public_grants;

  const RoleSpec* find(const std::string& name) const;
};

// Whether `password` values are read: expand (roles plan/apply/check: ${VAR} must be set) or
// ignore (cnpg render: CloudNativePG sets passwords from passwordSecret, so no variable is
// needed and `password` stays nullopt, with password_declared telling it was there).
enum class Passwords { expand, ignore };

// Reads and validates a roles.yaml. Throws UsageError (file:line: what).
RolesFile load_roles_file(const std::string& path, Passwords passwords = Passwords::expand);
// The same from text (path is only used in messages).
RolesFile parse_roles_yaml(const std::string& text, const std::string& path, Passwords passwords = Passwords::expand);

// The pg_catalog functions, by name, that a PUBLIC grant kind revokes EXECUTE on (none for temp
// and create-on-public). large-object-writes: the functions that create, change or delete a large
// object or a server file; advisory-locks: the session-level advisory-lock functions (the
// transaction-level ones end with the transaction); logical-messages: pg_logical_emit_message;
// notify: pg_notify (the NOTIFY statement itself needs no privilege).
const std::vector<std::string>& public_grant_functions(PublicGrant g);
// Every function name of every kind above.
const std::vector<std::string>& public_grant_all_functions();

}  // namespace pgshift::access
