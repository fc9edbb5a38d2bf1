// Schema changes during the move (issue: follow the application's migrations both ways, never
// switch with a table left behind). An application writes through PgBouncer while its
// migrations run on the writer: on the source during sync, on the target after cutover. Every
// change must reach the other side by itself, in stream order (rows written right after a
// migration apply), new tables must join the replication without a recopy, verify must match,
// and cutover/rollback must refuse while a table would be left behind.
#include "cutover_fixture.hpp"

#include "ddl/ddl.hpp"
#include "stats/diagnostics.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

class DdlFollowTest : public CutoverPair {
 protected:
  std::vector<std::string> sync_start_extra_args() const override { return {"--exclude", "scratch_*"}; }

  // What an application's migration tool does: one statement per round trip.
  void migrate(LocalCluster& writer, std::string_view script) {
    pg::Connection conn = connect(writer, "app");
    run_sql(conn, script);
  }

  void run_sql_on(LocalCluster& c, const std::string& sql) {
    pg::Connection conn = connect(c, "app");
    conn.exec(sql);
  }

  json ddl_list() {
    CliRun run = pgshift({"sync", "ddl", "list", "--json"}, false);
    EXPECT_EQ(run.exit_code, 0) << run.all();
    return json::parse(run.out, nullptr, false);
  }

  // Every recorded change has an outcome on the other side (none pending or held).
  bool ddl_settled() {
    json list = ddl_list();
    if (list.is_discarded()) return false;
    for (const auto& e : list["entries"]) {
      if (e["outcome"].is_null()) return false;
    }
    return true;
  }

  json status() {
    CliRun run = pgshift({"status", "--json"}, false);
    return json::parse(run.out, nullptr, false);
  }

  int64_t apply_errors(const json& st) {
    const json& n = st["subscription"]["apply_error_count"];
    return n.is_number() ? n.get<int64_t>() : 0;
  }

  bool has_column(LocalCluster& c, const std::string& table, const std::string& column) {
    return count(c, fmt::format("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' "
                                "AND table_name = '{}' AND column_name = '{}'",
                                table, column)) == 1;
  }

  void soak_until_clean() {
    CliRun soak = pgshift({"sync", "soak", "--for", "2s", "--deadline", "90s", "--interval", "300ms"}, false);
    ASSERT_EQ(soak.exit_code, 0) << soak.all();
  }

  // The target's Migration report (the console's Migration tab, MCP migration_status): its
  // schema-change rows as "COMMAND verdict outcome".
  std::vector<std::string> schema_changes_on_target() {
    pg::Connection t = connect(*target_, "app");
    json report = stats::migration(t).to_json();
    std::vector<std::string> rows;
    for (const auto& section : report["sections"]) {
      if (section["id"] != "schema_changes") continue;
      for (const auto& r : section["rows"]) {
        rows.push_back(fmt::format("{} {} {}", r[2].get<std::string>(), r[4].get<std::string>(), r[6].get<std::string>()));
      }
    }
    return rows;
  }

  void verify_matches(const std::string& context) {
    CliRun v = pgshift({"verify", "--mode", "full"}, false);
    EXPECT_EQ(v.exit_code, 0) << context << ": " << v.all();
  }
};

