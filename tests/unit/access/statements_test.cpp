// The role SQL generator on synthetic states: what a fresh database needs, nothing when the state
// already matches, revokes for drift, refusals for absent roles that own objects.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "access/spec.hpp"
#include "access/state.hpp"
#include "access/statements.hpp"
#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::access;

namespace {

constexpr const char* kFile = R"yaml(roles:
  - name: ops_ro
    login: true
    connectionLimit: 10
    access:
      read: [public, "billing.inv*"]
      defaultPrivilegesFor: [app]
      settings: {statement_timeout: 5s}
public:
  revoke: [temp, create-on-public]
  grantTo: [app]
)yaml";

std::vector<std::string> sql_of(const RolesPlan& p) {
  std::vector<std::string> out;
  for (const auto& s : p.statements) out.push_back(s.sql);
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

CatalogState live_state() {
  CatalogState st;
  st.database = "app";
  st.existing_roles = {"postgres", "app"};
  st.schemas = {"public", "billing"};
  st.relations = {{"public", "accounts", 'r'}, {"billing", "invoices", 'r'}, {"billing", "payments", 'r'}};
  st.grants.insert({"database", "", "app", "", "TEMPORARY", "PUBLIC"});
  return st;
}

TEST(RoleStatements, FreshDatabaseGetsRoleGrantsDefaultsSettingsAndPublicMoves) {
  RolesFile file = parse_roles_yaml(kFile, "roles.yaml");
  std::vector<std::string> sql = sql_of(plan_statements(file, live_state()));
  EXPECT_EQ(sql.front(), "CREATE ROLE \"ops_ro\" WITH LOGIN NOSUPERUSER INHERIT NOCREATEDB NOCREATEROLE NOREPLICATION "
                         "NOBYPASSRLS CONNECTION LIMIT 10");
  EXPECT_TRUE(contains(sql, "GRANT SELECT ON TABLE \"billing\".\"invoices\" TO \"ops_ro\""));
  EXPECT_FALSE(contains(sql, "GRANT SELECT ON TABLE \"billing\".\"payments\" TO \"ops_ro\"")) << "inv* does not match payments";
  EXPECT_TRUE(contains(sql, "ALTER DEFAULT PRIVILEGES FOR ROLE \"app\" IN SCHEMA \"public\" GRANT SELECT ON TABLES TO \"ops_ro\""));
  EXPECT_FALSE(contains(sql, "ALTER DEFAULT PRIVILEGES FOR ROLE \"app\" IN SCHEMA \"billing\" GRANT SELECT ON TABLES TO \"ops_ro\""))
      << "default privileges only for whole-schema patterns";
  EXPECT_TRUE(contains(sql, "REVOKE TEMPORARY ON DATABASE \"app\" FROM PUBLIC"));
  EXPECT_TRUE(contains(sql, "GRANT TEMPORARY ON DATABASE \"app\" TO \"app\""));
  EXPECT_FALSE(contains(sql, "REVOKE CREATE ON SCHEMA \"public\" FROM PUBLIC")) << "PUBLIC has no CREATE in this state";
  EXPECT_TRUE(contains(sql, "ALTER ROLE \"ops_ro\" SET statement_timeout TO '5s'"));
}

TEST(RoleStatements, MatchingStatePlansNothingAndDriftIsUndone) {
  RolesFile file = parse_roles_yaml(kFile, "roles.yaml");
  CatalogState st = live_state();
  st.existing_roles.insert("ops_ro");
  RoleState& r = st.roles["ops_ro"];
  r.login = true;
  r.connection_limit = 10;
  r.settings = {{"statement_timeout", "5s"}};
  st.grants.erase({"database", "", "app", "", "TEMPORARY", "PUBLIC"});
  st.grants.insert({"database", "", "app", "", "TEMPORARY", "app"});
  st.grants.insert({"schema", "public", "", "", "CREATE", "app"});
  st.grants.insert({"schema", "public", "", "", "USAGE", "ops_ro"});
  st.grants.insert({"schema", "billing", "", "", "USAGE", "ops_ro"});
  st.grants.insert({"table", "public", "accounts", "", "SELECT", "ops_ro"});
  st.grants.insert({"table", "billing", "invoices", "", "SELECT", "ops_ro"});
  st.default_grants.insert({"app", "public", 'r', "SELECT", "ops_ro"});
  st.default_grants.insert({"app", "public", 'S', "SELECT", "ops_ro"});
  EXPECT_TRUE(plan_statements(file, st).statements.empty()) << sql_of(plan_statements(file, st)).front();

  st.grants.insert({"column", "public", "accounts", "balance", "UPDATE", "ops_ro"});
  st.roles["ops_ro"].settings["work_mem"] = "1GB";
  st.roles["ops_ro"].member_of.insert("app");
  std::vector<std::string> sql = sql_of(plan_statements(file, st));
  EXPECT_EQ(sql, (std::vector<std::string>{"REVOKE \"app\" FROM \"ops_ro\"",
                                           "REVOKE UPDATE (\"balance\") ON TABLE \"public\".\"accounts\" FROM \"ops_ro\"",
                                           "ALTER ROLE \"ops_ro\" RESET work_mem"}));
}

TEST(RoleStatements, DefinerFunctionsInReadSchemasLeavePublicForTheWriters) {
  RolesFile file = parse_roles_yaml(
      "roles:\n  - {name: ops_ro, access: {read: [public]}}\n  - {name: processor}\n"
      "public: {grantTo: [app]}\n",
      "r.yaml");
  CatalogState st = live_state();
  st.definers[{"public", "\"bump\"(org integer)"}] = "app";
  st.definers[{"billing", "\"close\"()"}] = "app";  // billing is not read: left alone
  st.grants.insert({"function", "public", "\"bump\"(org integer)", "", "EXECUTE", "PUBLIC"});
  st.grants.insert({"function", "billing", "\"close\"()", "", "EXECUTE", "PUBLIC"});
  std::vector<std::string> sql = sql_of(plan_statements(file, st));
  EXPECT_TRUE(contains(sql, "REVOKE EXECUTE ON ROUTINE \"public\".\"bump\"(org integer) FROM PUBLIC"));
  EXPECT_TRUE(contains(sql, "GRANT EXECUTE ON ROUTINE \"public\".\"bump\"(org integer) TO \"processor\""));
  EXPECT_FALSE(contains(sql, "GRANT EXECUTE ON ROUTINE \"public\".\"bump\"(org integer) TO \"app\"")) << "app owns it";
  EXPECT_FALSE(contains(sql, "GRANT EXECUTE ON ROUTINE \"public\".\"bump\"(org integer) TO \"ops_ro\""));
  for (const auto& s : sql) EXPECT_EQ(s.find("close"), std::string::npos) << s;

  // Applied: PUBLIC lost it, processor has it; a direct grant to the read-only role is revoked.
  st.grants.erase({"function", "public", "\"bump\"(org integer)", "", "EXECUTE", "PUBLIC"});
  st.grants.insert({"function", "public", "\"bump\"(org integer)", "", "EXECUTE", "processor"});
  st.grants.insert({"function", "public", "\"bump\"(org integer)", "", "EXECUTE", "ops_ro"});
  sql = sql_of(plan_statements(file, st));
  EXPECT_TRUE(contains(sql, "REVOKE EXECUTE ON ROUTINE \"public\".\"bump\"(org integer) FROM \"ops_ro\""));
  EXPECT_FALSE(contains(sql, "REVOKE EXECUTE ON ROUTINE \"public\".\"bump\"(org integer) FROM PUBLIC"));
}

TEST(RoleStatements, EachDifferenceNamesTheSettingItChanges) {
  RolesFile file = parse_roles_yaml(kFile, "roles.yaml");
  CatalogState st = live_state();
  st.existing_roles.insert("ops_ro");
  st.roles["ops_ro"].login = true;
  st.roles["ops_ro"].connection_limit = 10;
  st.roles["ops_ro"].settings = {{"statement_timeout", "0"}, {"default_transaction_read_only", "off"}};
  std::vector<std::string> what;
  for (const auto& s : plan_statements(file, st).statements) {
    if (s.kind == StatementKind::setting) what.push_back(s.what);
  }
  EXPECT_TRUE(contains(what, "setting statement_timeout is 0 on the role; the file says 5s"));
  EXPECT_TRUE(contains(what, "setting default_transaction_read_only is off on the role; the file does not set it"));
}

TEST(RoleStatements, AvailabilityFunctionsMoveFromPublicAtBootstrap) {
  RolesFile file = parse_roles_yaml("roles: []\npublic: {revoke: [advisory-locks, logical-messages, notify], grantTo: [app]}\n",
                                    "r.yaml");
  std::vector<std::string> sql = sql_of(plan_statements(file, bootstrap_state(15, "app", "app")));
  for (const char* want : {"REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_lock(bigint) FROM PUBLIC",
                           "GRANT EXECUTE ON FUNCTION pg_catalog.pg_try_advisory_lock_shared(integer,integer) TO \"app\"",
                           "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean,text,bytea) FROM PUBLIC",
                           "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_notify(text,text) FROM PUBLIC"}) {
    EXPECT_TRUE(contains(sql, want)) << want;
  }
  EXPECT_FALSE(contains(sql, "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_xact_lock(bigint) FROM PUBLIC"));
}

TEST(RoleStatements, AWriteListGrantsWritesAndMakesTheRoleAWriterNotReadOnly) {
  RolesFile file = parse_roles_yaml(
      "roles:\n  - {name: processor, access: {read: [public], write: [\"billing.inv*\", billing], "
      "defaultPrivilegesFor: [app]}}\n",
      "r.yaml");
  ASSERT_FALSE(file.roles[0].read_only());
  EXPECT_TRUE(file.roles[0].writer());
  CatalogState st = live_state();
  st.relations.push_back({"billing", "invoice_seq", 'S'});
  std::vector<std::string> sql = sql_of(plan_statements(file, st));
  for (const char* p : {"SELECT", "INSERT", "UPDATE", "DELETE"}) {
    EXPECT_TRUE(contains(sql, fmt::format("GRANT {} ON TABLE \"billing\".\"invoices\" TO \"processor\"", p))) << p;
  }
  EXPECT_FALSE(contains(sql, "GRANT INSERT ON TABLE \"public\".\"accounts\" TO \"processor\""));
  EXPECT_TRUE(contains(sql, "GRANT USAGE ON SEQUENCE \"billing\".\"invoice_seq\" TO \"processor\""));
  // Future tables and sequences: writes where it writes a whole schema, reads where it reads one.
  for (const auto& [schema, grant] : std::vector<std::pair<std::string, std::string>>{
           {"billing", "INSERT ON TABLES"}, {"billing", "USAGE ON SEQUENCES"}, {"public", "SELECT ON SEQUENCES"}}) {
    std::string want = fmt::format("ALTER DEFAULT PRIVILEGES FOR ROLE \"app\" IN SCHEMA \"{}\" GRANT {} TO \"processor\"",
                                   schema, grant);
    EXPECT_TRUE(contains(sql, want)) << want;
  }
}

TEST(RoleStatements, AbsentRoleThatOwnsObjectsIsRefused) {
  RolesFile file = parse_roles_yaml("roles:\n  - {name: old, ensure: absent}\n", "r.yaml");
  CatalogState st = live_state();
  st.existing_roles.insert("old");
  st.roles["old"].owned = {"table t"};
  RolesPlan p = plan_statements(file, st);
  EXPECT_TRUE(p.refused());
  EXPECT_TRUE(p.statements.empty());
  st.roles["old"].owned.clear();
  EXPECT_EQ(sql_of(plan_statements(file, st)), (std::vector<std::string>{"DROP OWNED BY \"old\"", "DROP ROLE \"old\""}));
}

TEST(RoleStatements, PasswordsAreShownRedactedAndComparedWithTheVerifier) {
  RolesFile file = parse_roles_yaml("roles:\n  - {name: u, login: true, password: s3cret-pw}\n", "r.yaml");
  CatalogState st = live_state();
  RolesPlan p = plan_statements(file, st);
  auto it = std::find_if(p.statements.begin(), p.statements.end(), [](const Statement& s) { return s.kind == StatementKind::password; });
  ASSERT_NE(it, p.statements.end());
  EXPECT_EQ(it->shown, "ALTER ROLE \"u\" WITH PASSWORD '****'");
  EXPECT_NE(it->sql.find("s3cret-pw"), std::string::npos);
  // Verifiers as PostgreSQL stores them, computed independently (Python hashlib) for "s3cret-pw" and "x".
  const std::string scram =
      "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$JFJXZ1jRjvbwfuq2cn7DVu8YBEdQe38FQjaMvNnEfgQ=:"
      "4lOccREIAs2Bspzgtw6lEhFm+x957SJgK/YgOgOJZ58=";
  EXPECT_TRUE(password_matches(scram, "u", "s3cret-pw"));
  EXPECT_FALSE(password_matches(scram, "u", "s3cret-pW"));
  EXPECT_TRUE(password_matches("md5ab46f817f8bb7b1222c534f7ecd367cf", "u", "x"));
  EXPECT_FALSE(password_matches("md5ab46f817f8bb7b1222c534f7ecd367cf", "v", "x"));
}

TEST(RoleStatements, UnknownRoleReferencesAreErrorsLiveAndWarningsAtBootstrap) {
  RolesFile file = parse_roles_yaml("roles:\n  - {name: u, inRoles: [ghost]}\n", "r.yaml");
  EXPECT_THROW(plan_statements(file, live_state()), UsageError);
  RolesPlan p = plan_statements(file, bootstrap_state(15, "app", "app"));
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("'ghost'"), std::string::npos);
}

TEST(RolesSpec, UnknownKeysNameTheKeyAndLine) {
  try {
    parse_roles_yaml("roles:\n  - name: a\n    superuserr: true\n", "r.yaml");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("r.yaml:3: unknown key 'superuserr' in a role"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_roles_yaml("roles: []\npublic: {revoke: [everything]}\n", "r.yaml"), UsageError);
  EXPECT_THROW(parse_roles_yaml("roles:\n  - {name: a}\n  - {name: a}\n", "r.yaml"), UsageError);
  EXPECT_THROW(parse_roles_yaml("roles:\n  - {name: a, disablePassword: true, password: x}\n", "r.yaml"), UsageError);
}

}  // namespace
