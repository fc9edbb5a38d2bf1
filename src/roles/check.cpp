#include <fmt/format.h>

#include "pg/error.hpp"
#include "roles/roles.hpp"
#include "util/error.hpp"

namespace pgshift::roles {

bool RoleCheck::ok() const {
  if (!paths.empty()) return false;
  if (probe_required && !probed) return false;
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
    rc.probe_note = fmt::format("not probed, cannot log in as {}: {}", rc.role, e.what());
  }
}

// The differences between the file and the database for the file's read-only roles, by role.
std::map<std::string, std::vector<access::WritePath>> spec_differences(pg::Connection& conn, const access::RolesFile& file) {
  std::map<std::string, std::vector<access::WritePath>> out;
  bool any = false;
  for (const auto& r : file.roles) any |= r.read_only();
  if (!any) return out;
  access::RolesPlan p;
  try {
    p = plan(conn, file);
  } catch (const UsageError& e) {
    for (const auto& r : file.roles) {
      if (r.read_only()) out[r.name].push_back({"spec", "file " + file.path, "", r.name, e.what(), "fix roles.yaml"});
    }
    return out;
  }
  for (const auto& s : p.statements) {
    const access::RoleSpec* r = file.find(s.role);
    if (!r || !r->read_only()) continue;
    out[s.role].push_back({"spec", "role " + s.role, "", s.role, "differs from " + file.path + ": " + s.what, s.shown + ";"});
  }
  return out;
}

constexpr const char* kNotifyNote =
    "NOTIFY needs no privilege and cannot be revoked: a session that LISTENs and stops reading holds the "
    "notification queue; idle_in_transaction_session_timeout and the queue's size bound it";

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
  std::map<std::string, std::vector<access::WritePath>> differences = spec_differences(conn, file);
  for (const auto& name : names) {
    RoleCheck rc;
    rc.role = name;
    rc.probe_required = options.probe_enabled;
    rc.notes.push_back(kNotifyNote);
    try {
      rc.paths = access::find_write_paths(conn, name);
    } catch (const UsageError&) {
      rc.paths.push_back({"missing", "role " + name, "", name, "the role does not exist",
                          fmt::format("pgshift roles apply -f {}", file.path.empty() ? "roles.yaml" : file.path)});
      report.roles.push_back(std::move(rc));
      continue;
    }
    for (auto& d : differences[name]) rc.paths.push_back(std::move(d));
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
    else if (!info) rc.probe_note = "not probed: no password in the file and no --probe-url for this role (a check "
                                    "that did not run fails; --no-probe skips it)";
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
    for (const auto& g : r.guardrails) {
      guardrails.push_back({{"setting", g.setting}, {"value", g.value}, {"scope", g.scope}, {"settable_by_role", g.settable}});
    }
    nlohmann::json probes = nlohmann::json::array();
    for (const auto& p : r.probes) {
      probes.push_back({{"kind", p.kind}, {"object", p.object}, {"sql", p.sql}, {"refused", p.refused},
                        {"sqlstate", p.sqlstate}, {"message", p.message}});
    }
    roles.push_back({{"role", r.role}, {"ok", r.ok()}, {"paths", paths}, {"guardrails", guardrails},
                     {"probed", r.probed}, {"probe_required", r.probe_required}, {"probe", r.probe_note},
                     {"probes", probes}, {"notes", r.notes}});
  }
  return {{"ok", report.ok()}, {"roles", roles}};
}

std::string render_check(const CheckReport& report) {
  std::string out;
  for (const auto& r : report.roles) {
    int succeeded = 0;
    for (const auto& p : r.probes) succeeded += !p.refused;
    size_t total = r.paths.size() + static_cast<size_t>(succeeded) + (r.probe_required && !r.probed);
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
    std::string settable, enforced;
    for (const auto& g : r.guardrails) {
      std::string& list = g.settable ? settable : enforced;
      list += fmt::format("{}{}={} ({})", list.empty() ? "" : ", ", g.setting, g.value, g.scope);
    }
    if (!settable.empty()) out += "  guardrails, not barriers (the role can SET them itself): " + settable + "\n";
    if (!enforced.empty()) out += "  enforced (superuser-only parameters the role cannot SET): " + enforced + "\n";
    out += "  probe: " + r.probe_note + "\n";
    for (const auto& n : r.notes) out += "  note: " + n + "\n";
  }
  out += report.ok() ? "check passed: no read-only role has a write path\n"
                     : "check failed: write paths, differences from the file, or a probe that did not run\n";
  return out;
}

}  // namespace pgshift::roles
