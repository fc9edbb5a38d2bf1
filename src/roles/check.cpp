#include <fmt/format.h>

#include "pg/error.hpp"
#include "roles/roles.hpp"
#include "util/error.hpp"

namespace pgshift::roles {

bool RoleCheck::ok() const {
  if (!paths.empty()) return false;
  for (const auto& p : probes) {
    if (!p.refused) return false;
  }
  return true;
}

bool CheckReport::ok() const {
  for (const auto& r : roles) {
    if (!r.ok()) return false;
  }
  return true;
}

namespace {

void run_probe(RoleCheck& rc, const pg::ConnInfo& info) {
  pg::ConnectOptions options = pg::default_connect_options();
  options.application_name = "pgshift/roles-check-probe";
  options.role = "probe " + rc.role;
  try {
    pg::Connection as_role = pg::Connection::open(info, options);
    rc.probes = probe_writes(as_role, rc.paths);
    rc.probed = true;
    int refused = 0;
    for (const auto& p : rc.probes) refused += p.refused;
    rc.probe_note = fmt::format("{} write(s) tried as {} after SET default_transaction_read_only = off, {} refused, "
                                "every one rolled back",
                                rc.probes.size(), rc.role, refused);
  } catch (const pg::ConnectError& e) {
    rc.probe_note = fmt::format("not probed: {}", e.what());
  }
}

}  // namespace

CheckReport check(pg::Connection& conn, const pg::ConnInfo& db, const access::RolesFile& file, const CheckOptions& options) {
  std::vector<std::string> names;
  for (const auto& r : file.roles) {
    if (r.read_only()) names.push_back(r.name);
  }
  for (const auto& r : options.extra_roles) {
    if (std::find(names.begin(), names.end(), r) == names.end()) names.push_back(r);
  }
  if (names.empty()) throw UsageError("roles check: no read-only role to check (declare one with an access block, or --role NAME)");
  CheckReport report;
  for (const auto& name : names) {
    RoleCheck rc;
    rc.role = name;
    try {
      rc.paths = access::find_write_paths(conn, name);
    } catch (const UsageError&) {
      rc.paths.push_back({"missing", "role " + name, "", name, "the role does not exist",
                          fmt::format("pgshift roles apply -f {}", file.path.empty() ? "roles.yaml" : file.path)});
      report.roles.push_back(std::move(rc));
      continue;
    }
    rc.guardrails = access::read_guardrails(conn, name);
    std::optional<pg::ConnInfo> info;
    if (auto it = options.probe.find(name); it != options.probe.end()) {
      info = it->second;
    } else if (const access::RoleSpec* spec = file.find(name); spec && spec->password) {
      info = db;
      info->set("user", name);
      info->set("password", *spec->password);
    }
    if (!options.probe_enabled) rc.probe_note = "not probed (--no-probe)";
    else if (!info) rc.probe_note = "not probed: no password in the file and no --probe-url for this role";
    else run_probe(rc, *info);
    report.roles.push_back(std::move(rc));
  }
  return report;
}

nlohmann::json check_to_json(const CheckReport& report) {
  nlohmann::json roles = nlohmann::json::array();
  for (const auto& r : report.roles) {
    nlohmann::json paths = nlohmann::json::array();
    for (const auto& p : r.paths) {
      paths.push_back({{"kind", p.kind}, {"object", p.object}, {"privilege", p.privilege}, {"grantee", p.grantee},
                       {"detail", p.detail}, {"fix", p.fix}});
    }
    nlohmann::json guardrails = nlohmann::json::array();
    for (const auto& g : r.guardrails) guardrails.push_back({{"setting", g.setting}, {"value", g.value}, {"scope", g.scope}});
    nlohmann::json probes = nlohmann::json::array();
    for (const auto& p : r.probes) {
      probes.push_back({{"kind", p.kind}, {"object", p.object}, {"sql", p.sql}, {"refused", p.refused},
                        {"sqlstate", p.sqlstate}, {"message", p.message}});
    }
    roles.push_back({{"role", r.role}, {"ok", r.ok()}, {"paths", paths}, {"guardrails", guardrails},
                     {"probed", r.probed}, {"probe", r.probe_note}, {"probes", probes}});
  }
  return {{"ok", report.ok()}, {"roles", roles}};
}

std::string render_check(const CheckReport& report) {
  std::string out;
  for (const auto& r : report.roles) {
    int succeeded = 0;
    for (const auto& p : r.probes) succeeded += !p.refused;
    size_t total = r.paths.size() + static_cast<size_t>(succeeded);
    out += total ? fmt::format("{}: {} write path(s)\n", r.role, total) : fmt::format("{}: no write path\n", r.role);
    for (const auto& p : r.paths) {
      out += fmt::format("  {} [{}]: {}\n    fix: {}\n", p.object, p.kind, p.detail, p.fix);
    }
    for (const auto& p : r.probes) {
      if (p.refused) continue;
      out += fmt::format("  {} [probe {}]: {}\n    ran: {}\n", p.object, p.kind,
                         p.sqlstate.empty() ? "succeeded as the role (rolled back)"
                                            : fmt::format("passed the privilege check ({}: {})", p.sqlstate, p.message),
                         p.sql);
    }
    if (!r.guardrails.empty()) {
      std::string list;
      for (const auto& g : r.guardrails) list += fmt::format("{}{}={} ({})", list.empty() ? "" : ", ", g.setting, g.value, g.scope);
      out += "  guardrails, not barriers (the role can SET them itself): " + list + "\n";
    }
    out += "  probe: " + r.probe_note + "\n";
  }
  out += report.ok() ? "check passed: no read-only role has a write path\n" : "check failed: write paths found\n";
  return out;
}

}  // namespace pgshift::roles
