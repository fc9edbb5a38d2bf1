// `pgshift roles plan|apply` on a real cluster: a second apply plans nothing, drift made by hand
// shows in the plan (and apply removes it), passwords never show, an undeclared role is never
// dropped, `ensure: absent` refuses a role that owns objects (naming them), unknown keys are
// errors naming the key and the line.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pg/quote.hpp"
#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE ROLE app LOGIN;
CREATE ROLE bystander LOGIN;
CREATE SCHEMA billing AUTHORIZATION app;
CREATE TABLE public.accounts (id int PRIMARY KEY, balance numeric);
CREATE TABLE public.events (id bigserial PRIMARY KEY, payload text);
CREATE TABLE billing.invoices (id int PRIMARY KEY, total numeric);
CREATE TABLE billing.payments (id int PRIMARY KEY, amount numeric);
ALTER TABLE public.accounts OWNER TO app;
ALTER TABLE public.events OWNER TO app;
ALTER TABLE billing.invoices OWNER TO app;
ALTER TABLE billing.payments OWNER TO app;
)sql";

// The issue's two example roles, plus the public block.
constexpr std::string_view kRoles = R"yaml(roles:
  - name: ops_ro
    login: true
    connectionLimit: 10
    comment: operators, read-only
    password: ${OPS_RO_PASSWORD}
    access:
      read: [public, "billing.*"]
      defaultPrivilegesFor: [app]
      settings:
        default_transaction_read_only: "on"
        statement_timeout: 5s
        idle_in_transaction_session_timeout: 30s
        lock_timeout: 1s
  - name: agent_ro
    inRoles: [pg_monitor]
    access: {read: [public], settings: {statement_timeout: 2s, default_transaction_read_only: "on"}}
public:
  revoke: [temp, large-object-writes, create-on-public]
  grantTo: [app]
)yaml";

class RolesApplyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("roles-apply").release();
    cluster_->create_database("app");
    pg::Connection admin = connect(*cluster_, "app");
    run_sql(admin, kSchema);
    roles_file_ = write_temp_file("roles.yaml", std::string(kRoles));
  }
  static void TearDownTestSuite() { delete cluster_; }

  static CliRun roles(const std::string& command, const std::string& file, bool json = true) {
    std::vector<std::string> args = {"roles", command, "-f", file, "--db", cluster_->url("app")};
    if (json) args.push_back("--json");
    CliRun r = run_pgshift(args, {{"OPS_RO_PASSWORD", localpg::kLocalPassword}});
    expect_no_password(r.all());
    return r;
  }

  static nlohmann::json statements(const CliRun& r) {
    EXPECT_EQ(r.exit_code, 0) << r.all();
    return nlohmann::json::parse(r.out).at("statements");
  }

  static LocalCluster* cluster_;
  static std::string roles_file_;
};
LocalCluster* RolesApplyTest::cluster_ = nullptr;
std::string RolesApplyTest::roles_file_;

bool has(const nlohmann::json& list, const std::string& text) {
  for (const auto& s : list) {
    if (s.get<std::string>() == text) return true;
  }
  return false;
}

TEST_F(RolesApplyTest, ApplyTwiceTheSecondPlansNothing) {
  nlohmann::json planned = statements(roles("plan", roles_file_));
  EXPECT_TRUE(has(planned, "CREATE ROLE \"ops_ro\" WITH LOGIN NOSUPERUSER INHERIT NOCREATEDB NOCREATEROLE "
                           "NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 10"))
      << planned.dump(1);
  EXPECT_TRUE(has(planned, "ALTER ROLE \"ops_ro\" WITH PASSWORD '****'")) << planned.dump(1);
  EXPECT_TRUE(has(planned, "GRANT SELECT ON TABLE \"billing\".\"invoices\" TO \"ops_ro\"")) << planned.dump(1);
  EXPECT_TRUE(has(planned, "ALTER DEFAULT PRIVILEGES FOR ROLE \"app\" IN SCHEMA \"billing\" GRANT SELECT ON TABLES TO \"ops_ro\""));
  EXPECT_TRUE(has(planned, "REVOKE TEMPORARY ON DATABASE \"app\" FROM PUBLIC")) << planned.dump(1);
  EXPECT_TRUE(has(planned, "GRANT TEMPORARY ON DATABASE \"app\" TO \"app\""));
  EXPECT_TRUE(has(planned, "REVOKE EXECUTE ON FUNCTION pg_catalog.lo_from_bytea(oid,bytea) FROM PUBLIC"));
  EXPECT_TRUE(has(planned, "ALTER ROLE \"agent_ro\" SET statement_timeout TO '2s'"));
  EXPECT_TRUE(has(planned, "GRANT \"pg_monitor\" TO \"agent_ro\""));
  // plan changed nothing.
  pg::Connection admin = connect(*cluster_, "app");
  EXPECT_EQ(admin.exec("SELECT count(*) FROM pg_roles WHERE rolname = 'ops_ro'").scalar(), "0");

  nlohmann::json applied = statements(roles("apply", roles_file_));
  EXPECT_EQ(applied.size(), planned.size());
  EXPECT_EQ(statements(roles("plan", roles_file_)).size(), 0u) << "the second plan must be empty";
  CliRun again = roles("apply", roles_file_, false);
  EXPECT_EQ(again.exit_code, 0) << again.all();
  EXPECT_NE(again.out.find("nothing to do"), std::string::npos) << again.out;

  // What was applied is real: the role logs in with the password and reads; PUBLIC lost TEMP.
  pg::Connection ops = pg::Connection::open(cluster_->conninfo("app", "ops_ro"), "ops_ro");
  EXPECT_EQ(ops.exec("SELECT count(*) FROM billing.invoices").scalar(), "0");
  EXPECT_EQ(ops.exec("SHOW statement_timeout").scalar(), "5s");
  EXPECT_EQ(ops.exec("SELECT has_database_privilege('app', 'TEMPORARY')").scalar(), "f");
  EXPECT_EQ(admin.exec("SELECT has_database_privilege('app', 'app', 'TEMPORARY')").scalar(), "t");

  // A table app creates later is readable through the default privileges; nothing to plan.
  run_sql(admin, "SET ROLE app; CREATE TABLE billing.refunds (id int); RESET ROLE");
  EXPECT_EQ(ops.exec("SELECT count(*) FROM billing.refunds").scalar(), "0");
  EXPECT_EQ(statements(roles("plan", roles_file_)).size(), 0u);
}

