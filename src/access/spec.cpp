#include "access/spec.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "state/plan.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"
#include "util/strict_yaml.hpp"

namespace pgshift::access {
namespace {

using Reader = util::StrictYaml;

constexpr PublicGrant kPublicGrants[] = {PublicGrant::temp,           PublicGrant::large_object_writes,
                                         PublicGrant::create_on_public, PublicGrant::advisory_locks,
                                         PublicGrant::logical_messages, PublicGrant::notify};

void check_role_name(const Reader& r, const YAML::Node& node, const std::string& name) {
  if (name.empty() || name.size() > 63) r.fail(node, fmt::format("role name '{}' must be 1 to 63 bytes", name));
}

void check_setting_name(const Reader& r, const YAML::Node& node, const std::string& name) {
  bool ok = !name.empty();
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.');
  if (!ok) r.fail(node, fmt::format("setting '{}' is not a parameter name", name));
}

AccessSpec parse_access(const Reader& r, const YAML::Node& node) {
  r.only_keys(node, {"read", "write", "defaultPrivilegesFor", "settings"}, "access");
  AccessSpec a;
  for (auto [key, into] : {std::pair{"read", &a.read}, {"write", &a.write}}) {
    if (!node[key]) continue;
    *into = r.list(node[key], key);
    for (const auto& pattern : *into) {
      if (pattern.empty() || pattern.find('.') != pattern.rfind('.')) {
        r.fail(node[key], fmt::format("{} pattern '{}' must be schema or schema.table", key, pattern));
      }
    }
  }
  if (node["defaultPrivilegesFor"]) a.default_privileges_for = r.list(node["defaultPrivilegesFor"], "defaultPrivilegesFor");
  if (const YAML::Node s = node["settings"]) {
    a.settings = r.string_map(s, "settings");
    for (const auto& kv : s) check_setting_name(r, kv.first, kv.first.as<std::string>());
  }
  return a;
}

RoleSpec parse_role(const Reader& r, const YAML::Node& node, Passwords passwords) {
  r.only_keys(node,
              {"name", "comment", "ensure", "login", "inherit", "connectionLimit", "validUntil", "inRoles",
               "superuser", "createdb", "createrole", "replication", "bypassrls", "passwordSecret",
               "disablePassword", "password", "access"},
              "a role");
  RoleSpec role;
  role.line = node.Mark().line + 1;
  if (!node["name"]) r.fail(node, "a role needs a 'name'");
  role.name = r.text(node["name"], "name");
  check_role_name(r, node["name"], role.name);
  r.optional(node, "comment", role.comment);
  if (const YAML::Node e = node["ensure"]) {
    std::string ensure = r.text(e, "ensure");
    if (ensure != "present" && ensure != "absent") r.fail(e, "'ensure' must be present or absent");
    role.present = ensure == "present";
  }
  for (auto [key, into] : {std::pair{"login", &role.login}, {"inherit", &role.inherit}, {"superuser", &role.superuser},
                           {"createdb", &role.createdb}, {"createrole", &role.createrole},
                           {"replication", &role.replication}, {"bypassrls", &role.bypassrls},
                           {"disablePassword", &role.disable_password}}) {
    r.optional(node, key, *into);
  }
  if (node["connectionLimit"]) {
    role.connection_limit = r.integer(node["connectionLimit"], "connectionLimit");
    if (role.connection_limit < -1) r.fail(node["connectionLimit"], "'connectionLimit' must be -1 or more");
  }
  r.optional(node, "validUntil", role.valid_until);
  if (node["inRoles"]) role.in_roles = r.list(node["inRoles"], "inRoles");
  if (const YAML::Node ps = node["passwordSecret"]) {
    r.only_keys(ps, {"name"}, "passwordSecret");
    if (!ps["name"]) r.fail(ps, "'passwordSecret' needs a 'name'");
    role.password_secret = r.text(ps["name"], "passwordSecret.name");
  }
  role.password_declared = node["password"].IsDefined();
  if (const YAML::Node pw = node["password"]; pw && passwords == Passwords::expand) {
    std::string value = state::expand_env(r.text(pw, "password"), r.at(pw) + ": password");
    util::register_secret(value);
    role.password = value;
  }
  if (role.disable_password && (role.password_declared || !role.password_secret.empty())) {
    r.fail(node, fmt::format("role '{}' both sets and disables a password", role.name));
  }
  if (const YAML::Node a = node["access"]) role.access = parse_access(r, a);
  return role;
}

PublicSpec parse_public(const Reader& r, const YAML::Node& node) {
  r.only_keys(node, {"revoke", "grantTo"}, "public");
  PublicSpec p;
  if (node["revoke"]) {
    if (!node["revoke"].IsSequence()) r.fail(node["revoke"], "'revoke' must be a list");
    for (const auto& item : node["revoke"]) {
      std::string name = r.text(item, "revoke");
      std::string known;
      bool found = false;
      for (PublicGrant g : kPublicGrants) {
        known += (known.empty() ? "" : ", ") + public_grant_name(g);
        if (public_grant_name(g) == name) {
          p.revoke.push_back(g);
          found = true;
        }
      }
      if (!found) r.fail(item, fmt::format("unknown PUBLIC grant '{}' (known: {})", name, known));
    }
  }
  if (node["grantTo"]) p.grant_to = r.list(node["grantTo"], "grantTo");
  return p;
}

}  // namespace

std::string public_grant_name(PublicGrant g) {
  switch (g) {
    case PublicGrant::temp: return "temp";
    case PublicGrant::large_object_writes: return "large-object-writes";
    case PublicGrant::create_on_public: return "create-on-public";
    case PublicGrant::advisory_locks: return "advisory-locks";
    case PublicGrant::logical_messages: return "logical-messages";
    case PublicGrant::notify: return "notify";
  }
  return "?";
}

const RoleSpec* RolesFile::find(const std::string& name) const {
  for (const auto& r : roles) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

RolesFile parse_roles_yaml(const std::string& text, const std::string& path, Passwords passwords) {
  Reader r(path);
  YAML::Node root = r.parse(text);
  RolesFile file;
  file.path = path;
  if (root.IsNull()) return file;
  r.only_keys(root, {"roles", "public"}, "the roles file");
  if (const YAML::Node roles = root["roles"]) {
    if (!roles.IsSequence()) r.fail(roles, "'roles' must be a list");
    std::set<std::string> seen;
    for (const auto& node : roles) {
      RoleSpec role = parse_role(r, node, passwords);
      if (!seen.insert(role.name).second) r.fail(node, fmt::format("role '{}' is declared twice", role.name));
      file.roles.push_back(std::move(role));
    }
  }
  if (const YAML::Node p = root["public"]) file.public_grants = parse_public(r, p);
  return file;
}

RolesFile load_roles_file(const std::string& path, Passwords passwords) {
  return parse_roles_yaml(util::read_text_file(path, "-f"), path, passwords);
}

const std::vector<std::string>& public_grant_functions(PublicGrant g) {
  static const std::vector<std::string> none;
  static const std::vector<std::string> large_objects = {"lo_from_bytea", "lo_put",    "lo_import", "lo_export",
                                                         "lo_create",     "lo_creat",  "lo_unlink", "lowrite",
                                                         "lo_truncate",   "lo_truncate64"};
  static const std::vector<std::string> advisory = {"pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock",
                                                    "pg_try_advisory_lock_shared"};
  static const std::vector<std::string> messages = {"pg_logical_emit_message"};
  static const std::vector<std::string> notify = {"pg_notify"};
  switch (g) {
    case PublicGrant::large_object_writes: return large_objects;
    case PublicGrant::advisory_locks: return advisory;
    case PublicGrant::logical_messages: return messages;
    case PublicGrant::notify: return notify;
    default: return none;
  }
}

const std::vector<std::string>& public_grant_all_functions() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> out;
    for (PublicGrant g : kPublicGrants) {
      for (const auto& f : public_grant_functions(g)) out.push_back(f);
    }
    return out;
  }();
  return all;
}

}  // namespace pgshift::access
