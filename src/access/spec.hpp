// The declared roles of a roles.yaml file: CloudNativePG's managed.roles[] shape (name, comment,
// ensure, login, inherit, connectionLimit, validUntil, inRoles, superuser, createdb, createrole,
// replication, bypassrls, passwordSecret, disablePassword) plus pgshift's `password` (for
// `roles apply`, ${VAR} expanded) and `access` block (read patterns, default privileges,
// settings), and the top-level `public` block (which PUBLIC grants to revoke, and which roles keep
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
  std::vector<std::string> default_privileges_for;  // owners whose future tables it may SELECT
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
  std::string password_secret;          // CNPG: passwordSecret.name
  bool disable_password = false;
  std::optional<AccessSpec> access;     // present: the role is read-only and checked

  bool read_only() const { return present && access.has_value(); }
};

// The PUBLIC grants pgshift knows how to take away from every role.
enum class PublicGrant { temp, large_object_writes, create_on_public };
std::string public_grant_name(PublicGrant g);  // "temp", "large-object-writes", "create-on-public"

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

// Reads and validates a roles.yaml. Throws UsageError (file:line: what).
RolesFile load_roles_file(const std::string& path);
// The same from text (path is only used in messages).
RolesFile parse_roles_yaml(const std::string& text, const std::string& path);

// The large-object functions that write (create, change, delete a large object or a server
// file), by name: what `public: revoke: [large-object-writes]` revokes and `roles check` flags.
const std::vector<std::string>& large_object_write_functions();

}  // namespace pgshift::access
