// The ddl room on one real server: the statement splitter on texts that fool a naive one, what
// the capture records for each kind of statement a migration tool sends (the verdict the other
// side acts on), pgshift's own sessions never captured, and install/uninstall leaving nothing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ddl/ddl.hpp"
#include "pg/error.hpp"
#include "pg/transaction.hpp"
#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using nlohmann::json;

namespace {

class DdlCaptureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("ddl-capture").release();
    cluster_->create_database("app");
    pg::Connection admin = connect(*cluster_, "app");
    run_sql(admin, "CREATE TABLE orders (id int PRIMARY KEY, total numeric); CREATE TABLE scratch_a (id int)");
    ddl::Settings settings{ddl::Policy::follow, {catalog::TablePattern("scratch_*")}};
    ddl::Capability cap = ddl::install(admin, settings, true, true);
    ASSERT_TRUE(cap.capture) << cap.why_not;
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  static std::vector<std::string> split(const std::string& text) {
    pg::Connection c = connect(*cluster_, "app");
    json j = json::parse(c.exec("SELECT array_to_json(pgshift.ddl_split($1))::text", {text}).scalar());
    return j.get<std::vector<std::string>>();
  }

  // Runs `text` as a client would (simple protocol, one string) and returns the entries it made.
  static std::vector<ddl::Entry> capture(const std::string& text) {
    pg::Connection c = connect(*cluster_, "app");
    int64_t before = c.exec("SELECT coalesce(max(seq), 0) FROM pgshift.ddl_log").scalar_int64();
    c.exec_simple(text);
    std::vector<ddl::Entry> out;
    for (auto& e : ddl::entries(c, c, 1000)) {
      if (e.seq > before) out.push_back(e);
    }
    return out;
  }

  static LocalCluster* cluster_;
};

LocalCluster* DdlCaptureTest::cluster_ = nullptr;

TEST_F(DdlCaptureTest, SplitterHonoursQuotesDollarQuotesAndComments) {
  EXPECT_EQ(split("SELECT 1; SELECT 2"), (std::vector<std::string>{"SELECT 1", "SELECT 2"}));
  EXPECT_EQ(split("SELECT ';' AS a; SELECT 'it''s;'"), (std::vector<std::string>{"SELECT ';' AS a", "SELECT 'it''s;'"}));
  EXPECT_EQ(split("SELECT E'\\'; x'; SELECT 2"), (std::vector<std::string>{"SELECT E'\\'; x'", "SELECT 2"}));
  EXPECT_EQ(split("CREATE TABLE \"a;b\" (id int); SELECT 1").size(), 2u);
  EXPECT_EQ(split("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$; SELECT 2"),
            (std::vector<std::string>{"CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$",
                                      "SELECT 2"}));
  EXPECT_EQ(split("SELECT $$;$$; SELECT $1::int").size(), 2u);
  EXPECT_EQ(split("/* a; /* nested; */ still; */ SELECT 1; -- c;\nSELECT 2").size(), 2u);
  EXPECT_EQ(split("  ;;  SELECT 1  ;  "), (std::vector<std::string>{"SELECT 1"}));
  EXPECT_EQ(split("SELECT 'é;ü'; SELECT 'ß'"), (std::vector<std::string>{"SELECT 'é;ü'", "SELECT 'ß'"}));
  std::string big = "ALTER TABLE orders ADD COLUMN note text DEFAULT '" + std::string(200'000, 'x') + ";'";
  EXPECT_EQ(split(big + "; SELECT 1").size(), 2u) << "a 200 kB statement splits in linear time";
}

TEST_F(DdlCaptureTest, EachKindOfStatementGetsTheRightVerdict) {
  auto one = [](const std::string& text) {
    std::vector<ddl::Entry> e = capture(text);
    EXPECT_GE(e.size(), 1u) << text;
    return e.empty() ? ddl::Entry{} : e.front();
  };
  ddl::Entry add = one("ALTER TABLE orders ADD COLUMN note text");
  EXPECT_EQ(add.verdict, "follow");
  EXPECT_EQ(add.tag, "ALTER TABLE");
  EXPECT_EQ(add.tables, (std::vector<std::string>{"public.orders"}));
  EXPECT_EQ(add.statements, (std::vector<std::string>{"ALTER TABLE orders ADD COLUMN note text"}));
  EXPECT_EQ(add.search_path, "\"$user\", public") << "the client's search_path, not the capture function's";
  EXPECT_EQ(add.role, "postgres");

  ddl::Entry cic = one("CREATE INDEX CONCURRENTLY orders_note ON orders (note)");
  EXPECT_EQ(cic.verdict, "follow");
  EXPECT_EQ(cic.statements, (std::vector<std::string>{"CREATE INDEX orders_note ON orders (note)"}));

  ddl::Entry txn = one("BEGIN; SET LOCAL lock_timeout = '1s'; ALTER TABLE orders ADD COLUMN a int; COMMIT");
  EXPECT_EQ(txn.verdict, "follow") << txn.reason;
  EXPECT_EQ(txn.statements, (std::vector<std::string>{"ALTER TABLE orders ADD COLUMN a int"}));

  std::vector<ddl::Entry> two = capture("ALTER TABLE orders ADD COLUMN b int; CREATE INDEX orders_b ON orders (b)");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].part, 1);
  EXPECT_EQ(two[1].part, 2) << "the second command of one text is covered by the first";
  EXPECT_EQ(two[0].statements.size(), 2u);

  ddl::Entry mixed = one("ALTER TABLE orders ADD COLUMN c int; UPDATE orders SET c = 1");
  EXPECT_EQ(mixed.verdict, "hold");
  EXPECT_NE(mixed.reason.find("UPDATE"), std::string::npos) << mixed.reason;
  EXPECT_EQ(mixed.statements, (std::vector<std::string>{"ALTER TABLE orders ADD COLUMN c int"}));

  ddl::Entry in_do = one("DO $$ BEGIN EXECUTE 'CREATE TABLE made_in_do (id int)'; END $$");
  EXPECT_EQ(in_do.verdict, "hold");
  EXPECT_NE(in_do.reason.find("DO"), std::string::npos) << in_do.reason;

  ddl::Entry grant = one("GRANT SELECT ON orders TO PUBLIC");
  EXPECT_EQ(grant.verdict, "skip");

  ddl::Entry excluded = one("ALTER TABLE scratch_a ADD COLUMN junk text");
  EXPECT_EQ(excluded.verdict, "skip");
  EXPECT_NE(excluded.reason.find("excluded"), std::string::npos);

  ddl::Entry dropped = one("DROP TABLE scratch_a");
  EXPECT_EQ(dropped.verdict, "skip") << "a dropped table is known from sql_drop: " << dropped.reason;
  EXPECT_EQ(dropped.tables, (std::vector<std::string>{"public.scratch_a"}));

  ddl::Entry enum_value = one("CREATE TYPE mood AS ENUM ('ok')");
  EXPECT_EQ(enum_value.verdict, "follow");
}