TEST_F(DdlFollowTest, MigrationsDuringSyncAndRollbackWindowFollowBothWays) {
  demo::Workload load({bouncer_->url("app"), 2, 60});
  load.start();
  ASSERT_TRUE(wait_until([&] { return load.acknowledged() > 20; }, util::Millis(20'000)));

  // A migration on the source while it syncs: each statement is followed by rows that need it.
  migrate(*source_, R"sql(
ALTER TABLE notes ADD COLUMN priority int NOT NULL DEFAULT 3;
INSERT INTO notes (body, feeling, priority) VALUES ('urgent', 'ok', 9);
UPDATE notes SET priority = 7 WHERE id = 1;
ALTER TYPE mood ADD VALUE 'meh';
INSERT INTO notes (body, feeling) VALUES ('so-so', 'meh');
ALTER TABLE notes RENAME COLUMN body TO text_body;
UPDATE notes SET text_body = 'renamed' WHERE id = 2;
CREATE TABLE invoices2 (id bigserial PRIMARY KEY, note_id bigint NOT NULL REFERENCES notes (id), amount numeric(10,2));
INSERT INTO invoices2 (note_id, amount) SELECT id, id * 1.5 FROM notes WHERE id <= 40;
CREATE TABLE readings (id bigint NOT NULL, at date NOT NULL, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE readings_2025 PARTITION OF readings FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO readings SELECT g, DATE '2025-03-01' + g, g FROM generate_series(1, 100) g;
CREATE TABLE scratch_tmp (id int PRIMARY KEY, junk text);
INSERT INTO scratch_tmp VALUES (1, 'not migrated');
)sql");
  {
    pg::Connection src = connect(*source_, "app");
    src.exec("CREATE INDEX CONCURRENTLY notes_priority ON notes (priority)");
  }

  // The schema followed in stream order: the rows written after each statement are there.
  pg::Connection tgt = connect(*target_, "app");
  ASSERT_TRUE(wait_until([&] { return ddl_settled(); }, util::Millis(30'000))) << ddl_list().dump(2);
  ASSERT_TRUE(wait_until([&] {
    return count_when_there(*target_, "SELECT count(*) FROM notes WHERE feeling = 'meh' AND text_body = 'so-so'") == 1;
  }, util::Millis(20'000)));
  EXPECT_EQ(count(*target_, "SELECT priority FROM notes WHERE id = 1"), 7);
  EXPECT_EQ(count(*target_, "SELECT count(*) FROM notes WHERE id = 2 AND text_body = 'renamed'"), 1);
  EXPECT_EQ(count(*target_, "SELECT count(*) FROM pg_indexes WHERE indexname = 'notes_priority'"), 1)
      << "CREATE INDEX CONCURRENTLY is followed (as a plain CREATE INDEX on the side that takes no traffic)";
  EXPECT_FALSE(has_column(*target_, "scratch_tmp", "id")) << "a table matching --exclude scratch_* is not created";
  json list = ddl_list();
  int applied = 0, not_applied = 0;
  for (const auto& e : list["entries"]) {
    if (e["outcome"] == "applied") ++applied;
    if (e["outcome"] == "not-applied") ++not_applied;
    EXPECT_NE(e["outcome"], "skipped") << e.dump();
  }
  EXPECT_EQ(applied, 7) << "add column, enum value, rename, 3 tables, the index: " << list.dump(2);
  EXPECT_GE(not_applied, 1) << "the excluded table's DDL is recorded as not applied: " << list.dump(2);
  json st = status();
  EXPECT_EQ(apply_errors(st), 0) << "no apply error: every row found its columns";
  std::set<std::string> unpublished;
  for (const auto& t : st["unpublished"]) unpublished.insert(t.get<std::string>());
  EXPECT_TRUE(unpublished.count("public.invoices2") && unpublished.count("public.readings")) << st["unpublished"];
  EXPECT_FALSE(unpublished.count("public.scratch_tmp"));

  // Not replicated yet: cutover refuses, naming them, before anything is paused or fenced.
  CliRun early = pgshift({"cutover"});
  EXPECT_EQ(early.exit_code, 1) << early.all();
  EXPECT_NE(early.all().find("public.invoices2"), std::string::npos) << early.all();
  EXPECT_NE(early.all().find("public.readings"), std::string::npos) << early.all();
  EXPECT_EQ(write_error(*source_), "") << "nothing fenced";

  // The soak adds them (only they are copied) and passes once they stream.
  soak_until_clean();
  EXPECT_EQ(count(*target_, "SELECT count(*) FROM invoices2"), 40);
  EXPECT_EQ(count(*target_, "SELECT count(*) FROM readings"), 100);
  EXPECT_NE(write_error(*target_).find("25006"), std::string::npos) << "the target stays fenced";
  // A new partition of a replicated partitioned table, with rows, arrives through its root.
  migrate(*source_, "CREATE TABLE readings_2026 PARTITION OF readings FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');"
                    "INSERT INTO readings VALUES (1, '2026-05-01', 42)");
  ASSERT_TRUE(wait_until([&] { return count_when_there(*target_, "SELECT count(*) FROM readings_2026") == 1; },
                         util::Millis(20'000)));
  load.stop();
  EXPECT_TRUE(load.outcome().errors.empty());
  verify_matches("after the migration during sync");

  // Cutover, then a migration on the new writer during the rollback window reaches the source.
  json cut = switch_under_load({"cutover", "--json"}, *target_);
  ASSERT_TRUE(cut.value("switched", false)) << cut.dump(2);
  migrate(*target_, R"sql(
ALTER TABLE notes ADD COLUMN archived boolean NOT NULL DEFAULT false;
UPDATE notes SET archived = true WHERE id = 3;
CREATE TABLE audit_trail (id bigserial PRIMARY KEY, what text NOT NULL);
INSERT INTO audit_trail (what) SELECT 'event ' || g FROM generate_series(1, 25) g;
)sql");
  ASSERT_TRUE(wait_until([&] { return has_column(*source_, "notes", "archived"); }, util::Millis(20'000)))
      << ddl_list().dump(2);
  ASSERT_TRUE(wait_until([&] { return count_when_there(*source_, "SELECT count(*) FROM notes WHERE id = 3 AND archived") == 1; },
                         util::Millis(20'000)));
  soak_until_clean();  // the rollback window has a soak gate, and it adds audit_trail back
  // The new writer's log holds both directions' changes: each has its outcome where it was applied
  // (the forward ones on the target itself), none is shown pending.
  ASSERT_TRUE(wait_until([&] { return ddl_settled(); }, util::Millis(20'000))) << ddl_list().dump(2);
  {
    json back_list = ddl_list();
    EXPECT_EQ(back_list["writer"], "target");
    bool saw_back = false;
    for (const auto& e : back_list["entries"]) {
      if (e["statement"].get<std::string>().find("audit_trail") != std::string::npos) saw_back = true;
    }
    EXPECT_TRUE(saw_back) << back_list.dump(2);
  }
  EXPECT_EQ(count(*source_, "SELECT count(*) FROM audit_trail"), 25);
  migrate(*target_, "INSERT INTO audit_trail (what) VALUES ('after join')");
  ASSERT_TRUE(wait_until([&] { return count_when_there(*source_, "SELECT count(*) FROM audit_trail") == 26; }, util::Millis(20'000)));

  // Rollback loses nothing and the forward publication covers the table created on the target.
  json back = switch_under_load({"rollback", "--json"}, *source_);
  ASSERT_TRUE(back.value("switched", false)) << back.dump(2);
  EXPECT_EQ(count(*source_, "SELECT count(*) FROM pg_publication_tables WHERE tablename = 'audit_trail'"), 1)
      << "rollback rebuilds the forward publication from the tables of now";
  migrate(*source_, "INSERT INTO audit_trail (what) VALUES ('after rollback')");
  ASSERT_TRUE(wait_until([&] { return count_when_there(*target_, "SELECT count(*) FROM audit_trail") == 27; }, util::Millis(20'000)));
  verify_matches("after rollback");
}

TEST_F(DdlFollowTest, HoldWaitsForTheOperatorAndMixedTextIsHeld) {
  CliRun hold = pgshift({"sync", "start", "--ddl", "hold", "--exclude", "scratch_*"}, false);
  ASSERT_EQ(hold.exit_code, 0) << hold.all();
  migrate(*source_, "ALTER TABLE tags ADD COLUMN color text; INSERT INTO tags VALUES ('c', 3, 'red')");
  // Held: replication waits at the change, so the row after it does not arrive.
  ASSERT_TRUE(wait_until([&] {
    json st = status();
    for (const auto& w : st["warnings"]) {
      if (w["code"] == "ddl-held") return true;
    }
    return false;
  }, util::Millis(20'000))) << status().dump(2);
  EXPECT_FALSE(has_column(*target_, "tags", "color"));
  EXPECT_EQ(count(*target_, "SELECT count(*) FROM tags WHERE name = 'c'"), 0);
  CliRun cut = pgshift({"cutover"});
  EXPECT_EQ(cut.exit_code, 1);
  EXPECT_NE(cut.all().find("held"), std::string::npos) << cut.all();
  // Held on its way: not in the target's log yet (the apply that adds the row waits at it).
  std::vector<std::string> held_rows = schema_changes_on_target();
  EXPECT_TRUE(held_rows.empty()) << ::testing::PrintToString(held_rows);

  json list = ddl_list();
  ASSERT_FALSE(list["entries"].empty());
  std::string id = list["entries"].back()["id"];
  CliRun apply = pgshift({"sync", "ddl", "apply", id.substr(0, 8)}, false);
  ASSERT_EQ(apply.exit_code, 0) << apply.all();
  ASSERT_TRUE(wait_until([&] { return count_when_there(*target_, "SELECT count(*) FROM tags WHERE name = 'c' AND color = 'red'") == 1; },
                         util::Millis(30'000)))
      << "the held change was applied and the stream went on";
  // The console's Migration tab (and MCP migration_status) show it with its outcome.
  std::vector<std::string> applied_rows = schema_changes_on_target();
  EXPECT_NE(std::find(applied_rows.begin(), applied_rows.end(), "ALTER TABLE hold applied"), applied_rows.end())
      << ::testing::PrintToString(applied_rows);

  // Back to follow: a text mixing DDL with an UPDATE is held (its row change replicates anyway);
  // apply runs only its DDL, and the UPDATE arrives once, through replication.
  CliRun follow = pgshift({"sync", "start", "--ddl", "follow", "--exclude", "scratch_*"}, false);
  ASSERT_EQ(follow.exit_code, 0) << follow.all();
  {
    pg::Connection src = connect(*source_, "app");
    src.exec_simple("ALTER TABLE tags ADD COLUMN size int; UPDATE tags SET weight = weight + 100 WHERE name = 'a'");
  }
  ASSERT_TRUE(wait_until([&] {
    json l = ddl_list();
    return !l.is_discarded() && l["entries"].back()["held"] == true;
  }, util::Millis(20'000))) << ddl_list().dump(2);
  json mixed = ddl_list()["entries"].back();
  EXPECT_NE(mixed["reason"].get<std::string>().find("UPDATE"), std::string::npos) << mixed.dump(2);
  CliRun apply2 = pgshift({"sync", "ddl", "apply", mixed["id"].get<std::string>()}, false);
  ASSERT_EQ(apply2.exit_code, 0) << apply2.all();
  ASSERT_TRUE(wait_until([&] { return has_column(*target_, "tags", "size"); }, util::Millis(30'000)));
  ASSERT_TRUE(wait_until([&] { return count_when_there(*target_, "SELECT weight FROM tags WHERE name = 'a'") == 101; },
                         util::Millis(20'000)));
  // pgshift killed between adding a new table to the publication and refreshing the
  // subscription: the next sync start finishes the join.
  migrate(*source_, "CREATE TABLE late (id int PRIMARY KEY, v text); INSERT INTO late VALUES (1, 'one'), (2, 'two')");
  ASSERT_TRUE(wait_until([&] { return has_column(*target_, "late", "v"); }, util::Millis(20'000)));
  run_sql_on(*source_, "ALTER PUBLICATION " + migration_name(*source_, *target_) + " ADD TABLE late");
  CliRun resume = pgshift({"sync", "start", "--exclude", "scratch_*"}, false);
  ASSERT_EQ(resume.exit_code, 0) << resume.all();
  ASSERT_TRUE(wait_until([&] { return count_when_there(*target_, "SELECT count(*) FROM late") == 2; }, util::Millis(30'000)));

  CliRun bad = pgshift({"sync", "ddl", "skip", "nothex!"}, false);
  EXPECT_EQ(bad.exit_code, 2) << bad.all();
  verify_matches("after hold and apply");

  // sync stop removes the mechanism from both sides.
  CliRun stop = pgshift({"sync", "stop"}, false);
  ASSERT_EQ(stop.exit_code, 0) << stop.all();
  for (auto* c : {source_.get(), target_.get()}) {
    EXPECT_EQ(count(*c, "SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'pgshift%'"), 0) << c->name();
    EXPECT_EQ(count(*c, "SELECT count(*) FROM pg_class WHERE relname = 'ddl_log'"), 0) << c->name();
  }
}

}  // namespace

// Issue 27: the rollback window's replication back through pgshift's own apply (a superuser's
// apply runs with session_replication_role = replica, so the DDL log's apply trigger fires there
// as in the native apply worker): a migration on the new writer reaches the source in stream
// order, the rows written right after it apply against the new shape, and rollback loses nothing.
TEST_F(DdlFollowTest, MigrationInTheRollbackWindowFollowsThroughPgshiftsApply) {
  json cut = switch_under_load({"cutover", "--json", "--replicate-back", "pgshift"}, *target_);
  ASSERT_TRUE(cut.value("switched", false)) << cut.dump(2);
  EXPECT_EQ(count(*source_, "SELECT count(*) FROM pg_subscription"), 0);
  migrate(*target_, R"sql(
ALTER TABLE notes ADD COLUMN archived boolean NOT NULL DEFAULT false;
UPDATE notes SET archived = true WHERE id = 3;
INSERT INTO notes (body, feeling, archived) VALUES ('after the migration', 'great', true);
)sql");
  ASSERT_TRUE(wait_until([&] { return has_column(*source_, "notes", "archived"); }, util::Millis(20'000)))
      << ddl_list().dump(2) << status().dump(2);
  EXPECT_TRUE(wait_until(
      [&] { return count_when_there(*source_, "SELECT count(*) FROM notes WHERE archived") == 2; }, util::Millis(20'000)))
      << status().dump(2);
  json st = status();
  ASSERT_TRUE(st.contains("apply_back")) << st.dump(2);
  EXPECT_TRUE(st["apply_back"]["running"].get<bool>()) << st["apply_back"].dump();
  json back = switch_under_load({"rollback", "--json"}, *source_);
  ASSERT_TRUE(back.value("switched", false)) << back.dump(2);
  verify_matches("after rollback over pgshift's apply");
}
