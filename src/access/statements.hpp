// The one generator of role SQL: from a roles.yaml and what a database holds (CatalogState), the
// statements that make the database match the file. `roles plan` prints them, `roles apply` runs
// them in one transaction, and `cnpg render` puts those of a bootstrap state into the Cluster's
// postInitApplicationSQL. Nothing is generated for what already matches, so planning against the
// state an apply produced yields no statement. A role that is not declared is never touched
// (beyond PUBLIC's grants when the file's `public` block asks); `ensure: absent` drops only a role
// that owns nothing, otherwise the role's plan is "refused" with the objects it owns.
#pragma once

#include <string>
#include <vector>

#include "access/spec.hpp"
#include "access/state.hpp"

namespace pgshift::access {

enum class StatementKind { create_role, alter_role, password, comment, membership, public_grant, grant, revoke,
                           default_privileges, setting, drop };
std::string statement_kind_name(StatementKind kind);

struct Statement {
  std::string role;  // the declared role it is about; "PUBLIC" for the public block
  StatementKind kind = StatementKind::grant;
  std::string sql;    // to run; may hold a password: never print it
  std::string shown;  // what to print: the password replaced by ****
  std::string what;   // the difference it removes, naming the setting or attribute (no password)
};

struct RolePlan {
  std::string name;
  std::string action;  // create, alter, drop, unchanged, refused, absent (declared absent, not there)
  std::vector<std::string> owned;  // refused: what it owns
  int statements = 0;
};

struct RolesPlan {
  std::vector<Statement> statements;
  std::vector<RolePlan> roles;
  std::vector<std::string> warnings;  // e.g. a read pattern that matches nothing
  bool refused() const;
};

// Throws UsageError when the file names a role that neither exists nor is declared (inRoles,
// defaultPrivilegesFor, grantTo), unless state.bootstrap (then it is a warning).
RolesPlan plan_statements(const RolesFile& file, const CatalogState& state);

// Whether `password` matches a stored verifier (SCRAM-SHA-256 or md5) of role `user`.
bool password_matches(const std::string& verifier, const std::string& user, const std::string& password);

}  // namespace pgshift::access