TEST_F(DdlCaptureTest, PgshiftSessionsAndPublicationsAreNotCaptured) {
  pg::Connection c = connect(*cluster_, "app");
  int64_t before = c.exec("SELECT count(*) FROM pgshift.ddl_log").scalar_int64();
  // A command's session, and the sync's helpers on the target: the index and constraint rebuild
  // after a parallel copy once filled the target's log with ~180 ALTER TABLEs shown as pending.
  for (const char* name : {"pgshift", "pgshift/cutover", "pgshift index build", "pgshift copy", "pgshift snapshot s1"}) {
    pg::ConnectOptions o;
    o.application_name = name;
    pg::Connection own = pg::Connection::open(pg::ConnInfo::parse(cluster_->url("app"), "own"), o);
    own.exec("CREATE TABLE made_by_pgshift (id int)");
    own.exec("ALTER TABLE made_by_pgshift ADD CONSTRAINT made_by_pgshift_pkey PRIMARY KEY (id)");
    own.exec("DROP TABLE made_by_pgshift");
  }
  c.exec("CREATE PUBLICATION p_test FOR TABLE orders");
  c.exec("DROP PUBLICATION p_test");
  EXPECT_EQ(c.exec("SELECT count(*) FROM pgshift.ddl_log").scalar_int64(), before);

  // An application whose name merely starts with the word is followed.
  pg::ConnectOptions app;
  app.application_name = "pgshift-workload";
  pg::Connection other = pg::Connection::open(pg::ConnInfo::parse(cluster_->url("app"), "app"), app);
  other.exec("CREATE TABLE made_by_the_app (id int)");
  EXPECT_EQ(c.exec("SELECT count(*) FROM pgshift.ddl_log").scalar_int64(), before + 1);
  other.exec("DROP TABLE made_by_the_app");
}

// The apply side: a change the other side already has (made there by hand) or an object it
// no longer has is noted, not a stop; any other failure stops the apply with the id named.
TEST_F(DdlCaptureTest, ApplyNotesWhatIsAlreadyThereAndStopsOnRealFailures) {
  pg::Connection c = connect(*cluster_, "app");
  auto apply = [&](const std::string& id, const std::string& statement) {
    pg::Transaction tx(c);
    c.exec("SET LOCAL session_replication_role = replica");  // as the apply worker runs
    c.exec("INSERT INTO pgshift.ddl_log (id, seq, captured_at, role_name, search_path, command_tag, tables, statement, "
           "part, verdict, reason, statements) VALUES ($1::uuid, 1000, now(), 'postgres', 'public', 'X', '{}', $2, 1, "
           "'follow', '', ARRAY[$2])",
           {id, statement});
    tx.commit();
    return c.exec("SELECT outcome || ': ' || detail FROM pgshift.ddl_outcome WHERE id = $1::uuid", {id}).scalar();
  };
  EXPECT_NE(apply("00000000-0000-0000-0000-000000000001", "CREATE TABLE orders (id int)").find("already there"),
            std::string::npos);
  EXPECT_NE(apply("00000000-0000-0000-0000-000000000002", "DROP INDEX no_such_index").find("already gone"),
            std::string::npos);
  try {
    apply("00000000-0000-0000-0000-000000000003", "ALTER TABLE no_such_table ADD COLUMN x int");
    ADD_FAILURE() << "a change that cannot be made here must stop the apply";
  } catch (const pg::SqlError& e) {
    EXPECT_NE(e.server_message().find("schema change 00000000-0000-0000-0000-000000000003 failed here"), std::string::npos)
        << e.server_message();
  }
}

TEST_F(DdlCaptureTest, UninstallLeavesNothing) {
  pg::Connection c = connect(*cluster_, "app");
  EXPECT_TRUE(ddl::capturing(c));
  ddl::uninstall(c);
  EXPECT_FALSE(ddl::installed(c));
  EXPECT_EQ(c.exec("SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'pgshift%'").scalar_int64(), 0);
  EXPECT_EQ(c.exec("SELECT count(*) FROM pg_proc WHERE proname LIKE 'ddl\\_%' AND pronamespace = 'pgshift'::regnamespace")
                .scalar_int64(),
            0);
  c.exec("ALTER TABLE orders ADD COLUMN after_uninstall int");  // DDL works without it
  ddl::Capability again = ddl::install(c, {}, true, true);      // and it installs again
  EXPECT_TRUE(again.capture);
}

}  // namespace
