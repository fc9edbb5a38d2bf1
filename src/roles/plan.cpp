#include <fmt/format.h>

#include "access/state.hpp"
#include "pg/error.hpp"
#include "pg/transaction.hpp"
#include "roles/roles.hpp"
#include "util/error.hpp"

namespace pgshift::roles {

access::RolesPlan plan(pg::Connection& conn, const access::RolesFile& file) {
  return access::plan_statements(file, access::read_state(conn, file));
}

access::RolesPlan apply(pg::Connection& conn, const access::RolesFile& file) {
  access::RolesPlan p = plan(conn, file);
  if (p.refused()) {
    std::string what;
    for (const auto& r : p.roles) {
      if (r.action != "refused") continue;
      std::string owned;
      for (size_t i = 0; i < r.owned.size() && i < 10; ++i) owned += (i ? ", " : "") + r.owned[i];
      if (r.owned.size() > 10) owned += fmt::format(" (+{} more)", r.owned.size() - 10);
      what += fmt::format("{}role {} owns {}", what.empty() ? "" : "; ", r.name, owned);
    }
    throw ProblemsFound(fmt::format("roles apply refused, nothing changed: ensure: absent would drop a role that owns "
                                    "objects ({}); reassign them (REASSIGN OWNED BY ... TO ...) first",
                                    what));
  }
  if (p.statements.empty()) return p;
  pg::Transaction tx(conn);
  for (const auto& s : p.statements) {
    try {
      conn.exec(s.sql);
    } catch (const pg::SqlError& e) {
      throw RuntimeError(fmt::format("roles apply: {} failed: {} (SQLSTATE {}); nothing changed", s.shown,
                                     e.server_message(), e.sqlstate()));
    }
  }
  tx.commit();
  return p;
}

nlohmann::json plan_to_json(const access::RolesPlan& p) {
  nlohmann::json statements = nlohmann::json::array();
  for (const auto& s : p.statements) statements.push_back(s.shown);
  nlohmann::json roles = nlohmann::json::array();
  for (const auto& r : p.roles) {
    nlohmann::json j = {{"name", r.name}, {"action", r.action}, {"statements", r.statements}};
    if (!r.owned.empty()) j["owned"] = r.owned;
    roles.push_back(j);
  }
  return {{"statements", statements}, {"roles", roles}, {"warnings", p.warnings}};
}

std::string render_plan(const access::RolesPlan& p, bool applied) {
  std::string out;
  for (const auto& w : p.warnings) out += "-- warning: " + w + "\n";
  for (const auto& r : p.roles) {
    if (r.action == "refused") {
      out += fmt::format("-- role {}: refused: ensure: absent, but it owns:\n", r.name);
      for (const auto& o : r.owned) out += "--   " + o + "\n";
    }
  }
  for (const auto& s : p.statements) out += s.shown + ";\n";
  std::string summary;
  for (const auto& r : p.roles) summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", r.name, r.action);
  if (p.statements.empty()) {
    out += fmt::format("-- nothing to do: the database matches the file{}\n", summary.empty() ? "" : " (" + summary + ")");
  } else {
    out += fmt::format("-- {} statement(s) {} ({})\n", p.statements.size(), applied ? "applied in one transaction" : "planned",
                       summary);
  }
  return out;
}

}  // namespace pgshift::roles
