// The role SQL generator on synthetic states: what a fresh database needs, nothing when the state
// already matches, revokes for drift, refusals for absent roles that own objects.
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
  EXPECT_TRUE(plan_statements(file, st).statements.empty()) << sql_of(plan_statements(file, st)).front();

  st.grants.insert({"column", "public", "accounts", "balance", "UPDATE", "ops_ro"});
  st.roles["ops_ro"].settings["work_mem"] = "1GB";
  st.roles["ops_ro"].member_of.insert("app");
  std::vector<std::string> sql = sql_of(plan_statements(file, st));
  EXPECT_EQ(sql, (std::vector<std::string>{"REVOKE \"app\" FROM \"ops_ro\"",
                                           "REVOKE UPDATE (\"balance\") ON TABLE \"public\".\"accounts\" FROM \"ops_ro\"",
                                           "ALTER ROLE \"ops_ro\" RESET work_mem"}));
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
