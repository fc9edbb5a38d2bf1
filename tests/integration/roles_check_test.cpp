// `pgshift roles check` on a real cluster: it passes on the applied roles and fails, naming the
// exact path and the SQL that removes it, for each way a read-only role can still write; running
// that SQL makes it pass again. The live probe (as the role, after SET
// default_transaction_read_only = off) changes nothing, and neither does the bypass corpus run
// straight through psql as the role, with no gate in front.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "roles/roles.hpp"
#include "support/canary.hpp"
#include "support/query_corpus.hpp"
#include "support/support.hpp"
#include "util/process.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

constexpr std::string_view kRoles = R"yaml(roles:
  - name: ops_ro
    login: true
    password: ${OPS_RO_PASSWORD}
    access:
      read: [public]
      settings: {default_transaction_read_only: "on", statement_timeout: 1s, lock_timeout: 1s, pgaudit.log: "read"}
  - name: writer
    login: true
    password: ${OPS_RO_PASSWORD}
public:
  revoke: [temp, large-object-writes, create-on-public, advisory-locks, logical-messages, notify]
  grantTo: [writer]
)yaml";

class RolesCheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("roles-check", {{"autovacuum", "off"}, {"shared_preload_libraries", "pgaudit"}}).release();
    cluster_->create_database("canary");
    pg::Connection admin = connect(*cluster_, "canary");
    run_sql(admin, kCanarySchema);
    // As on a CloudNativePG cluster with pgaudit: its event-trigger functions are SECURITY DEFINER.
    run_sql(admin, "CREATE EXTENSION pgaudit");
    roles_file_ = write_temp_file("roles.yaml", std::string(kRoles));
    CliRun r = run_pgshift({"roles", "apply", "-f", roles_file_, "--db", cluster_->url("canary")}, env());
    ASSERT_EQ(r.exit_code, 0) << r.all();
    run_sql(admin, "GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO writer");
    // The canary's SECURITY DEFINER function is volatile: check would (rightly) name it.
    run_sql(admin, "REVOKE EXECUTE ON FUNCTION canary_definer() FROM PUBLIC");
  }
  static void TearDownTestSuite() { delete cluster_; }

  static std::map<std::string, std::string> env() { return {{"OPS_RO_PASSWORD", localpg::kLocalPassword}}; }

  static CliRun check(bool probe = true) {
    std::vector<std::string> args = {"roles", "check", "-f", roles_file_, "--db", cluster_->url("canary"), "--json"};
    if (!probe) args.push_back("--no-probe");
    CliRun r = run_pgshift(args, env());
    expect_no_password(r.all());
    return r;
  }

  static pg::Connection admin() { return connect(*cluster_, "canary"); }

  // Waits for sessions of finished clients to go, then compares.
  static void expect_canary_unchanged(pg::Connection& observer, const Checksum& before, const std::string& what) {
    Checksum now;
    wait_until([&] { return (now = checksum(observer, false)) == before; }, util::Millis(30'000));
    EXPECT_EQ(now, before) << what << ": the canary changed:\n" << diff(before, now);
  }

  static LocalCluster* cluster_;
  static std::string roles_file_;
};
LocalCluster* RolesCheckTest::cluster_ = nullptr;
std::string RolesCheckTest::roles_file_;

nlohmann::json paths_of(const CliRun& r, const std::string& role = "ops_ro") {
  nlohmann::json doc = nlohmann::json::parse(r.out);
  for (const auto& rc : doc.at("roles")) {
    if (rc.at("role") == role) return rc.at("paths");
  }
  return nlohmann::json::array();
}

TEST_F(RolesCheckTest, PassesOnTheAppliedRolesAndTheProbeChangesNothing) {
  pg::Connection observer = admin();
  const Checksum before = checksum(observer, false);
  CliRun r = check();
  EXPECT_EQ(r.exit_code, 0) << r.all();
  nlohmann::json doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc.at("roles").size(), 1u) << "only the role with an access block is read-only";
  const auto& rc = doc.at("roles")[0];
  EXPECT_TRUE(rc.at("probed").get<bool>()) << rc.dump(1);
  EXPECT_GT(rc.at("probes").size(), 20u) << rc.dump(1);
  std::set<std::string> kinds;
  for (const auto& p : rc.at("probes")) {
    kinds.insert(p.at("kind").get<std::string>());
    EXPECT_TRUE(p.at("refused").get<bool>()) << p.dump();
  }
  for (const char* k : {"temp", "create-schema", "create-table", "insert", "update", "delete", "truncate", "large-object", "sequence"}) {
    EXPECT_TRUE(kinds.count(k)) << "no probe of kind " << k;
  }
  bool guardrail = false, pgaudit = false;
  for (const auto& g : rc.at("guardrails")) {
    if (g.at("setting") == "default_transaction_read_only") guardrail = g.at("settable_by_role").get<bool>();
    if (g.at("setting") == "pgaudit.log") pgaudit = !g.at("settable_by_role").get<bool>();
  }
  EXPECT_TRUE(guardrail) << "the read-only setting is reported as a guardrail the role can change";
  EXPECT_TRUE(pgaudit) << "pgaudit.log is superuser-only: not settable by the role: " << rc.dump(1);
  for (const auto& p : rc.at("paths")) ADD_FAILURE() << "unexpected path (pgaudit's event-trigger functions are not callable): " << p.dump();
  expect_canary_unchanged(observer, before, "roles check with the probe");

  CliRun text = run_pgshift({"roles", "check", "-f", roles_file_, "--db", cluster_->url("canary")}, env());
  EXPECT_NE(text.out.find("ops_ro: no write path"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("guardrails, not barriers"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("pgaudit.log=read", text.out.find("guardrails, not barriers")),
            text.out.find("pgaudit.log=read", text.out.find("enforced (superuser-only"))) << text.out;
}

// Each way to leave a write path open: the setup, the path check must report, and then the
// path's own fix must make check pass again.
struct Hole {
  const char* name;
  std::string setup;
  std::string kind, object, privilege;
};

TEST_F(RolesCheckTest, FailsWithTheExactPathForEachHoleAndItsFixClosesIt) {
  const std::vector<Hole> holes = {
      {"membership in a writer role", "GRANT writer TO ops_ro", "membership", "role writer", ""},
      {"a column UPDATE grant", "GRANT UPDATE (balance) ON accounts TO ops_ro", "column", "column public.accounts.balance", "UPDATE"},
      {"CREATE on public", "GRANT CREATE ON SCHEMA public TO PUBLIC", "schema", "schema public", "CREATE"},
      {"TEMP on the database", "GRANT TEMPORARY ON DATABASE canary TO PUBLIC", "database", "database canary", "TEMPORARY"},
      {"a SECURITY DEFINER function owned by a writer",
       "CREATE FUNCTION public.bump() RETURNS void LANGUAGE sql SECURITY DEFINER AS "
       "$$UPDATE accounts SET balance = balance + 1$$; ALTER FUNCTION public.bump() OWNER TO writer",
       "security-definer", "function public.bump()", "EXECUTE"},
      {"a STABLE SECURITY DEFINER wrapper around a plpgsql function that deletes",
       "CREATE FUNCTION public.purge_impl() RETURNS int LANGUAGE plpgsql AS "
       "$$BEGIN DELETE FROM orders WHERE id < 0; RETURN 0; END$$; "
       "CREATE FUNCTION public.purge() RETURNS int LANGUAGE sql STABLE SECURITY DEFINER AS $$SELECT public.purge_impl()$$",
       "security-definer", "function public.purge()", "EXECUTE"},
      {"session advisory locks", "GRANT EXECUTE ON FUNCTION pg_advisory_lock(bigint) TO PUBLIC", "availability",
       "function pg_catalog.pg_advisory_lock(bigint)", "EXECUTE"},
      {"pg_logical_emit_message", "GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) TO PUBLIC",
       "availability", "function pg_catalog.pg_logical_emit_message(boolean,text,text)", "EXECUTE"},
      {"pg_notify", "GRANT EXECUTE ON FUNCTION pg_notify(text, text) TO PUBLIC", "availability",
       "function pg_catalog.pg_notify(text,text)", "EXECUTE"},
      {"a sequence USAGE grant", "GRANT USAGE ON SEQUENCE invoice_seq TO ops_ro", "sequence", "sequence public.invoice_seq", "USAGE"},
      {"large-object functions", "GRANT EXECUTE ON FUNCTION lo_put(oid, bigint, bytea) TO PUBLIC", "large-object",
       "function pg_catalog.lo_put(oid,bigint,bytea)", "EXECUTE"},
      {"a foreign table that runs a program when read", "GRANT SELECT ON shell_out TO ops_ro", "foreign-table",
       "foreign table public.shell_out", "SELECT"},
      {"a foreign server with a PUBLIC user mapping",
       fmt::format("CREATE EXTENSION IF NOT EXISTS postgres_fdw; "
                   "CREATE SERVER loopback FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '{}', dbname 'canary'); "
                   "CREATE USER MAPPING FOR PUBLIC SERVER loopback OPTIONS (user 'postgres', password {}); "
                   "GRANT USAGE ON FOREIGN SERVER loopback TO PUBLIC",
                   cluster_->port(), pg::quote_literal(localpg::kLocalPassword)),
       "foreign-server", "foreign server loopback", "USAGE"},
  };
  for (const auto& hole : holes) {
    SCOPED_TRACE(hole.name);
    pg::Connection conn = admin();
    run_sql(conn, hole.setup);
    CliRun r = check(false);
    EXPECT_EQ(r.exit_code, 1) << r.all();
    nlohmann::json found;
    for (const auto& p : paths_of(r)) {
      if (p.at("kind") == hole.kind && p.at("object") == hole.object && p.at("privilege") == hole.privilege) found = p;
    }
    ASSERT_FALSE(found.is_null()) << "no " << hole.kind << " path on " << hole.object << " in:\n" << r.out;
    EXPECT_FALSE(found.at("fix").get<std::string>().empty());
    run_sql(conn, found.at("fix").get<std::string>());
    CliRun after = check(false);
    EXPECT_EQ(after.exit_code, 0) << "the fix " << found.at("fix") << " left:\n" << after.out;
  }
  // Every hole closed by its own fix: the applied file plans nothing again.
  CliRun plan = run_pgshift({"roles", "plan", "-f", roles_file_, "--db", cluster_->url("canary"), "--json"}, env());
  EXPECT_EQ(nlohmann::json::parse(plan.out).at("statements").size(), 0u) << plan.out;
}

// The issue's proof: the role really deletes through a STABLE SECURITY DEFINER wrapper (so the
// path is real), check names it, and apply takes EXECUTE from PUBLIC in the covered schema,
// giving it back to the file's writer role, as plan shows.
TEST_F(RolesCheckTest, ApplyTakesDefinerFunctionsFromPublicAndGivesThemToTheWriters) {
  pg::Connection conn = admin();
  run_sql(conn, "CREATE TABLE public.orgs (id int PRIMARY KEY, hits int NOT NULL DEFAULT 0); "
                "INSERT INTO public.orgs SELECT g FROM generate_series(1, 5) g; "
                "CREATE FUNCTION public.orgs_delete() RETURNS int LANGUAGE plpgsql AS "
                "$$BEGIN DELETE FROM public.orgs WHERE id = 5; RETURN 1; END$$; "
                "CREATE FUNCTION public.orgs_wrap() RETURNS int LANGUAGE sql STABLE SECURITY DEFINER AS "
                "$$SELECT public.orgs_delete()$$; "
                "CREATE FUNCTION public.bump_org(org int) RETURNS void LANGUAGE sql SECURITY DEFINER AS "
                "$$UPDATE public.orgs SET hits = hits + 1 WHERE id = org$$");
  {
    pg::Connection ops = pg::Connection::open(cluster_->conninfo("canary", "ops_ro"), "ops_ro");
    run_sql(ops, "SET default_transaction_read_only = off");
    EXPECT_EQ(ops.exec("SELECT public.orgs_wrap()").scalar(), "1");
  }
  EXPECT_EQ(conn.exec("SELECT count(*) FROM public.orgs").scalar(), "4") << "the wrapper deleted through its owner";
  CliRun before = check(false);
  EXPECT_EQ(before.exit_code, 1) << before.all();
  std::set<std::string> flagged;
  for (const auto& p : paths_of(before)) {
    if (p.at("kind") == "security-definer") flagged.insert(p.at("object").get<std::string>());
  }
  EXPECT_TRUE(flagged.count("function public.orgs_wrap()")) << before.out;
  EXPECT_TRUE(flagged.count("function public.bump_org(org integer)")) << before.out;

  CliRun plan = run_pgshift({"roles", "plan", "-f", roles_file_, "--db", cluster_->url("canary"), "--json"}, env());
  ASSERT_EQ(plan.exit_code, 0) << plan.all();
  const nlohmann::json statements = nlohmann::json::parse(plan.out).at("statements");
  auto planned = [&](const std::string& sql) {
    for (const auto& s : statements) {
      if (s == sql) return true;
    }
    return false;
  };
  EXPECT_TRUE(planned("REVOKE EXECUTE ON ROUTINE \"public\".bump_org(org integer) FROM PUBLIC")) << statements.dump(1);
  EXPECT_TRUE(planned("GRANT EXECUTE ON ROUTINE \"public\".bump_org(org integer) TO \"writer\"")) << statements.dump(1);
  EXPECT_TRUE(planned("REVOKE EXECUTE ON ROUTINE \"public\".orgs_wrap() FROM PUBLIC")) << statements.dump(1);

  CliRun apply = run_pgshift({"roles", "apply", "-f", roles_file_, "--db", cluster_->url("canary")}, env());
  ASSERT_EQ(apply.exit_code, 0) << apply.all();
  CliRun after = check(false);
  EXPECT_EQ(after.exit_code, 0) << after.all();
  {
    pg::Connection ops = pg::Connection::open(cluster_->conninfo("canary", "ops_ro"), "ops_ro");
    run_sql(ops, "SET default_transaction_read_only = off");
    try {
      ops.exec("SELECT public.bump_org(1)");
      ADD_FAILURE() << "ops_ro still executes bump_org";
    } catch (const pg::SqlError& e) {
      EXPECT_EQ(e.sqlstate(), "42501");
    }
    pg::Connection writer = pg::Connection::open(cluster_->conninfo("canary", "writer"), "writer");
    writer.exec("SELECT public.bump_org(1)");
  }
  EXPECT_EQ(conn.exec("SELECT hits FROM public.orgs WHERE id = 1").scalar(), "1") << "the writer kept EXECUTE";
  run_sql(conn, "DROP FUNCTION public.bump_org(int), public.orgs_wrap(), public.orgs_delete(); DROP TABLE public.orgs");
}

// What the role can change about itself persists; check must name each difference from the file.
TEST_F(RolesCheckTest, SettingsAndPasswordTheRoleChangedItselfFailTheCheck) {
  {
    pg::Connection ops = pg::Connection::open(cluster_->conninfo("canary", "ops_ro"), "ops_ro");
    run_sql(ops, "SET default_transaction_read_only = off; "
                 "ALTER ROLE CURRENT_USER RESET default_transaction_read_only; "
                 "ALTER ROLE CURRENT_USER SET statement_timeout = 0; "
                 "ALTER ROLE CURRENT_USER PASSWORD 'changed-by-the-role'");
  }
  CliRun r = check(false);
  EXPECT_EQ(r.exit_code, 1) << r.all();
  std::string details;
  for (const auto& p : paths_of(r)) {
    if (p.at("kind") == "spec") details += p.at("detail").get<std::string>() + "\n";
  }
  EXPECT_NE(details.find("setting default_transaction_read_only is not set on the role; the file says on"),
            std::string::npos) << details;
  EXPECT_NE(details.find("setting statement_timeout is 0 on the role; the file says 1s"), std::string::npos) << details;
  EXPECT_NE(details.find("password: the stored password is not the file's"), std::string::npos) << details;
  EXPECT_EQ(details.find("changed-by-the-role"), std::string::npos);
  ASSERT_EQ(run_pgshift({"roles", "apply", "-f", roles_file_, "--db", cluster_->url("canary")}, env()).exit_code, 0);
  CliRun after = check();
  EXPECT_EQ(after.exit_code, 0) << after.all();
}

// A proof that did not run is a failure: a role the check cannot log in as fails unless --no-probe.
TEST_F(RolesCheckTest, AProbeThatCannotLogInFailsTheCheck) {
  pg::ConnInfo wrong = cluster_->conninfo("canary", "ops_ro");
  wrong.set("password", "not-the-password");
  CliRun r = run_pgshift({"roles", "check", "-f", roles_file_, "--db", cluster_->url("canary"), "--probe-url",
                          wrong.to_conninfo(), "--json"},
                         env());
  ASSERT_EQ(r.exit_code, 1) << r.all();
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  ASSERT_TRUE(doc.is_object()) << r.all();
  const nlohmann::json& rc = doc.at("roles").at(0);
  EXPECT_FALSE(rc.at("probed").get<bool>());
  EXPECT_NE(rc.at("probe").get<std::string>().find("cannot log in as ops_ro"), std::string::npos) << rc.dump(1);
  CliRun text = run_pgshift({"roles", "check", "-f", roles_file_, "--db", cluster_->url("canary"), "--probe-url",
                             wrong.to_conninfo()},
                            env());
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_EQ(text.out.find("check passed"), std::string::npos) << text.out;
  EXPECT_EQ(text.all().find("not-the-password"), std::string::npos);
  EXPECT_EQ(check(false).exit_code, 0) << "--no-probe skips the probe on purpose";
}

// PREPARE TRANSACTION needs no privilege: with prepared transactions enabled, any role can leave
// one holding its locks. Check names the setting; a server without them has no such path.
TEST(RolesCheckAvailability, PreparedTransactionsAreAnAvailabilityPath) {
  auto cluster = start_cluster("roles-2pc", {{"max_prepared_transactions", "4"}});
  pg::Connection admin = connect(*cluster);
  run_sql(admin, "CREATE ROLE reader LOGIN PASSWORD " + pg::quote_literal(localpg::kLocalPassword));
  CliRun r = run_pgshift({"roles", "check", "--role", "reader", "--db", cluster->url(), "--no-probe", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.all();
  bool found = false;
  for (const auto& p : paths_of(r, "reader")) {
    found |= p.at("kind") == "availability" && p.at("object") == "setting max_prepared_transactions";
  }
  EXPECT_TRUE(found) << r.out;
  {
    // It is real: the role prepares a transaction that outlives its session.
    pg::Connection reader = pg::Connection::open(cluster->conninfo("postgres", "reader"), "reader");
    run_sql(reader, "BEGIN; SELECT 1; PREPARE TRANSACTION 'left_behind'");
  }
  EXPECT_EQ(admin.exec("SELECT count(*) FROM pg_prepared_xacts").scalar(), "1");
  run_sql(admin, "ROLLBACK PREPARED 'left_behind'");
}

TEST_F(RolesCheckTest, TheProbeTriesRealWritesAndRollsEachBack) {
  // As `writer`, which may write, with nothing known beforehand: the probe's writes pass the
  // privilege checks (so it would see a hole), yet nothing stays written.
  pg::Connection observer = admin();
  const Checksum before = checksum(observer, false);
  std::vector<roles::ProbeAttempt> attempts;
  {
    pg::Connection as_writer = pg::Connection::open(cluster_->conninfo("canary", "writer"), "writer");
    attempts = roles::probe_writes(as_writer, {});
  }
  int passed = 0;
  std::string outcomes;
  for (const auto& a : attempts) {
    outcomes += fmt::format("{} {}: {} {}\n", a.kind, a.object, a.refused ? "refused" : "passed", a.message);
    if (a.kind == "insert" || a.kind == "update" || a.kind == "delete" || a.kind == "temp") passed += !a.refused;
  }
  EXPECT_GT(passed, 10) << "the writer's INSERT/UPDATE/DELETE and TEMP probes must succeed:\n" << outcomes;
  expect_canary_unchanged(observer, before, "the probe as writer");
}

TEST_F(RolesCheckTest, TheBypassCorpusRunAsTheRoleWithPsqlChangesNothing) {
  pg::Connection observer = admin();
  const Checksum before = checksum(observer, false);
  const std::string psql = localpg::postgres_bindir() + "/psql";
  {
    // The same invocation really runs SQL as the role.
    util::ProcessSpec who;
    who.argv = {psql, "-X", "-At", "-c", "SELECT current_user", cluster_->url("canary", "ops_ro")};
    util::RunResult r = util::run(who, util::Millis(30'000));
    ASSERT_EQ(r.out, "ops_ro\n") << r.err;
  }
  int entries = 0;
  for (const auto& e : load_corpus("bypass.txt")) {
    SCOPED_TRACE(e.where() + ": " + e.sql);
    std::string file = write_temp_file("bypass.sql", e.sql + "\n");
    util::ProcessSpec spec;
    spec.argv = {psql, "-X", "-q", "-f", file, cluster_->url("canary", "ops_ro")};
    spec.env["PGCONNECT_TIMEOUT"] = "10";
    util::RunResult r = util::run(spec, util::Millis(60'000));
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.err.find("could not connect"), std::string::npos) << r.err;
    Checksum now = checksum(observer, false);
    if (now != before) expect_canary_unchanged(observer, before, e.where());
    ++entries;
  }
  EXPECT_GT(entries, 100);
}

}  // namespace
