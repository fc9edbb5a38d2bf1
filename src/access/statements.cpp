#include "access/statements.hpp"

#include <fmt/format.h>

#include <fnmatch.h>

#include <set>

#include "pg/quote.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"

namespace pgshift::access {
namespace {

using pg::quote_ident;
using pg::quote_literal;

std::string q(const std::string& role) { return role == "PUBLIC" ? "PUBLIC" : quote_ident(role); }

// The statements of one plan, in the order they must run: roles exist before they are granted
// to, grants come before default privileges, drops come last.
struct Phases {
  std::vector<Statement> roles, memberships, passwords, comments, publics, grants, revokes, defaults, settings, drops;

  void add(std::vector<Statement>& into, const std::string& role, StatementKind kind, std::string sql,
           std::string shown = {}, std::string what = {}) {
    if (shown.empty()) shown = sql;
    if (what.empty()) what = shown;
    into.push_back({role, kind, std::move(sql), std::move(shown), std::move(what)});
  }
};

std::string attributes(const RoleSpec& r) {
  return fmt::format("{} {} {} {} {} {} {} CONNECTION LIMIT {}", r.login ? "LOGIN" : "NOLOGIN",
                     r.superuser ? "SUPERUSER" : "NOSUPERUSER", r.inherit ? "INHERIT" : "NOINHERIT",
                     r.createdb ? "CREATEDB" : "NOCREATEDB", r.createrole ? "CREATEROLE" : "NOCREATEROLE",
                     r.replication ? "REPLICATION" : "NOREPLICATION", r.bypassrls ? "BYPASSRLS" : "NOBYPASSRLS",
                     r.connection_limit);
}

std::string changed_attributes(const RoleSpec& r, const RoleState& s, const CatalogState& st) {
  std::string out;
  auto flag = [&](bool want, bool have, const char* yes, const char* no) {
    if (want != have) out += std::string(" ") + (want ? yes : no);
  };
  flag(r.login, s.login, "LOGIN", "NOLOGIN");
  flag(r.superuser, s.superuser, "SUPERUSER", "NOSUPERUSER");
  flag(r.inherit, s.inherit, "INHERIT", "NOINHERIT");
  flag(r.createdb, s.createdb, "CREATEDB", "NOCREATEDB");
  flag(r.createrole, s.createrole, "CREATEROLE", "NOCREATEROLE");
  flag(r.replication, s.replication, "REPLICATION", "NOREPLICATION");
  flag(r.bypassrls, s.bypassrls, "BYPASSRLS", "NOBYPASSRLS");
  if (r.connection_limit != s.connection_limit) out += fmt::format(" CONNECTION LIMIT {}", r.connection_limit);
  if (r.valid_until.empty() && s.valid_until_epoch) out += " VALID UNTIL 'infinity'";
  if (!r.valid_until.empty()) {
    auto it = st.valid_until_epochs.find(r.valid_until);
    if (!s.valid_until_epoch || it == st.valid_until_epochs.end() || it->second != *s.valid_until_epoch) {
      out += " VALID UNTIL " + quote_literal(r.valid_until);
    }
  }
  return out;
}

bool matches(const std::string& pattern, const std::string& text) {
  return fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

struct ReadTarget {
  std::string schema;
  std::string table;  // "" or "*": the whole schema
  bool whole_schema() const { return table.empty() || table == "*"; }
};

ReadTarget split_pattern(const std::string& pattern) {
  size_t dot = pattern.find('.');
  if (dot == std::string::npos) return {pattern, ""};
  return {pattern.substr(0, dot), pattern.substr(dot + 1)};
}

std::string object_word(const std::string& kind) {
  if (kind == "schema") return "SCHEMA";
  if (kind == "sequence") return "SEQUENCE";
  if (kind == "database") return "DATABASE";
  if (kind == "function") return "FUNCTION";
  return "TABLE";
}

std::string object_sql(const Grant& g) {
  if (g.kind == "schema") return "SCHEMA " + quote_ident(g.schema);
  if (g.kind == "database") return "DATABASE " + quote_ident(g.name);
  if (g.kind == "function" && g.schema == "pg_catalog") return "FUNCTION pg_catalog." + g.name;
  if (g.kind == "function") return "ROUTINE " + quote_ident(g.schema) + "." + g.name;  // name: "f"(args), quoted
  return object_word(g.kind) + " " + pg::qualified_name(g.schema, g.name);
}

std::string grant_sql(const Grant& g) {
  if (g.kind == "column") {
    return fmt::format("GRANT {} ({}) ON TABLE {} TO {}", g.privilege, quote_ident(g.column),
                       pg::qualified_name(g.schema, g.name), q(g.grantee));
  }
  return fmt::format("GRANT {} ON {} TO {}", g.privilege, object_sql(g), q(g.grantee));
}

std::string revoke_sql(const Grant& g) {
  if (g.kind == "column") {
    return fmt::format("REVOKE {} ({}) ON TABLE {} FROM {}", g.privilege, quote_ident(g.column),
                       pg::qualified_name(g.schema, g.name), q(g.grantee));
  }
  return fmt::format("REVOKE {} ON {} FROM {}", g.privilege, object_sql(g), q(g.grantee));
}

std::string defaults_word(char objtype) {
  switch (objtype) {
    case 'S': return "SEQUENCES";
    case 'f': return "FUNCTIONS";
    case 'T': return "TYPES";
    case 'n': return "SCHEMAS";
    default: return "TABLES";
  }
}

std::string defaults_sql(const DefaultGrant& d, bool grant) {
  std::string in_schema = d.schema.empty() ? "" : " IN SCHEMA " + quote_ident(d.schema);
  return fmt::format("ALTER DEFAULT PRIVILEGES FOR ROLE {}{} {} {} ON {} {} {}", quote_ident(d.owner), in_schema,
                     grant ? "GRANT" : "REVOKE", d.privilege, defaults_word(d.objtype), grant ? "TO" : "FROM",
                     q(d.grantee));
}

class Planner {
 public:
  Planner(const RolesFile& file, const CatalogState& st) : file_(file), st_(st) {}

  RolesPlan run() {
    validate_references();
    for (const auto& role : file_.roles) plan_role(role);
    plan_public();
    plan_definers();
    for (auto* phase : {&ph_.roles, &ph_.memberships, &ph_.passwords, &ph_.comments, &ph_.publics, &ph_.grants,
                        &ph_.revokes, &ph_.defaults, &ph_.settings, &ph_.drops}) {
      for (auto& s : *phase) out_.statements.push_back(std::move(s));
    }
    for (auto& rp : out_.roles) {
      for (const auto& s : out_.statements) rp.statements += s.role == rp.name;
      if (rp.action == "unchanged" && rp.statements) rp.action = "alter";
    }
    return std::move(out_);
  }

 private:
  bool exists(const std::string& name) const {
    if (st_.existing_roles.count(name)) return true;
    const RoleSpec* r = file_.find(name);
    return r && r->present;
  }

  void reference(const RoleSpec* from, const std::string& what, const std::string& name) {
    if (exists(name)) return;
    std::string where = from ? fmt::format("{}:{}: role {}: ", file_.path, from->line, from->name) : file_.path + ": ";
    std::string message = fmt::format("{}{} names role '{}', which does not exist and is not declared", where, what, name);
    if (!st_.bootstrap) throw UsageError(message);
    out_.warnings.push_back(message + " (it must exist when this SQL runs)");
  }

  void validate_references() {
    for (const auto& r : file_.roles) {
      for (const auto& g : r.in_roles) reference(&r, "inRoles", g);
      if (r.access) {
        for (const auto& o : r.access->default_privileges_for) reference(&r, "defaultPrivilegesFor", o);
      }
    }
    for (const auto& g : file_.public_grants.grant_to) {
      reference(nullptr, "public.grantTo", g);
      if (const RoleSpec* r = file_.find(g); r && r->read_only()) {
        throw UsageError(fmt::format("{}: public.grantTo names read-only role '{}' (it has an access block)", file_.path, g));
      }
    }
  }

  void plan_role(const RoleSpec& r) {
    auto it = st_.roles.find(r.name);
    const bool there = it != st_.roles.end() && st_.existing_roles.count(r.name);
    RolePlan rp{r.name, "unchanged", {}, 0};
    if (!r.present) {
      if (!there) {
        rp.action = "absent";
      } else if (!it->second.owned.empty()) {
        rp.action = "refused";
        rp.owned = it->second.owned;
      } else {
        rp.action = "drop";
        ph_.add(ph_.drops, r.name, StatementKind::drop, "DROP OWNED BY " + quote_ident(r.name));
        ph_.add(ph_.drops, r.name, StatementKind::drop, "DROP ROLE " + quote_ident(r.name));
      }
      out_.roles.push_back(rp);
      return;
    }
    static const RoleState kNone{};
    const RoleState& s = there ? it->second : kNone;
    if (!there) {
      rp.action = "create";
      std::string valid = r.valid_until.empty() ? "" : " VALID UNTIL " + quote_literal(r.valid_until);
      ph_.add(ph_.roles, r.name, StatementKind::create_role,
              fmt::format("CREATE ROLE {} WITH {}{}", quote_ident(r.name), attributes(r), valid));
    } else if (std::string changes = changed_attributes(r, s, st_); !changes.empty()) {
      ph_.add(ph_.roles, r.name, StatementKind::alter_role, fmt::format("ALTER ROLE {} WITH{}", quote_ident(r.name), changes),
              {}, fmt::format("role attributes differ from the file, which says:{}", changes));
    }
    plan_password(r, s, there);
    if (r.comment != s.comment) {
      ph_.add(ph_.comments, r.name, StatementKind::comment,
              fmt::format("COMMENT ON ROLE {} IS {}", quote_ident(r.name), r.comment.empty() ? "NULL" : quote_literal(r.comment)),
              {}, "the role's comment differs from the file's");
    }
    std::set<std::string> want(r.in_roles.begin(), r.in_roles.end());
    for (const auto& g : want) {
      if (!s.member_of.count(g)) {
        ph_.add(ph_.memberships, r.name, StatementKind::membership, fmt::format("GRANT {} TO {}", quote_ident(g), quote_ident(r.name)),
                {}, fmt::format("not a member of {}, which the file's inRoles names", g));
      }
    }
    for (const auto& g : s.member_of) {
      if (!want.count(g)) {
        ph_.add(ph_.memberships, r.name, StatementKind::membership, fmt::format("REVOKE {} FROM {}", quote_ident(g), quote_ident(r.name)),
                {}, fmt::format("member of {}, which the file's inRoles does not name", g));
      }
    }
    if (r.access) plan_access(r);
    out_.roles.push_back(rp);
  }

  void plan_password(const RoleSpec& r, const RoleState& s, bool there) {
    const std::string role = quote_ident(r.name);
    if (r.disable_password) {
      if (there && (!s.password_readable || s.password)) {
        ph_.add(ph_.passwords, r.name, StatementKind::password, fmt::format("ALTER ROLE {} WITH PASSWORD NULL", role), {},
                "password: the role has one, the file disables it");
      }
      return;
    }
    if (!r.password) return;
    bool same = there && s.password_readable && s.password && password_matches(*s.password, r.name, *r.password);
    // Without superuser the verifier cannot be read: set it only when the role is new.
    if (same || (there && !s.password_readable)) return;
    ph_.add(ph_.passwords, r.name, StatementKind::password,
            fmt::format("ALTER ROLE {} WITH PASSWORD {}", role, quote_literal(*r.password)),
            fmt::format("ALTER ROLE {} WITH PASSWORD '{}'", role, util::kRedacted),
            there ? "password: the stored password is not the file's" : "password: not set yet");
  }

  // The grants the role's read and write patterns ask for; whole schemas (for default
  // privileges) into read_whole and write_whole.
  std::set<Grant> desired_grants(const RoleSpec& r, std::set<std::string>& read_whole, std::set<std::string>& write_whole) {
    std::set<Grant> want;
    for (bool writes : {false, true}) {
      for (const auto& pattern : writes ? r.access->write : r.access->read) {
        ReadTarget t = split_pattern(pattern);
        const char* list = writes ? "write" : "read";
        if (!st_.schemas.count(t.schema)) {
          out_.warnings.push_back(fmt::format("role {}: {} '{}': schema {} does not exist{}", r.name, list, pattern, t.schema,
                                              st_.bootstrap ? " at bootstrap; run `pgshift roles apply` once it does" : ""));
          continue;
        }
        want.insert({"schema", t.schema, "", "", "USAGE", r.name});
        if (t.whole_schema()) (writes ? write_whole : read_whole).insert(t.schema);
        int matched = 0;
        for (const auto& rel : st_.relations) {
          if (rel.schema != t.schema || (!t.whole_schema() && !matches(t.table, rel.name))) continue;
          // Reading a foreign table runs its wrapper (a file_fdw program, a remote query): only
          // when named by a table pattern, never through a whole schema.
          if (rel.kind == 'f' && t.whole_schema()) continue;
          const std::string kind = rel.kind == 'S' ? "sequence" : "table";
          for (const char* privilege : privileges(rel.kind == 'S' ? 'S' : 'r', writes)) {
            want.insert({kind, rel.schema, rel.name, "", privilege, r.name});
          }
          ++matched;
        }
        if (!matched && !t.whole_schema()) {
          out_.warnings.push_back(fmt::format("role {}: {} '{}' matches no table", r.name, list, pattern));
        }
      }
    }
    return want;
  }

  // What a read or write pattern grants on a table ('r': also views) or a sequence ('S').
  static std::vector<const char*> privileges(char objtype, bool writes) {
    if (objtype == 'S') return writes ? std::vector<const char*>{"SELECT", "USAGE"} : std::vector<const char*>{"SELECT"};
    return writes ? std::vector<const char*>{"SELECT", "INSERT", "UPDATE", "DELETE"} : std::vector<const char*>{"SELECT"};
  }

  void plan_access(const RoleSpec& r) {
    std::set<std::string> read_whole, write_whole;
    std::set<Grant> want = desired_grants(r, read_whole, write_whole);
    std::set<Grant> have;
    for (const auto& g : st_.grants) {
      if (g.grantee == r.name && g.kind != "function" && !(g.kind == "database" && g.privilege == "CONNECT")) have.insert(g);
    }
    for (const auto& g : want) {
      if (!have.count(g)) ph_.add(ph_.grants, r.name, StatementKind::grant, grant_sql(g));
    }
    for (const auto& g : have) {
      if (!want.count(g)) ph_.add(ph_.revokes, r.name, StatementKind::revoke, revoke_sql(g));
    }
    // Future tables and sequences of the owners, in the whole schemas it reads or writes.
    std::set<DefaultGrant> want_defaults;
    for (const auto& owner : r.access->default_privileges_for) {
      for (bool writes : {false, true}) {
        for (const auto& schema : writes ? write_whole : read_whole) {
          for (char objtype : {'r', 'S'}) {
            for (const char* privilege : privileges(objtype, writes)) {
              want_defaults.insert({owner, schema, objtype, privilege, r.name});
            }
          }
        }
      }
    }
    std::set<DefaultGrant> have_defaults;
    for (const auto& d : st_.default_grants) {
      if (d.grantee == r.name) have_defaults.insert(d);
    }
    for (const auto& d : want_defaults) {
      if (!have_defaults.count(d)) ph_.add(ph_.defaults, r.name, StatementKind::default_privileges, defaults_sql(d, true));
    }
    for (const auto& d : have_defaults) {
      if (!want_defaults.count(d)) ph_.add(ph_.defaults, r.name, StatementKind::default_privileges, defaults_sql(d, false));
    }
    if (r.access->settings) plan_settings(r);
  }

  void plan_settings(const RoleSpec& r) {
    static const std::map<std::string, std::string> kNone;
    auto it = st_.roles.find(r.name);
    const auto& have = it == st_.roles.end() ? kNone : it->second.settings;
    const auto& want = *r.access->settings;
    for (const auto& [k, v] : want) {
      auto h = have.find(k);
      if (h == have.end() || h->second != v) {
        ph_.add(ph_.settings, r.name, StatementKind::setting,
                fmt::format("ALTER ROLE {} SET {} TO {}", quote_ident(r.name), k, quote_literal(v)), {},
                h == have.end() ? fmt::format("setting {} is not set on the role; the file says {}", k, v)
                                : fmt::format("setting {} is {} on the role; the file says {}", k, h->second, v));
      }
    }
    for (const auto& [k, v] : have) {
      if (!want.count(k)) {
        ph_.add(ph_.settings, r.name, StatementKind::setting, fmt::format("ALTER ROLE {} RESET {}", quote_ident(r.name), k),
                {}, fmt::format("setting {} is {} on the role; the file does not set it", k, v));
      }
    }
  }

  // Revokes one PUBLIC grant and grants it to each grantTo role that lacks it.
  void move_public_grant(const Grant& from_public) {
    if (st_.grants.count(from_public)) ph_.add(ph_.publics, "PUBLIC", StatementKind::public_grant, revoke_sql(from_public));
    for (const auto& role : file_.public_grants.grant_to) {
      Grant g = from_public;
      g.grantee = role;
      if (!st_.grants.count(g)) ph_.add(ph_.publics, "PUBLIC", StatementKind::public_grant, grant_sql(g));
    }
  }

  void plan_public() {
    for (PublicGrant which : file_.public_grants.revoke) {
      switch (which) {
        case PublicGrant::temp:
          move_public_grant({"database", "", st_.database, "", "TEMPORARY", "PUBLIC"});
          break;
        case PublicGrant::create_on_public:
          if (st_.schemas.count("public")) move_public_grant({"schema", "public", "", "", "CREATE", "PUBLIC"});
          break;
        default:
          for (const auto& name : public_grant_functions(which)) {
            auto it = st_.catalog_functions.find(name);
            if (it == st_.catalog_functions.end()) continue;
            // Server-file functions stay superuser-only: never granted on, only revoked.
            const bool server_files = name == "lo_import" || name == "lo_export";
            for (const auto& sig : it->second) {
              Grant g{"function", "pg_catalog", sig, "", "EXECUTE", "PUBLIC"};
              if (server_files) {
                if (st_.grants.count(g)) ph_.add(ph_.publics, "PUBLIC", StatementKind::public_grant, revoke_sql(g));
              } else {
                move_public_grant(g);
              }
            }
          }
          break;
      }
    }
  }

  // SECURITY DEFINER routines in the schemas the read-only roles read: EXECUTE is taken from
  // PUBLIC (and from read-only roles granted it directly) and given back explicitly to the roles
  // of the file that may write (declared without an access block, and public.grantTo). The
  // owner keeps it: its own ACL entry stays.
  void plan_definers() {
    std::set<std::string> covered, read_only;
    for (const auto& r : file_.roles) {
      if (!r.read_only()) continue;
      read_only.insert(r.name);
      for (const auto& pattern : r.access->read) covered.insert(split_pattern(pattern).schema);
    }
    std::set<std::string> writers(file_.public_grants.grant_to.begin(), file_.public_grants.grant_to.end());
    for (const auto& r : file_.roles) {
      if (r.writer()) writers.insert(r.name);
    }
    for (const auto& [key, owner] : st_.definers) {
      const auto& [schema, signature] = key;
      if (!covered.count(schema)) continue;
      Grant from_public{"function", schema, signature, "", "EXECUTE", "PUBLIC"};
      if (st_.grants.count(from_public)) {
        ph_.add(ph_.publics, "PUBLIC", StatementKind::public_grant, revoke_sql(from_public));
        for (const auto& w : writers) {
          Grant g = from_public;
          g.grantee = w;
          if (w != owner && !st_.grants.count(g)) ph_.add(ph_.publics, "PUBLIC", StatementKind::public_grant, grant_sql(g));
        }
      }
      for (const auto& r : read_only) {
        Grant g = from_public;
        g.grantee = r;
        if (st_.grants.count(g)) ph_.add(ph_.revokes, r, StatementKind::revoke, revoke_sql(g));
      }
    }
  }

  const RolesFile& file_;
  const CatalogState& st_;
  Phases ph_;
  RolesPlan out_;
};

}  // namespace

std::string statement_kind_name(StatementKind kind) {
  switch (kind) {
    case StatementKind::create_role: return "create-role";
    case StatementKind::alter_role: return "alter-role";
    case StatementKind::password: return "password";
    case StatementKind::comment: return "comment";
    case StatementKind::membership: return "membership";
    case StatementKind::public_grant: return "public";
    case StatementKind::grant: return "grant";
    case StatementKind::revoke: return "revoke";
    case StatementKind::default_privileges: return "default-privileges";
    case StatementKind::setting: return "setting";
    case StatementKind::drop: return "drop";
  }
  return "?";
}

bool RolesPlan::refused() const {
  for (const auto& r : roles) {
    if (r.action == "refused") return true;
  }
  return false;
}

RolesPlan plan_statements(const RolesFile& file, const CatalogState& state) { return Planner(file, state).run(); }

}  // namespace pgshift::access
