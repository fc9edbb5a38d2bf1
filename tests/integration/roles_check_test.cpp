// `pgshift roles check` on a real cluster: it passes on the applied roles and fails, naming the
// exact path and the SQL that removes it, for each way a read-only role can still write; running
// that SQL makes it pass again. The live probe (as the role, after SET
// default_transaction_read_only = off) changes nothing, and neither does the bypass corpus run
// straight through psql as the role, with no gate in front.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

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
      settings: {default_transaction_read_only: "on", statement_timeout: 1s, lock_timeout: 1s}
  - name: writer
    login: true
    password: ${OPS_RO_PASSWORD}
public:
  revoke: [temp, large-object-writes, create-on-public]
  grantTo: [writer]
)yaml";

class RolesCheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("roles-check", {{"autovacuum", "off"}}).release();
    cluster_->create_database("canary");
    pg::Connection admin = connect(*cluster_, "canary");
    run_sql(admin, kCanarySchema);
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
  bool guardrail = false;
  for (const auto& g : rc.at("guardrails")) guardrail |= g.at("setting") == "default_transaction_read_only";
  EXPECT_TRUE(guardrail) << "the read-only setting is reported as a guardrail";
  expect_canary_unchanged(observer, before, "roles check with the probe");

  CliRun text = run_pgshift({"roles", "check", "-f", roles_file_, "--db", cluster_->url("canary")}, env());
  EXPECT_NE(text.out.find("ops_ro: no write path"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("guardrails, not barriers"), std::string::npos) << text.out;
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
