// Refusing a --db role that READ ONLY cannot contain; see query/role_guard.hpp.
#include "query/role_guard.hpp"

#include <fmt/format.h>

namespace pgshift::query {
namespace {

// pg_has_role(..., 'MEMBER') is true for any membership path, and for every role when the user
// is a superuser (reported as superuser, not as memberships).
constexpr std::string_view kRole = R"sql(
SELECT r.rolname, r.rolsuper,
       CASE WHEN r.rolsuper THEN '' ELSE coalesce((
         SELECT string_agg(p.rolname, ',' ORDER BY p.rolname)
         FROM pg_roles p
         WHERE p.rolname IN ('pg_write_server_files', 'pg_execute_server_program', 'pg_read_server_files',
                             'pg_signal_backend')
           AND pg_has_role(r.oid, p.oid, 'MEMBER')), '') END
FROM pg_roles r
WHERE r.rolname = current_user
)sql";

}  // namespace

std::string RoleCheck::describe() const {
  std::string what;
  if (superuser) what = "a superuser";
  if (!memberships.empty()) {
    std::string list;
    for (const auto& m : memberships) list += (list.empty() ? "" : ", ") + m;
    what += (what.empty() ? "" : " and ") + std::string("a member of ") + list;
  }
  return fmt::format("role {} is {}", role, what.empty() ? "not privileged" : what);
}

RoleCheck inspect_role(pg::Connection& conn) {
  pg::Result r = conn.exec(kRole);
  RoleCheck out;
  if (r.rows() == 0) return out;
  out.role = r.view(0, 0);
  out.superuser = r.view(0, 1) == "t";
  std::string list(r.view(0, 2));
  for (size_t start = 0; start < list.size();) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    out.memberships.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::string guard_role(pg::Connection& conn, bool allow_privileged) {
  RoleCheck check = inspect_role(conn);
  if (!check.privileged()) return "";
  if (!allow_privileged) {
    throw PrivilegedRole(fmt::format("{} ({}): READ ONLY cannot stop it reading server files, running programs or "
                                     "signalling sessions; connect as a read-only role (pg_monitor + SELECT), or "
                                     "pass --allow-privileged-role",
                                     check.describe(), conn.endpoint()));
  }
  return fmt::format("running as a privileged database role ({}; --allow-privileged-role)", check.describe());
}

}  // namespace pgshift::query
