#include "access/write_paths.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

#include "access/spec.hpp"
#include "access/sql_fragments.hpp"
#include "access/text_array.hpp"
#include "pg/quote.hpp"
#include "pg/transaction.hpp"
#include "util/error.hpp"

namespace pgshift::access {
namespace {

// An ACL entry that reaches the role: granted to PUBLIC, to it, or to a role it is a member of.
#define REACHES(oid) "(" oid " = 0 OR pg_has_role($1, " oid ", 'MEMBER'))"
#define GRANTEE(oid) "CASE " oid " WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(" oid ")::text END"

constexpr std::string_view kRoleExists = "SELECT rolsuper FROM pg_roles WHERE rolname = $1";

// Each role it reaches by membership, with the first hop (the role granted to it directly).
constexpr std::string_view kReach =
    "WITH RECURSIVE up(roleid, hop) AS ("
    " SELECT a.roleid, a.roleid FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member WHERE m.rolname = $1"
    " UNION SELECT a.roleid, up.hop FROM pg_auth_members a JOIN up ON a.member = up.roleid) "
    "SELECT DISTINCT r.rolname AS role, h.rolname AS hop FROM up JOIN pg_roles r ON r.oid = up.roleid "
    "JOIN pg_roles h ON h.oid = up.hop ORDER BY 1, 2";

constexpr std::string_view kReachAll =
    "SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls "
    "FROM pg_roles r WHERE pg_has_role($1, r.oid, 'MEMBER') ORDER BY 1";

// Every finding below has the columns kind, schema, name, sub, privilege, grantee, note.
constexpr std::string_view kRelationPrivileges =
    "SELECT CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END AS kind, n.nspname AS schema, "
    "c.relname AS name, '' AS sub, a.privilege_type AS privilege, " GRANTEE("a.grantee") " AS grantee, "
    "c.relkind::text AS note FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "CROSS JOIN LATERAL aclexplode(c.relacl) a "
    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND " PGSHIFT_USER_SCHEMA("n") " AND a.grantee <> c.relowner "
    "AND " REACHES("a.grantee") " AND ((c.relkind <> 'S' AND a.privilege_type IN "
    "('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER')) "
    "OR (c.relkind = 'S' AND a.privilege_type IN ('UPDATE', 'USAGE'))) ORDER BY 2, 3, 5";

constexpr std::string_view kColumnPrivileges =
    "SELECT 'column' AS kind, n.nspname AS schema, c.relname AS name, att.attname AS sub, a.privilege_type AS privilege, "
    GRANTEE("a.grantee") " AS grantee, '' AS note FROM pg_attribute att JOIN pg_class c ON c.oid = att.attrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL aclexplode(att.attacl) a "
    "WHERE att.attacl IS NOT NULL AND att.attnum > 0 AND NOT att.attisdropped AND " PGSHIFT_USER_SCHEMA("n") " "
    "AND a.privilege_type IN ('INSERT', 'UPDATE', 'REFERENCES') AND " REACHES("a.grantee") " ORDER BY 2, 3, 4";

// From the ACL, not has_schema_privilege: old clusters keep PUBLIC's CREATE on public.
constexpr std::string_view kSchemaCreate =
    "SELECT 'schema' AS kind, n.nspname AS schema, n.nspname AS name, '' AS sub, a.privilege_type AS privilege, "
    GRANTEE("a.grantee") " AS grantee, '' AS note FROM pg_namespace n "
    "CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a "
    "WHERE n.nspname NOT LIKE 'pg\\_temp%' AND n.nspname NOT LIKE 'pg\\_toast%' AND a.privilege_type = 'CREATE' "
    "AND a.grantee <> n.nspowner AND " REACHES("a.grantee") " ORDER BY 2";

constexpr std::string_view kDatabase =
    "SELECT 'database' AS kind, '' AS schema, d.datname AS name, '' AS sub, a.privilege_type AS privilege, "
    GRANTEE("a.grantee") " AS grantee, '' AS note FROM pg_database d "
    "CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a "
    "WHERE d.datname = current_database() AND a.privilege_type IN ('CREATE', 'TEMPORARY') "
    "AND a.grantee <> d.datdba AND " REACHES("a.grantee");

constexpr std::string_view kTablespace =
    "SELECT 'tablespace' AS kind, '' AS schema, t.spcname AS name, '' AS sub, a.privilege_type AS privilege, "
    GRANTEE("a.grantee") " AS grantee, '' AS note FROM pg_tablespace t "
    "CROSS JOIN LATERAL aclexplode(coalesce(t.spcacl, acldefault('t', t.spcowner))) a "
    "WHERE a.privilege_type = 'CREATE' AND a.grantee <> t.spcowner AND " REACHES("a.grantee");

// Objects owned by the role or a role it reaches. sub is the object's word in ALTER ... OWNER.
constexpr std::string_view kOwnership =
    "SELECT 'ownership' AS kind, n.nspname AS schema, c.relname AS name, "
    "CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' "
    "WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS sub, '' AS privilege, pg_get_userbyid(c.relowner)::text AS grantee, "
    "'' AS note FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND " PGSHIFT_USER_SCHEMA("n") " AND pg_has_role($1, c.relowner, 'MEMBER') "
    "UNION ALL SELECT 'ownership', '', n.nspname, 'SCHEMA', '', pg_get_userbyid(n.nspowner)::text, '' "
    "FROM pg_namespace n WHERE " PGSHIFT_USER_SCHEMA("n") " AND pg_has_role($1, n.nspowner, 'MEMBER') "
    "UNION ALL SELECT 'ownership', n.nspname, p.proname, 'ROUTINE', '', pg_get_userbyid(p.proowner)::text, "
    "pg_get_function_identity_arguments(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE " PGSHIFT_USER_SCHEMA("n") " AND pg_has_role($1, p.proowner, 'MEMBER') "
    "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') "
    "UNION ALL SELECT 'ownership', '', d.datname, 'DATABASE', '', pg_get_userbyid(d.datdba)::text, '' "
    "FROM pg_database d WHERE d.datname = current_database() AND pg_has_role($1, d.datdba, 'MEMBER') "
    "UNION ALL SELECT 'ownership', '', l.oid::text, 'LARGE OBJECT', '', pg_get_userbyid(l.lomowner)::text, '' "
    "FROM pg_largeobject_metadata l WHERE pg_has_role($1, l.lomowner, 'MEMBER') "
    "UNION ALL SELECT 'ownership', '', s.srvname, 'SERVER', '', pg_get_userbyid(s.srvowner)::text, '' "
    "FROM pg_foreign_server s WHERE pg_has_role($1, s.srvowner, 'MEMBER') ORDER BY 4, 2, 3";

constexpr std::string_view kLargeObjectFunctions =
    "SELECT 'large-object' AS kind, 'pg_catalog' AS schema, p.oid::regprocedure::text AS name, 'function' AS sub, "
    "a.privilege_type AS privilege, " GRANTEE("a.grantee") " AS grantee, '' AS note FROM pg_proc p "
    "CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a "
    "WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = ANY($2::text[]) "
    "AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner AND " REACHES("a.grantee") " "
    "UNION ALL SELECT 'large-object', '', l.oid::text, 'object', a.privilege_type, " GRANTEE("a.grantee") ", '' "
    "FROM pg_largeobject_metadata l CROSS JOIN LATERAL aclexplode(l.lomacl) a "
    "WHERE a.privilege_type = 'UPDATE' AND a.grantee <> l.lomowner AND " REACHES("a.grantee") " ORDER BY 3";

// The availability paths PUBLIC grants by default ($2: the function names of advisory-locks,
// logical-messages and notify).
constexpr std::string_view kAvailabilityFunctions =
    "SELECT 'availability' AS kind, 'pg_catalog' AS schema, p.oid::regprocedure::text AS name, p.proname AS sub, "
    "a.privilege_type AS privilege, " GRANTEE("a.grantee") " AS grantee, '' AS note FROM pg_proc p "
    "CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a "
    "WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = ANY($2::text[]) "
    "AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner AND " REACHES("a.grantee") " ORDER BY 3";

// PREPARE TRANSACTION needs no privilege: with prepared transactions enabled any role can leave
// one behind that holds its locks (and the xmin horizon) until someone commits or rolls it back.
constexpr std::string_view kPreparedTransactions =
    "SELECT setting FROM pg_settings WHERE name = 'max_prepared_transactions' AND setting::int > 0";

constexpr std::string_view kLoCompat =
    "SELECT setting = 'on' FROM pg_settings WHERE name = 'lo_compat_privileges'";

// SECURITY DEFINER routines the role may call, whatever their declared volatility: a STABLE SQL
// function may call a VOLATILE one that writes (the read-only check applies to its own
// statements only), and everything it calls, at any depth, runs with the owner's rights.
constexpr std::string_view kSecurityDefiner =
    "SELECT 'security-definer' AS kind, n.nspname AS schema, p.proname AS name, "
    "pg_get_function_identity_arguments(p.oid) AS sub, 'EXECUTE' AS privilege, " GRANTEE("a.grantee") " AS grantee, "
    "pg_get_userbyid(p.proowner)::text AS note FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a "
    "WHERE " PGSHIFT_CALLABLE_DEFINER("p", "n") " AND a.privilege_type = 'EXECUTE' "
    "AND a.grantee <> p.proowner AND " REACHES("a.grantee") " AND NOT pg_has_role($1, p.proowner, 'MEMBER') "
    "AND has_schema_privilege($1, n.oid, 'USAGE') "
    "ORDER BY 2, 3";

// pg_user_mappings (not pg_user_mapping, which only a superuser may read).
constexpr std::string_view kForeignServers =
    "SELECT 'foreign-server' AS kind, '' AS schema, um.srvname AS name, '' AS sub, 'USAGE' AS privilege, "
    "CASE um.umuser WHEN 0 THEN 'PUBLIC' ELSE um.usename::text END AS grantee, w.fdwname AS note "
    "FROM pg_user_mappings um JOIN pg_foreign_server s ON s.oid = um.srvid "
    "JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw "
    "WHERE " REACHES("um.umuser") " AND has_server_privilege($1, s.oid, 'USAGE') ORDER BY 3";

constexpr std::string_view kDblink =
    "SELECT 'dblink' AS kind, n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS sub, "
    "'EXECUTE' AS privilege, " GRANTEE("a.grantee") " AS grantee, '' AS note "
    "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a "
    "WHERE p.proname = 'dblink_connect_u' AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner "
    "AND " REACHES("a.grantee");

// Foreign tables whose read runs a program on the server (file_fdw's program option), readable
// by the role in any way (a grant, pg_read_all_data).
constexpr std::string_view kForeignTablePrograms =
    "SELECT 'foreign-table' AS kind, n.nspname AS schema, c.relname AS name, '' AS sub, 'SELECT' AS privilege, "
    "$1::text AS grantee, (SELECT o FROM unnest(ft.ftoptions) o WHERE o LIKE 'program=%' LIMIT 1) AS note "
    "FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE EXISTS (SELECT 1 FROM unnest(ft.ftoptions) o WHERE o LIKE 'program=%') "
    "AND has_table_privilege($1, c.oid, 'SELECT') AND has_schema_privilege($1, n.oid, 'USAGE') ORDER BY 2, 3";

// PostgreSQL 15+.
constexpr std::string_view kParameters =
    "SELECT 'parameter' AS kind, '' AS schema, p.parname AS name, '' AS sub, a.privilege_type AS privilege, "
    GRANTEE("a.grantee") " AS grantee, '' AS note FROM pg_parameter_acl p CROSS JOIN LATERAL aclexplode(p.paracl) a "
    "WHERE " REACHES("a.grantee") " ORDER BY 3";

constexpr std::string_view kDefaultPrivileges =
    "SELECT 'default-privileges' AS kind, coalesce(n.nspname, '') AS schema, pg_get_userbyid(d.defaclrole)::text AS name, "
    "d.defaclobjtype::text AS sub, a.privilege_type AS privilege, " GRANTEE("a.grantee") " AS grantee, '' AS note "
    "FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace "
    "CROSS JOIN LATERAL aclexplode(d.defaclacl) a WHERE a.grantee <> d.defaclrole AND " REACHES("a.grantee") " "
    "AND ((d.defaclobjtype = 'r' AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER')) "
    "OR (d.defaclobjtype = 'S' AND a.privilege_type IN ('UPDATE', 'USAGE')) "
    "OR (d.defaclobjtype = 'n' AND a.privilege_type = 'CREATE')) ORDER BY 3, 2";

constexpr std::string_view kGuardrails =
    "SELECT CASE WHEN s.setrole = 0 THEN 'database ' || current_database() "
    "WHEN s.setdatabase = 0 THEN 'role' ELSE 'role in database ' || current_database() END AS scope, c.setting, "
    // Only user-context parameters can be changed by the role itself (pgaudit.* are superuser-only);
    // a parameter this server does not know is taken as settable.
    "coalesce((SELECT ps.context = 'user' FROM pg_settings ps WHERE ps.name = lower(split_part(c.setting, '=', 1))), "
    "true) AS settable "
    "FROM pg_db_role_setting s CROSS JOIN LATERAL unnest(s.setconfig) AS c(setting) "
    "WHERE (s.setrole = (SELECT oid FROM pg_roles WHERE rolname = $1) "
    "AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))) "
    "OR (s.setrole = 0 AND s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())) "
    "ORDER BY 1, 2";

struct Finding {
  std::string kind, schema, name, sub, privilege, grantee, note;
};

std::string q(const std::string& role) { return role == "PUBLIC" ? "PUBLIC" : pg::quote_ident(role); }

std::string defaults_word(const std::string& objtype) {
  if (objtype == "S") return "SEQUENCES";
  if (objtype == "n") return "SCHEMAS";
  return "TABLES";
}

// The path a finding is, with its object and the SQL that removes it.
WritePath to_path(const Finding& f, const std::string& admin) {
  WritePath p{f.kind, "", f.privilege, f.grantee, "", ""};
  const std::string g = q(f.grantee);
  if (f.kind == "table" || f.kind == "sequence") {
    std::string rel = pg::qualified_name(f.schema, f.name);
    p.object = f.kind + " " + pg::display_name(f.schema, f.name);
    p.detail = fmt::format("{} on {} granted to {}", f.privilege, p.object, f.grantee);
    p.fix = fmt::format("REVOKE {} ON {} {} FROM {};", f.privilege, f.kind == "sequence" ? "SEQUENCE" : "TABLE", rel, g);
  } else if (f.kind == "column") {
    p.object = fmt::format("column {}.{}", pg::display_name(f.schema, f.name), f.sub);
    p.detail = fmt::format("{} on {} granted to {}", f.privilege, p.object, f.grantee);
    p.fix = fmt::format("REVOKE {} ({}) ON TABLE {} FROM {};", f.privilege, pg::quote_ident(f.sub),
                        pg::qualified_name(f.schema, f.name), g);
  } else if (f.kind == "schema") {
    p.object = "schema " + f.name;
    p.detail = fmt::format("CREATE on {} granted to {}: it can create tables, functions and views there", p.object, f.grantee);
    p.fix = fmt::format("REVOKE CREATE ON SCHEMA {} FROM {};", pg::quote_ident(f.name), g);
  } else if (f.kind == "database" || f.kind == "tablespace") {
    p.object = f.kind + " " + f.name;
    p.detail = fmt::format("{} on {} granted to {}{}", f.privilege, p.object, f.grantee,
                           f.privilege == "TEMPORARY" ? ": it can create temporary tables" : "");
    p.fix = fmt::format("REVOKE {} ON {} {} FROM {};", f.privilege, f.kind == "database" ? "DATABASE" : "TABLESPACE",
                        pg::quote_ident(f.name), g);
  } else if (f.kind == "ownership") {
    std::string name = f.schema.empty() ? pg::quote_ident(f.name) : pg::qualified_name(f.schema, f.name);
    if (f.sub == "ROUTINE") name += "(" + f.note + ")";
    if (f.sub == "LARGE OBJECT") name = f.name;
    std::string word = f.sub;
    for (auto& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    p.object = word + " " + (f.schema.empty() ? f.name : pg::display_name(f.schema, f.name));
    p.detail = fmt::format("{} is owned by {}: an owner can change and drop it", p.object, f.grantee);
    p.fix = fmt::format("ALTER {} {} OWNER TO {};", f.sub, name, pg::quote_ident(admin));
  } else if (f.kind == "large-object") {
    if (f.sub == "function") {
      p.object = "function pg_catalog." + f.name;
      p.detail = fmt::format("EXECUTE on {} granted to {}: it writes large objects even in a read-only transaction",
                             p.object, f.grantee);
      p.fix = fmt::format("REVOKE EXECUTE ON FUNCTION pg_catalog.{} FROM {};", f.name, g);
    } else {
      p.object = "large object " + f.name;
      p.detail = fmt::format("UPDATE on {} granted to {}", p.object, f.grantee);
      p.fix = fmt::format("REVOKE UPDATE ON LARGE OBJECT {} FROM {};", f.name, g);
    }
  } else if (f.kind == "availability") {
    p.object = "function pg_catalog." + f.name;
    std::string what = f.sub == "pg_logical_emit_message"
                           ? "it writes WAL even inside a read-only transaction (public: revoke: [logical-messages])"
                       : f.sub == "pg_notify"
                           ? "it fills the notification queue (public: revoke: [notify])"
                           : "a session-level advisory lock stays held while the session idles outside any transaction "
                             "(public: revoke: [advisory-locks])";
    p.detail = fmt::format("EXECUTE on {} granted to {}: {}", p.object, f.grantee, what);
    p.fix = fmt::format("REVOKE EXECUTE ON FUNCTION pg_catalog.{} FROM {};", f.name, g);
  } else if (f.kind == "security-definer") {
    p.object = fmt::format("function {}({})", pg::display_name(f.schema, f.name), f.sub);
    p.detail = fmt::format("{} is SECURITY DEFINER, runs as {} and is executable by {}: it and everything it calls "
                           "run with {}'s rights, whatever its declared volatility",
                           p.object, f.note, f.grantee, f.note);
    p.fix = fmt::format("REVOKE EXECUTE ON ROUTINE {}({}) FROM {};", pg::qualified_name(f.schema, f.name), f.sub, g);
  } else if (f.kind == "foreign-server") {
    p.object = "foreign server " + f.name;
    p.detail = fmt::format("{} ({}) has a user mapping for {} and the role may use the server: it connects as the "
                           "mapped remote user", p.object, f.note, f.grantee);
    p.fix = fmt::format("DROP USER MAPPING FOR {} SERVER {};", g, pg::quote_ident(f.name));
  } else if (f.kind == "dblink") {
    p.object = fmt::format("function {}({})", pg::display_name(f.schema, f.name), f.sub);
    p.detail = fmt::format("{} is executable by {}: it connects anywhere without a password check", p.object, f.grantee);
    p.fix = fmt::format("REVOKE EXECUTE ON FUNCTION {}({}) FROM {};", pg::qualified_name(f.schema, f.name), f.sub, g);
  } else if (f.kind == "foreign-table") {
    p.object = "foreign table " + pg::display_name(f.schema, f.name);
    p.detail = fmt::format("reading {} runs a program on the server ({}); the role can read it (a grant, or "
                           "pg_read_all_data)", p.object, f.note);
    p.fix = fmt::format("REVOKE SELECT ON TABLE {} FROM {};", pg::qualified_name(f.schema, f.name), g);
  } else if (f.kind == "parameter") {
    p.object = "parameter " + f.name;
    p.detail = fmt::format("{} on {} granted to {}", f.privilege, p.object, f.grantee);
    p.fix = fmt::format("REVOKE {} ON PARAMETER {} FROM {};", f.privilege, f.name, g);
  } else if (f.kind == "default-privileges") {
    std::string in = f.schema.empty() ? "" : " IN SCHEMA " + pg::quote_ident(f.schema);
    p.object = fmt::format("default privileges of {}{}", f.name, f.schema.empty() ? "" : " in schema " + f.schema);
    p.detail = fmt::format("future {} created by {} will grant {} to {}", defaults_word(f.sub), f.name, f.privilege, f.grantee);
    p.fix = fmt::format("ALTER DEFAULT PRIVILEGES FOR ROLE {}{} REVOKE {} ON {} FROM {};", pg::quote_ident(f.name), in,
                        f.privilege, defaults_word(f.sub), g);
  }
  return p;
}

std::vector<Finding> run_findings(pg::Connection& conn, std::string_view sql, const pg::Params& params) {
  std::vector<Finding> out;
  pg::Result r = conn.exec(sql, params);
  for (int i = 0; i < r.rows(); ++i) {
    pg::Row row = r.row(i);
    out.push_back({row.text("kind"), row.text("schema"), row.text("name"), row.text("sub"), row.text("privilege"),
                   row.text("grantee"), row.text("note")});
  }
  return out;
}

// Paths held through roles it reaches, gathered per first membership hop.
struct Group {
  std::vector<std::string> reasons;
};

}  // namespace

const std::vector<std::pair<std::string, std::string>>& writer_predefined_roles() {
  static const std::vector<std::pair<std::string, std::string>> roles = {
      {"pg_write_all_data", "INSERT, UPDATE and DELETE on every table"},
      {"pg_write_server_files", "writes files on the server (COPY TO a file, lo_export)"},
      {"pg_execute_server_program", "runs programs on the server (COPY ... PROGRAM)"},
      {"pg_signal_backend", "cancels and terminates other sessions"},
      {"pg_checkpoint", "runs CHECKPOINT"},
      {"pg_create_subscription", "creates subscriptions"},
      {"pg_maintain", "VACUUM, ANALYZE, CLUSTER, REFRESH, REINDEX and LOCK on every table"},
  };
  return roles;
}

std::vector<WritePath> find_write_paths(pg::Connection& conn, const std::string& role) {
  pg::Transaction tx(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  pg::Result exists = conn.exec(kRoleExists, {role});
  if (exists.empty()) throw UsageError(fmt::format("{}: role '{}' does not exist", conn.endpoint(), role));
  const std::string admin = conn.exec("SELECT current_user").scalar();
  std::vector<WritePath> paths;
  if (exists.scalar() == "t") {
    paths.push_back({"attribute", "role " + role, "SUPERUSER", role, "the role is a superuser: every check is moot",
                     fmt::format("ALTER ROLE {} NOSUPERUSER;", pg::quote_ident(role))});
    tx.commit();
    return paths;
  }
  std::map<std::string, std::string> hop_of;  // reached role -> first hop
  pg::Result reach = conn.exec(kReach, {role});
  for (int i = 0; i < reach.rows(); ++i) hop_of.emplace(reach.row(i).text("role"), reach.row(i).text("hop"));
  const std::string dbname = conn.exec("SELECT current_database()").scalar();
  std::map<std::string, Group> groups;  // first hop -> reasons
  auto group_of = [&](const std::string& grantee) -> Group& {
    auto it = hop_of.find(grantee);
    return groups[it == hop_of.end() ? grantee : it->second];
  };
  auto own = [&](const std::string& grantee) { return grantee == role || grantee == "PUBLIC"; };

  pg::Result attrs = conn.exec(kReachAll, {role});
  for (int i = 0; i < attrs.rows(); ++i) {
    pg::Row row = attrs.row(i);
    std::string name = row.text("rolname");
    for (auto [column, attribute] : {std::pair{"rolsuper", "SUPERUSER"}, {"rolcreaterole", "CREATEROLE"},
                                     {"rolcreatedb", "CREATEDB"}, {"rolreplication", "REPLICATION"},
                                     {"rolbypassrls", "BYPASSRLS"}}) {
      if (!row.boolean(column)) continue;
      if (name == role) {
        paths.push_back({"attribute", "role " + role, attribute, role, fmt::format("the role has {}", attribute),
                         fmt::format("ALTER ROLE {} NO{};", pg::quote_ident(role), attribute)});
      } else {
        group_of(name).reasons.push_back(fmt::format("{} has {}", name, attribute));
      }
    }
    for (const auto& [predefined, what] : writer_predefined_roles()) {
      if (name == predefined) group_of(name).reasons.push_back(fmt::format("{}: {}", name, what));
    }
  }

  std::vector<Finding> findings;
  const std::string lo_param = text_array_literal(public_grant_functions(PublicGrant::large_object_writes));
  for (std::string_view sql : {kRelationPrivileges, kColumnPrivileges, kSchemaCreate, kDatabase, kTablespace, kOwnership,
                               kSecurityDefiner, kForeignServers, kForeignTablePrograms, kDblink,
                               kDefaultPrivileges}) {
    for (auto& f : run_findings(conn, sql, {role})) findings.push_back(std::move(f));
  }
  for (auto& f : run_findings(conn, kLargeObjectFunctions, {role, lo_param})) findings.push_back(std::move(f));
  std::vector<std::string> availability;
  for (PublicGrant g : {PublicGrant::advisory_locks, PublicGrant::logical_messages, PublicGrant::notify}) {
    for (const auto& name : public_grant_functions(g)) availability.push_back(name);
  }
  for (auto& f : run_findings(conn, kAvailabilityFunctions, {role, text_array_literal(availability)})) {
    findings.push_back(std::move(f));
  }
  if (conn.server_version() >= 150000) {
    for (auto& f : run_findings(conn, kParameters, {role})) findings.push_back(std::move(f));
  }
  for (const auto& f : findings) {
    WritePath p = to_path(f, admin);
    if (own(f.grantee)) paths.push_back(std::move(p));
    else group_of(f.grantee).reasons.push_back(p.detail);
  }
  if (pg::Result prepared = conn.exec(kPreparedTransactions); !prepared.empty()) {
    paths.push_back({"availability", "setting max_prepared_transactions", "PREPARE TRANSACTION", "PUBLIC",
                     fmt::format("max_prepared_transactions = {}: any role can PREPARE TRANSACTION (no privilege "
                                 "needed) and leave it holding its locks and the xmin horizon until it is resolved",
                                 prepared.scalar()),
                     "ALTER SYSTEM SET max_prepared_transactions = 0; -- takes effect after a restart"});
  }
  if (conn.exec(kLoCompat).scalar() == "t") {
    paths.push_back({"large-object", "setting lo_compat_privileges", "", "PUBLIC",
                     "lo_compat_privileges = on: every large object is writable by everyone",
                     "ALTER SYSTEM SET lo_compat_privileges = off; SELECT pg_reload_conf();"});
  }
  for (const auto& [hop, group] : groups) {
    if (group.reasons.empty()) continue;
    std::string detail = fmt::format("member of {}: ", hop);
    for (size_t i = 0; i < group.reasons.size() && i < 3; ++i) detail += (i ? "; " : "") + group.reasons[i];
    if (group.reasons.size() > 3) detail += fmt::format(" (+{} more)", group.reasons.size() - 3);
    std::string fix = hop == "pg_database_owner"
                          ? fmt::format("ALTER DATABASE {} OWNER TO {};", pg::quote_ident(dbname), pg::quote_ident(admin))
                          : fmt::format("REVOKE {} FROM {};", pg::quote_ident(hop), pg::quote_ident(role));
    paths.push_back({"membership", "role " + hop, "", hop, detail, fix});
  }
  tx.commit();
  return paths;
}

std::vector<Guardrail> read_guardrails(pg::Connection& conn, const std::string& role) {
  std::vector<Guardrail> out;
  pg::Result r = conn.exec(kGuardrails, {role});
  for (int i = 0; i < r.rows(); ++i) {
    std::string kv = r.row(i).text("setting");
    size_t eq = kv.find('=');
    out.push_back({kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1), r.row(i).text("scope"),
                   r.row(i).boolean("settable")});
  }
  return out;
}

}  // namespace pgshift::access