TEST_F(RolesApplyTest, PlanShowsManualDriftAndApplyRemovesIt) {
  ASSERT_EQ(roles("apply", roles_file_).exit_code, 0);
  pg::Connection admin = connect(*cluster_, "app");
  run_sql(admin, R"sql(
    GRANT UPDATE ON public.accounts TO ops_ro;
    GRANT INSERT (payload) ON public.events TO ops_ro;
    REVOKE SELECT ON billing.payments FROM ops_ro;
    ALTER ROLE ops_ro SET statement_timeout = '1min';
    ALTER ROLE ops_ro SET work_mem = '64MB';
    ALTER ROLE ops_ro CONNECTION LIMIT 50;
    GRANT TEMPORARY ON DATABASE app TO PUBLIC;
    GRANT app TO agent_ro;
  )sql");
  nlohmann::json drift = statements(roles("plan", roles_file_));
  EXPECT_TRUE(has(drift, "REVOKE UPDATE ON TABLE \"public\".\"accounts\" FROM \"ops_ro\"")) << drift.dump(1);
  EXPECT_TRUE(has(drift, "REVOKE INSERT (\"payload\") ON TABLE \"public\".\"events\" FROM \"ops_ro\"")) << drift.dump(1);
  EXPECT_TRUE(has(drift, "GRANT SELECT ON TABLE \"billing\".\"payments\" TO \"ops_ro\"")) << drift.dump(1);
  EXPECT_TRUE(has(drift, "ALTER ROLE \"ops_ro\" SET statement_timeout TO '5s'")) << drift.dump(1);
  EXPECT_TRUE(has(drift, "ALTER ROLE \"ops_ro\" RESET work_mem")) << drift.dump(1);
  EXPECT_TRUE(has(drift, "ALTER ROLE \"ops_ro\" WITH CONNECTION LIMIT 10")) << drift.dump(1);
  EXPECT_TRUE(has(drift, "REVOKE TEMPORARY ON DATABASE \"app\" FROM PUBLIC")) << drift.dump(1);
  EXPECT_TRUE(has(drift, "REVOKE \"app\" FROM \"agent_ro\"")) << drift.dump(1);
  EXPECT_EQ(drift.size(), 8u) << drift.dump(1);
  ASSERT_EQ(roles("apply", roles_file_).exit_code, 0);
  EXPECT_EQ(statements(roles("plan", roles_file_)).size(), 0u);
}

TEST_F(RolesApplyTest, AbsentRoleThatOwnsObjectsIsRefusedAndAnUndeclaredRoleIsNeverDropped) {
  pg::Connection admin = connect(*cluster_, "app");
  run_sql(admin, "CREATE ROLE retired; CREATE TABLE public.retired_notes (id int); "
                 "ALTER TABLE public.retired_notes OWNER TO retired");
  std::string file = write_temp_file("absent.yaml", "roles:\n  - name: retired\n    ensure: absent\n");
  CliRun refused = roles("apply", file, false);
  EXPECT_EQ(refused.exit_code, 1) << refused.all();
  EXPECT_NE(refused.err.find("table retired_notes"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("nothing changed"), std::string::npos) << refused.err;
  EXPECT_EQ(admin.exec("SELECT count(*) FROM pg_roles WHERE rolname = 'retired'").scalar(), "1");

  run_sql(admin, "ALTER TABLE public.retired_notes OWNER TO app; GRANT SELECT ON public.accounts TO retired");
  nlohmann::json dropped = statements(roles("apply", file));
  EXPECT_TRUE(has(dropped, "DROP ROLE \"retired\"")) << dropped.dump(1);
  EXPECT_EQ(admin.exec("SELECT count(*) FROM pg_roles WHERE rolname = 'retired'").scalar(), "0");
  // bystander, app and the declared roles of the other file are not in this file: untouched.
  EXPECT_EQ(admin.exec("SELECT count(*) FROM pg_roles WHERE rolname IN ('bystander', 'app')").scalar(), "2");
  EXPECT_EQ(statements(roles("plan", file)).size(), 0u);
}

TEST_F(RolesApplyTest, UnknownKeysAreErrorsNamingTheKeyAndLine) {
  std::string file = write_temp_file("typo.yaml", "roles:\n  - name: ops_ro\n    login: true\n    acess:\n      read: [public]\n");
  CliRun r = roles("plan", file, false);
  EXPECT_EQ(r.exit_code, 2) << r.all();
  EXPECT_NE(r.err.find("typo.yaml:4: unknown key 'acess'"), std::string::npos) << r.err;
  std::string nested = write_temp_file("nested.yaml", "roles:\n  - name: x\n    access:\n      read: [public]\n      writes: [public]\n");
  r = roles("plan", nested, false);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nested.yaml:5: unknown key 'writes' in access"), std::string::npos) << r.err;
  std::string missing = write_temp_file("missing.yaml", "roles:\n  - name: x\n    inRoles: [nobody_here]\n");
  r = roles("plan", missing, false);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'nobody_here', which does not exist"), std::string::npos) << r.err;
}

}  // namespace
