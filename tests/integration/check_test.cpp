// `pgshift check` end to end: real clusters seeded with each hazard, the report a user reads.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using nlohmann::json;

namespace {

constexpr std::string_view kSourceSchema = R"sql(
CREATE EXTENSION citext;
CREATE TYPE status AS ENUM ('new', 'paid', 'refunded');
CREATE TABLE orders (id bigserial PRIMARY KEY, status status NOT NULL, total numeric(12,2), note text);
CREATE TABLE customers (id int PRIMARY KEY, email citext);
CREATE TABLE page_views (at timestamptz, path text);
CREATE TABLE raw_events (at timestamptz, payload json);
CREATE TABLE coupons (code text NOT NULL, pct int);
CREATE UNIQUE INDEX coupons_code ON coupons (code);
CREATE UNLOGGED TABLE sessions (token text PRIMARY KEY);
CREATE TABLE oban_jobs (id bigserial PRIMARY KEY, state text);
CREATE TABLE legacy (id serial PRIMARY KEY);
CREATE TABLE metrics (id bigint, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE metrics_2025 PARTITION OF metrics FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT lo_create(0);
)sql";

constexpr std::string_view kTargetSchema = R"sql(
CREATE TYPE status AS ENUM ('new', 'paid');
CREATE TABLE orders (id bigserial PRIMARY KEY, status status NOT NULL, total numeric(10,2));
CREATE TABLE customers (id int PRIMARY KEY, email text, tenant int NOT NULL);
CREATE TABLE page_views (at timestamptz, path text);
CREATE TABLE raw_events (at timestamptz, payload json);
CREATE TABLE coupons (code text NOT NULL, pct int);
CREATE UNLOGGED TABLE sessions (token text PRIMARY KEY);
CREATE TABLE oban_jobs (id bigserial PRIMARY KEY, state text);
CREATE TABLE metrics (id bigint, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE metrics_all PARTITION OF metrics DEFAULT;
CREATE TABLE only_here (id int);
INSERT INTO page_views VALUES (now(), '/seed');
)sql";

constexpr std::string_view kCleanSchema = R"sql(
CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL, balance numeric(14,2));
CREATE TABLE transfers (id bigserial PRIMARY KEY, src bigint, dst bigint, amount numeric(14,2));
)sql";

class CheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = start_cluster("check-src").release();
    target_ = start_cluster("check-tgt").release();
    for (auto* c : {source_, target_}) {
      c->create_database("app");
      c->create_database("clean");
      c->create_database("shapes");
    }
    // shapes: a table whose key the target lacks, and a table on the source only.
    pg::Connection ss = connect(*source_, "shapes");
    run_sql(ss, "CREATE TABLE keyed (id int PRIMARY KEY, v text); CREATE TABLE extra (id int PRIMARY KEY)");
    pg::Connection ts = connect(*target_, "shapes");
    run_sql(ts, "CREATE TABLE keyed (id int, v text)");
    source_->create_database("noschema");
    target_->create_database("noschema");
    pg::Connection sn = connect(*source_, "noschema");
    run_sql(sn, kCleanSchema);
    pg::Connection s = connect(*source_, "app");
    run_sql(s, kSourceSchema);
    pg::Connection t = connect(*target_, "app");
    run_sql(t, kTargetSchema);
    pg::Connection sc = connect(*source_, "clean");
    run_sql(sc, kCleanSchema);
    run_sql(sc, "INSERT INTO accounts (name) VALUES ('a'), ('b')");
    pg::Connection tc = connect(*target_, "clean");
    run_sql(tc, kCleanSchema);
  }
  static void TearDownTestSuite() {
    delete source_;
    delete target_;
  }

  static json check_json(const std::string& source_url, const std::string& target_url,
                         std::vector<std::string> extra = {}, int expected_exit = 1) {
    std::vector<std::string> args = {"check", "--json", "--source", source_url, "--target", target_url};
    args.insert(args.end(), extra.begin(), extra.end());
    CliRun run = run_pgshift(args);
    EXPECT_EQ(run.exit_code, expected_exit) << run.all();
    expect_no_password(run.all());
    return json::parse(run.out);
  }

  static const json* hazard(const json& report, const std::string& code) {
    for (const auto& h : report["hazards"]) {
      if (h["code"] == code) return &h;
    }
    return nullptr;
  }

  static void expect_hazard(const json& report, const std::string& code, const std::string& severity,
                            const std::string& object = "") {
    const json* h = hazard(report, code);
    ASSERT_NE(h, nullptr) << "missing hazard " << code << " in " << report["hazards"].dump(1);
    EXPECT_EQ((*h)["severity"], severity) << code;
    if (!object.empty()) {
      bool found = false;
      for (const auto& o : (*h)["objects"]) found = found || o.get<std::string>().find(object) != std::string::npos;
      EXPECT_TRUE(found) << code << " does not name " << object << ": " << h->dump();
    }
  }

  static LocalCluster* source_;
  static LocalCluster* target_;
};

