// The startup guard of the read-only window (console, MCP): the --db role must not be able to
// step outside what READ ONLY and the gate stop. Inside BEGIN READ ONLY a superuser can still
// COPY ... TO PROGRAM and read server files; members of pg_write_server_files,
// pg_execute_server_program and pg_read_server_files reach the server's file system, and
// pg_signal_backend can cancel or terminate other sessions. Membership counts however it is
// granted (directly, through another role, with or without INHERIT: SET ROLE reaches it).
// Not access::writer_predefined_roles(): that lists what can write (READ ONLY contains
// pg_write_all_data, and pg_read_server_files writes nothing); this lists what escapes READ ONLY.
#pragma once

#include <string>
#include <vector>

#include "pg/connection.hpp"
#include "util/error.hpp"

namespace pgshift::query {

struct RoleCheck {
  std::string role;                       // current_user
  bool superuser = false;
  std::vector<std::string> memberships;   // of the dangerous predefined roles
  bool privileged() const { return superuser || !memberships.empty(); }
  std::string describe() const;           // "role app is a superuser and a member of pg_read_server_files"
};

RoleCheck inspect_role(pg::Connection& conn);

// The role is privileged and the override was not given. Exit code 2 (a configuration to fix).
class PrivilegedRole : public UsageError {
 public:
  using UsageError::UsageError;
};

// Throws PrivilegedRole naming the role, what makes it dangerous and the override flag, unless
// allow_privileged; then returns the warning to log on every request. Returns "" for a safe role.
std::string guard_role(pg::Connection& conn, bool allow_privileged);

}  // namespace pgshift::query
