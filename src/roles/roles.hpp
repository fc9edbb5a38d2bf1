// `pgshift roles plan|apply|check`: declarative roles from a roles.yaml (access::RolesFile).
//   plan   the statements apply would run (access::plan_statements against the live database)
//   apply  runs them in one transaction; refuses (nothing runs) when a role to drop owns objects
//   check  proves each read-only role (declared with an `access` block, or named) has no write
//          path: the catalog's paths (access::find_write_paths), its guardrail settings, and a
//          live probe as the role that tries every kind of write the catalog found no privilege
//          for, each inside a transaction that is rolled back.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "access/spec.hpp"
#include "access/statements.hpp"
#include "access/write_paths.hpp"
#include "pg/connection.hpp"

namespace pgshift::roles {

access::RolesPlan plan(pg::Connection& conn, const access::RolesFile& file);

// Plans and runs the plan in one transaction; returns what ran. Throws ProblemsFound (nothing
// ran) when the plan refuses a drop.
access::RolesPlan apply(pg::Connection& conn, const access::RolesFile& file);

nlohmann::json plan_to_json(const access::RolesPlan& plan);
std::string render_plan(const access::RolesPlan& plan, bool applied);

// One write the probe tried as the role.
struct ProbeAttempt {
  std::string kind;     // temp, create-schema, create-table, insert, update, delete, truncate, large-object, sequence
  std::string object;
  std::string sql;
  bool refused = false;  // failed with insufficient_privilege (42501)
  std::string sqlstate;  // "" when it ran
  std::string message;
};

// A role passes when it has no path (write, availability, or a difference from roles.yaml: kind
// "spec"), every probe was refused, and the probe ran unless it was turned off (--no-probe): a
// proof that did not run is not a pass.
struct RoleCheck {
  std::string role;
  std::vector<access::WritePath> paths;
  std::vector<access::Guardrail> guardrails;
  bool probe_required = false;
  bool probed = false;
  std::string probe_note;  // why it was not probed, or what it did
  std::vector<ProbeAttempt> probes;
  std::vector<std::string> notes;  // what cannot be revoked and is bounded otherwise (NOTIFY)
  bool ok() const;
};

struct CheckReport {
  std::vector<RoleCheck> roles;
  bool ok() const;
};

struct CheckOptions {
  std::vector<std::string> extra_roles;         // --role
  std::map<std::string, pg::ConnInfo> probe;    // role -> how to connect as it (--probe-url)
  bool probe_enabled = true;
};

// The roles it checks: the file's read-only roles, then extra_roles. For the file's roles, every
// statement `roles plan` has for the role (a setting the role reset or changed, its password,
// attributes, memberships, grants) is a "spec" path naming the difference. Probes a role when
// its password is in the file or options.probe has a URL for it (connecting like `db`, as the
// role); when probing is on and it cannot, the role fails.
CheckReport check(pg::Connection& conn, const pg::ConnInfo& db, const access::RolesFile& file,
                  const CheckOptions& options);

// The probe alone, on a connection opened as the role; skips kinds in `known` (the catalog's paths).
std::vector<ProbeAttempt> probe_writes(pg::Connection& as_role, const std::vector<access::WritePath>& known);

nlohmann::json check_to_json(const CheckReport& report);
std::string render_check(const CheckReport& report);

}  // namespace pgshift::roles