LocalCluster* CheckTest::source_ = nullptr;
LocalCluster* CheckTest::target_ = nullptr;

TEST_F(CheckTest, NamesEachSeededHazardWithItsFix) {
  json r = check_json(source_->url("app"), target_->url("app"), {"--exclude", "oban_*"});
  expect_hazard(r, "column-missing-on-target", "error", "public.orders.note");
  expect_hazard(r, "column-type-mismatch", "error", "public.orders.total");
  expect_hazard(r, "column-type-mismatch", "error", "public.customers.email");
  expect_hazard(r, "target-column-requires-value", "error", "public.customers.tenant");
  expect_hazard(r, "enum-labels-missing", "error", "'refunded'");
  expect_hazard(r, "target-not-empty", "error", "public.page_views");
  expect_hazard(r, "no-replica-identity", "warning", "public.page_views");
  expect_hazard(r, "identity-full-without-equality", "error", "public.raw_events.payload (json)");
  expect_hazard(r, "replica-identity-index", "info", "coupons_code");
  expect_hazard(r, "unlogged-tables", "warning", "public.sessions");
  expect_hazard(r, "large-objects", "warning");
  expect_hazard(r, "sequences", "info");
  expect_hazard(r, "sequence-missing-on-target", "warning", "public.legacy");
  expect_hazard(r, "extension-missing-on-target", "warning", "citext");
  expect_hazard(r, "excluded-tables", "info", "public.oban_jobs");
  expect_hazard(r, "source-only-tables", "error", "public.legacy");
  expect_hazard(r, "target-only-tables", "info", "public.only_here");
  expect_hazard(r, "partitions-via-root", "info", "public.metrics_2025 via public.metrics");
  for (const auto& h : r["hazards"]) {
    if (h["severity"] != "info") {
      EXPECT_FALSE(h["fix"].get<std::string>().empty()) << h.dump();
    }
  }
  EXPECT_FALSE(r["summary"]["ok"].get<bool>());
  std::set<std::string> replicated;
  for (const auto& t : r["replicated_tables"]) replicated.insert(t);
  EXPECT_EQ(replicated, (std::set<std::string>{"public.coupons", "public.customers", "public.metrics",
                                               "public.orders", "public.page_views", "public.raw_events"}));
}

TEST_F(CheckTest, HumanReportShowsSeverityMessageObjectsAndFix) {
  CliRun run = run_pgshift({"check", "--source", source_->url("app"), "--target", target_->url("app")});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.out.find("ERROR   enum-labels-missing"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("fix: ALTER TYPE"), std::string::npos);
  EXPECT_NE(run.out.find("- public.orders.note"), std::string::npos);
  EXPECT_NE(run.out.find("not ready"), std::string::npos);
  EXPECT_NE(run.out.find(fmt::format("source  postgres@127.0.0.1:{}/app", source_->port())), std::string::npos);
  expect_no_password(run.all());
}

TEST_F(CheckTest, CleanPairPasses) {
  json r = check_json(source_->url("clean"), target_->url("clean"), {}, 0);
  EXPECT_TRUE(r["summary"]["ok"].get<bool>());
  EXPECT_EQ(r["summary"]["errors"], 0);
  EXPECT_EQ(r["summary"]["warnings"], 0);
  CliRun run = run_pgshift({"check", "--source", source_->url("clean"), "--target", target_->url("clean")});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("ready for pgshift sync start"), std::string::npos) << run.out;
}

// A table on the source only would be missing after cutover: an error unless the operator says
// so; a target table without the key the source replicates by: sync start would refuse.
TEST_F(CheckTest, SourceOnlyTablesAndTargetsWithoutKeysAreErrors) {
  json r = check_json(source_->url("shapes"), target_->url("shapes"));
  expect_hazard(r, "source-only-tables", "error", "public.extra");
  expect_hazard(r, "target-key-missing", "error", "public.keyed");
  EXPECT_NE((*hazard(r, "target-key-missing"))["fix"].get<std::string>().find("ADD PRIMARY KEY"), std::string::npos);
  json allowed = check_json(source_->url("shapes"), target_->url("shapes"), {"--allow-missing-tables"});
  expect_hazard(allowed, "source-only-tables", "warning", "public.extra");
}

