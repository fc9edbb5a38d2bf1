#include "access/state.hpp"

#include <fmt/format.h>

#include "access/sql_fragments.hpp"
#include "access/text_array.hpp"
#include "pg/transaction.hpp"

namespace pgshift::access {
namespace {


// Roles named in $1, plus PUBLIC (grantee 0 in an ACL).
constexpr std::string_view kWho =
    "WITH who(oid, name) AS (SELECT r.oid, r.rolname::text FROM pg_roles r WHERE r.rolname = ANY($1::text[]) "
    "UNION ALL SELECT 0::oid, 'PUBLIC') ";

constexpr std::string_view kRoles =
    "SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolreplication, "
    "r.rolbypassrls, r.rolconnlimit, "
    "CASE WHEN r.rolvaliduntil IS NULL OR r.rolvaliduntil = 'infinity' THEN NULL "
    "ELSE extract(epoch FROM r.rolvaliduntil)::text END AS valid_until, "
    "coalesce(shobj_description(r.oid, 'pg_authid'), '') AS comment "
    "FROM pg_roles r WHERE r.rolname = ANY($1::text[])";

constexpr std::string_view kAllRoles = "SELECT rolname FROM pg_roles";

constexpr std::string_view kMemberships =
    "SELECT m.rolname AS member, g.rolname AS role FROM pg_auth_members a "
    "JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.roleid WHERE m.rolname = ANY($1::text[])";

constexpr std::string_view kSettings =
    "SELECT r.rolname, c.setting FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
    "CROSS JOIN LATERAL unnest(s.setconfig) AS c(setting) WHERE s.setdatabase = 0 AND r.rolname = ANY($1::text[])";

// Verifiers are only readable by a superuser; the caller checks first.
constexpr std::string_view kIsSuperuser = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user";
constexpr std::string_view kPasswords =
    "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1::text[])";

// What a role owns, in any database (pg_shdepend); described when it is in this one. Default
// privileges are left out: DROP OWNED removes them.
constexpr std::string_view kOwned =
    "SELECT r.rolname, coalesce(d.datname, '') AS datname, "
    "CASE WHEN s.dbid IN (0, (SELECT oid FROM pg_database WHERE datname = current_database())) "
    "THEN pg_describe_object(s.classid, s.objid, s.objsubid) END AS object "
    "FROM pg_shdepend s JOIN pg_roles r ON r.oid = s.refobjid LEFT JOIN pg_database d ON d.oid = s.dbid "
    "WHERE s.deptype = 'o' AND s.refclassid = 'pg_authid'::regclass AND s.classid <> 'pg_default_acl'::regclass "
    "AND r.rolname = ANY($1::text[]) ORDER BY 1, 2, 3";

constexpr std::string_view kSchemas = "SELECT n.nspname FROM pg_namespace n WHERE " PGSHIFT_USER_SCHEMA("n") " ORDER BY 1";

constexpr std::string_view kRelations =
    "SELECT n.nspname, c.relname, c.relkind::text AS relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND " PGSHIFT_USER_SCHEMA("n") " ORDER BY 1, 2";

std::string grants_sql() {
  return std::string(kWho) +
         "SELECT 'schema' AS kind, n.nspname AS schema, '' AS name, '' AS col, a.privilege_type AS privilege, "
         "w.name AS grantee FROM pg_namespace n "
         "CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a "
         "JOIN who w ON w.oid = a.grantee WHERE " PGSHIFT_USER_SCHEMA("n") " "
         "UNION ALL SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END, n.nspname, c.relname, '', "
         "a.privilege_type, w.name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
         "CROSS JOIN LATERAL aclexplode(c.relacl) a JOIN who w ON w.oid = a.grantee "
         "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND " PGSHIFT_USER_SCHEMA("n") " "
         "UNION ALL SELECT 'column', n.nspname, c.relname, att.attname, a.privilege_type, w.name "
         "FROM pg_attribute att JOIN pg_class c ON c.oid = att.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
         "CROSS JOIN LATERAL aclexplode(att.attacl) a JOIN who w ON w.oid = a.grantee "
         "WHERE att.attacl IS NOT NULL AND att.attnum > 0 AND NOT att.attisdropped AND " PGSHIFT_USER_SCHEMA("n") " "
         "UNION ALL SELECT 'database', '', d.datname, '', a.privilege_type, w.name FROM pg_database d "
         "CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a "
         "JOIN who w ON w.oid = a.grantee WHERE d.datname = current_database() "
         "UNION ALL SELECT 'function', 'pg_catalog', p.oid::regprocedure::text, '', a.privilege_type, w.name "
         "FROM pg_proc p CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a "
         "JOIN who w ON w.oid = a.grantee "
         "WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = ANY($2::text[]) "
         "UNION ALL SELECT 'function', n.nspname, " PGSHIFT_DEFINER_SIGNATURE("p") ", '', a.privilege_type, w.name "
         "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
         "CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a "
         "JOIN who w ON w.oid = a.grantee WHERE " PGSHIFT_CALLABLE_DEFINER("p", "n");
}

constexpr std::string_view kDefiners =
    "SELECT n.nspname, " PGSHIFT_DEFINER_SIGNATURE("p") " AS signature, pg_get_userbyid(p.proowner)::text AS owner "
    "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE " PGSHIFT_CALLABLE_DEFINER("p", "n");

std::string default_grants_sql() {
  return std::string(kWho) +
         "SELECT pg_get_userbyid(d.defaclrole) AS owner, coalesce(n.nspname, '') AS schema, "
         "d.defaclobjtype::text AS objtype, a.privilege_type AS privilege, w.name AS grantee "
         "FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace "
         "CROSS JOIN LATERAL aclexplode(d.defaclacl) a JOIN who w ON w.oid = a.grantee "
         "WHERE a.grantee <> d.defaclrole";
}

constexpr std::string_view kCatalogFunctions =
    "SELECT p.proname, p.oid::regprocedure::text AS signature FROM pg_proc p "
    "WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = ANY($1::text[]) ORDER BY 2";

constexpr std::string_view kEpoch = "SELECT extract(epoch FROM $1::timestamptz)::text";

}  // namespace

CatalogState read_state(pg::Connection& conn, const RolesFile& file) {
  std::vector<std::string> names;
  for (const auto& r : file.roles) names.push_back(r.name);
  for (const auto& g : file.public_grants.grant_to) names.push_back(g);
  const std::string roles_param = text_array_literal(names);
  const std::string lo_param = text_array_literal(public_grant_all_functions());

  pg::Transaction tx(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  CatalogState st;
  st.database = conn.exec("SELECT current_database()").scalar();
  st.server_version = conn.server_version();
  pg::Result all = conn.exec(kAllRoles);
  for (int i = 0; i < all.rows(); ++i) st.existing_roles.insert(std::string(all.view(i, 0)));

  pg::Result roles = conn.exec(kRoles, {roles_param});
  for (int i = 0; i < roles.rows(); ++i) {
    pg::Row row = roles.row(i);
    RoleState& r = st.roles[row.text("rolname")];
    r.superuser = row.boolean("rolsuper");
    r.inherit = row.boolean("rolinherit");
    r.createrole = row.boolean("rolcreaterole");
    r.createdb = row.boolean("rolcreatedb");
    r.login = row.boolean("rolcanlogin");
    r.replication = row.boolean("rolreplication");
    r.bypassrls = row.boolean("rolbypassrls");
    r.connection_limit = row.int64("rolconnlimit");
    r.valid_until_epoch = row.opt("valid_until");
    r.comment = row.text("comment");
  }
  pg::Result members = conn.exec(kMemberships, {roles_param});
  for (int i = 0; i < members.rows(); ++i) st.roles[members.row(i).text("member")].member_of.insert(members.row(i).text("role"));
  pg::Result settings = conn.exec(kSettings, {roles_param});
  for (int i = 0; i < settings.rows(); ++i) {
    std::string kv = settings.row(i).text("setting");
    size_t eq = kv.find('=');
    st.roles[settings.row(i).text("rolname")].settings[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  if (conn.exec(kIsSuperuser).scalar() == "t") {
    pg::Result pw = conn.exec(kPasswords, {roles_param});
    for (int i = 0; i < pw.rows(); ++i) {
      RoleState& r = st.roles[pw.row(i).text("rolname")];
      r.password = pw.row(i).opt("rolpassword");
      r.password_readable = true;
    }
  }
  pg::Result owned = conn.exec(kOwned, {roles_param});
  std::map<std::pair<std::string, std::string>, int> elsewhere;
  for (int i = 0; i < owned.rows(); ++i) {
    pg::Row row = owned.row(i);
    if (auto object = row.opt("object")) st.roles[row.text("rolname")].owned.push_back(*object);
    else ++elsewhere[{row.text("rolname"), row.text("datname")}];
  }
  for (const auto& [key, count] : elsewhere) {
    st.roles[key.first].owned.push_back(fmt::format("{} object(s) in database {}", count, key.second));
  }

  pg::Result schemas = conn.exec(kSchemas);
  for (int i = 0; i < schemas.rows(); ++i) st.schemas.insert(std::string(schemas.view(i, 0)));
  pg::Result rels = conn.exec(kRelations);
  for (int i = 0; i < rels.rows(); ++i) {
    st.relations.push_back({std::string(rels.view(i, 0)), std::string(rels.view(i, 1)), rels.view(i, 2)[0]});
  }
  pg::Result grants = conn.exec(grants_sql(), {roles_param, lo_param});
  for (int i = 0; i < grants.rows(); ++i) {
    pg::Row g = grants.row(i);
    st.grants.insert({g.text("kind"), g.text("schema"), g.text("name"), g.text("col"), g.text("privilege"), g.text("grantee")});
  }
  pg::Result defaults = conn.exec(default_grants_sql(), {roles_param});
  for (int i = 0; i < defaults.rows(); ++i) {
    pg::Row d = defaults.row(i);
    st.default_grants.insert({d.text("owner"), d.text("schema"), d.view("objtype")[0], d.text("privilege"), d.text("grantee")});
  }
  pg::Result lo = conn.exec(kCatalogFunctions, {lo_param});
  for (int i = 0; i < lo.rows(); ++i) st.catalog_functions[lo.row(i).text("proname")].push_back(lo.row(i).text("signature"));
  pg::Result definers = conn.exec(kDefiners);
  for (int i = 0; i < definers.rows(); ++i) {
    pg::Row d = definers.row(i);
    st.definers[{d.text("nspname"), d.text("signature")}] = d.text("owner");
  }
  for (const auto& r : file.roles) {
    if (r.valid_until.empty()) continue;
    st.valid_until_epochs[r.valid_until] = conn.exec(kEpoch, {r.valid_until}).scalar();
  }
  tx.commit();
  return st;
}

CatalogState bootstrap_state(int major, const std::string& database, const std::string& owner) {
  CatalogState st;
  st.bootstrap = true;
  st.database = database;
  st.server_version = major * 10000;
  st.existing_roles = {"postgres", owner, "pg_database_owner", "pg_read_all_data", "pg_write_all_data", "pg_monitor",
                       "pg_read_all_settings", "pg_read_all_stats", "pg_stat_scan_tables", "pg_read_server_files",
                       "pg_write_server_files", "pg_execute_server_program", "pg_signal_backend"};
  if (major >= 15) st.existing_roles.insert("pg_checkpoint");
  if (major >= 16) st.existing_roles.insert({"pg_use_reserved_connections", "pg_create_subscription"});
  if (major >= 17) st.existing_roles.insert("pg_maintain");
  // CloudNativePG's initdb bootstrap runs CREATE ROLE <owner> LOGIN and CREATE DATABASE <db>
  // OWNER <owner> before postInitApplicationSQL: the owner exists, as that statement makes it.
  RoleState& owner_role = st.roles[owner];
  owner_role.login = true;
  st.schemas = {"public"};
  st.grants.insert({"schema", "public", "", "", "USAGE", "PUBLIC"});
  if (major < 15) st.grants.insert({"schema", "public", "", "", "CREATE", "PUBLIC"});
  st.grants.insert({"database", "", database, "", "CONNECT", "PUBLIC"});
  st.grants.insert({"database", "", database, "", "TEMPORARY", "PUBLIC"});
  // PostgreSQL's own signatures; lo_import and lo_export are not granted to PUBLIC.
  const std::vector<std::pair<std::string, std::string>> lo = {
      {"lo_create", "lo_create(oid)"},         {"lo_creat", "lo_creat(integer)"},
      {"lo_export", "lo_export(oid,text)"},    {"lo_from_bytea", "lo_from_bytea(oid,bytea)"},
      {"lo_import", "lo_import(text)"},        {"lo_import", "lo_import(text,oid)"},
      {"lo_put", "lo_put(oid,bigint,bytea)"},  {"lo_truncate", "lo_truncate(integer,integer)"},
      {"lo_truncate64", "lo_truncate64(integer,bigint)"}, {"lo_unlink", "lo_unlink(oid)"},
      {"lowrite", "lowrite(integer,bytea)"}};
  for (const auto& [name, signature] : lo) {
    st.catalog_functions[name].push_back(signature);
    if (name != "lo_import" && name != "lo_export") st.grants.insert({"function", "pg_catalog", signature, "", "EXECUTE", "PUBLIC"});
  }
  std::vector<std::pair<std::string, std::string>> availability;
  for (const char* name : {"pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock", "pg_try_advisory_lock_shared"}) {
    availability.emplace_back(name, fmt::format("{}(bigint)", name));
    availability.emplace_back(name, fmt::format("{}(integer,integer)", name));
  }
  if (major >= 17) {
    availability.emplace_back("pg_logical_emit_message", "pg_logical_emit_message(boolean,text,text,boolean)");
    availability.emplace_back("pg_logical_emit_message", "pg_logical_emit_message(boolean,text,bytea,boolean)");
  } else {
    availability.emplace_back("pg_logical_emit_message", "pg_logical_emit_message(boolean,text,text)");
    availability.emplace_back("pg_logical_emit_message", "pg_logical_emit_message(boolean,text,bytea)");
  }
  availability.emplace_back("pg_notify", "pg_notify(text,text)");
  for (const auto& [name, signature] : availability) {
    st.catalog_functions[name].push_back(signature);
    st.grants.insert({"function", "pg_catalog", signature, "", "EXECUTE", "PUBLIC"});
  }
  return st;
}

}  // namespace pgshift::access