// No schema on the target at all: not "ready" with 0 tables but an error with the command.
TEST_F(CheckTest, EmptyTargetIsAnErrorWithTheSchemaCopyCommand) {
  json r = check_json(source_->url("noschema"), target_->url("noschema"));
  expect_hazard(r, "target-empty", "error", "public.accounts");
  EXPECT_NE((*hazard(r, "target-empty"))["fix"].get<std::string>().find("pgshift schema copy"), std::string::npos);
  EXPECT_EQ(hazard(r, "source-only-tables"), nullptr) << "one error, not two";
}

// Both URLs on one server (a mistyped target, or both variables set to the same URL): before
// this rule the only error was target-not-empty, whose fix (--truncate-target) emptied the source.
TEST_F(CheckTest, SourceAndTargetOnOneServerAreRefused) {
  json same = check_json(source_->url("clean"), source_->url("clean"));
  expect_hazard(same, "same-database", "error", "database clean");
  EXPECT_EQ(hazard(same, "same-server"), nullptr);
  json sibling = check_json(source_->url("clean"), source_->url("app"));
  expect_hazard(sibling, "same-server", "error", "database app");
  EXPECT_EQ(hazard(sibling, "same-database"), nullptr);

  // Without the rule it would truncate, then hang in CREATE SUBSCRIPTION: bound the wait.
  CliRun start = run_pgshift({"sync", "start", "--truncate-target", "--source", source_->url("clean"), "--target",
                              source_->url("clean")},
                             {}, util::Millis(30'000));
  EXPECT_EQ(start.exit_code, 1) << start.all();
  EXPECT_NE(start.err.find("sync start refused"), std::string::npos) << start.err;
  EXPECT_NE(start.err.find("same-database"), std::string::npos) << start.err;
  pg::Connection s = connect(*source_, "clean");
  EXPECT_EQ(count_rows(s, "accounts"), 2) << "the source was truncated";
  EXPECT_EQ(s.exec("SELECT count(*) FROM pg_publication").scalar_int64(), 0);
}

TEST_F(CheckTest, RolesWithoutReplicationOwnershipOrSuperuser) {
  pg::Connection s = connect(*source_, "clean");
  run_sql(s, fmt::format("CREATE ROLE reader LOGIN PASSWORD '{}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader",
                         localpg::kLocalPassword));
  pg::Connection t = connect(*target_, "clean");
  run_sql(t, fmt::format("CREATE ROLE app_owner LOGIN PASSWORD '{}'", localpg::kLocalPassword));
  json r = check_json(source_->url("clean", "reader"), target_->url("clean", "app_owner"));
  expect_hazard(r, "source-role-replication", "error", "role reader");
  expect_hazard(r, "source-role-publication", "error");
  expect_hazard(r, "source-role-not-owner", "error", "public.accounts");
  expect_hazard(r, "target-role-subscription", "error", "role app_owner");
  EXPECT_EQ(hazard(r, "source-role-no-select"), nullptr) << "reader can SELECT";
  expect_hazard(r, "target-rows-unknown", "warning", "public.accounts");
}

TEST_F(CheckTest, SourceWithoutLogicalWalOrSlots) {
  auto legacy = start_cluster("check-legacy", {{"wal_level", "replica"}, {"max_replication_slots", "0"},
                                               {"max_wal_senders", "0"}});
  json r = check_json(legacy->url(), target_->url("clean"));
  expect_hazard(r, "wal-level", "error", "source.wal_level");
  expect_hazard(r, "too-few-max_replication_slots", "error");
  expect_hazard(r, "too-few-max_wal_senders", "error");
  const json* wal = hazard(r, "wal-level");
  EXPECT_NE((*wal)["fix"].get<std::string>().find("rds.logical_replication"), std::string::npos);
}

TEST_F(CheckTest, PlanFileWithEnvironmentReference) {
  std::string path = ::testing::TempDir() + "/check-plan.yaml";
  std::ofstream(path) << "source: ${CHECK_TEST_SOURCE}\n"
                      << "target: " << target_->url("app") << "\n"
                      << "exclude:\n  - oban_jobs\n  - legacy\n";
  CliRun run = run_pgshift({"check", "--json", "-c", path}, {{"CHECK_TEST_SOURCE", source_->url("app")}});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  json r = json::parse(run.out);
  EXPECT_EQ(hazard(r, "source-only-tables"), nullptr) << "legacy is excluded by the plan";
  expect_hazard(r, "excluded-tables", "info", "public.legacy");
  expect_no_password(run.all());
}

}  // namespace
