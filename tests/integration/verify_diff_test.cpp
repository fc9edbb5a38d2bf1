// `pgshift verify` end to end on two real clusters: identical databases match (enums with other
// OIDs and another sort order, non-ASCII text keys, skewed keys, partitions, key-less tables),
// and each seeded difference is found and pinned to its key.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/support.hpp"
#include "verify/verify.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using nlohmann::json;

namespace {

// Created on the source first; the target creates the enum types differently (below).
constexpr std::string_view kSchema = R"sql(
CREATE EXTENSION citext;
CREATE TABLE cells (id bigint PRIMARY KEY, total numeric(12,2), note text, at timestamptz, tags text[], ok boolean,
                    ref uuid, day date, price float8);
CREATE TABLE deleted (id int PRIMARY KEY, v text);
CREATE TABLE extra (id int PRIMARY KEY, v text);
CREATE TABLE nulls (id int PRIMARY KEY, v text);
CREATE TABLE numerics (id int PRIMARY KEY, n numeric);
CREATE TABLE intervals (id int PRIMARY KEY, d interval);
CREATE TABLE floats (id int PRIMARY KEY, f float8);
CREATE TABLE emails (id int PRIMARY KEY, e citext);
CREATE TABLE docs (id int PRIMARY KEY, j jsonb);
CREATE TABLE events (at timestamptz, kind text, n int, m mood);
CREATE TABLE moods (id int PRIMARY KEY, m mood, ms mood[]);
CREATE TABLE mood_keys (m mood PRIMARY KEY, n int);
CREATE TABLE words (w text PRIMARY KEY, n int);
CREATE TABLE words_c (w text COLLATE "C" PRIMARY KEY, n int);
CREATE TABLE pairs (a int, b text, v int, PRIMARY KEY (a, b));
CREATE TABLE skewed (id bigint PRIMARY KEY, v int);
CREATE TABLE metrics (id bigint, at date, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE metrics_2024 PARTITION OF metrics FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE metrics_2025 PARTITION OF metrics FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE temporals (id int PRIMARY KEY, tz timestamptz, ts timestamp, d date, t time);
CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY);
CREATE TABLE oban_jobs (id int PRIMARY KEY);
)sql";

constexpr std::string_view kData = R"sql(
INSERT INTO cells SELECT g, g * 1.5, CASE WHEN g % 3 = 0 THEN NULL ELSE 'note ' || g END,
  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute', ARRAY['t' || g % 5, 'x'], g % 2 = 0,
  md5(g::text)::uuid, date '2024-01-01' + g % 365, g / 7.0
  FROM generate_series(1, 5000) g;
INSERT INTO deleted SELECT g, 'v' || g FROM generate_series(1, 3000) g;
INSERT INTO extra SELECT g, 'v' || g FROM generate_series(1, 3000) g;
INSERT INTO nulls SELECT g, CASE WHEN g = 7 THEN NULL ELSE 'v' || g END FROM generate_series(1, 100) g;
INSERT INTO numerics SELECT g, CASE WHEN g = 7 THEN 1.0 ELSE g END FROM generate_series(1, 100) g;
INSERT INTO intervals SELECT g, CASE WHEN g = 7 THEN interval '1 day' ELSE g * interval '1 hour' END
  FROM generate_series(1, 100) g;
INSERT INTO floats SELECT g, CASE WHEN g = 7 THEN 0 ELSE g / 3.0 END FROM generate_series(1, 100) g;
INSERT INTO emails SELECT g, CASE WHEN g = 7 THEN 'A@example.com' ELSE 'u' || g || '@example.com' END
  FROM generate_series(1, 100) g;
INSERT INTO docs SELECT g, CASE WHEN g = 7 THEN '{"a": 1.0}'::jsonb ELSE jsonb_build_object('a', g, 'b', 'x') END
  FROM generate_series(1, 100) g;
INSERT INTO events SELECT timestamptz '2024-01-01 00:00:00+00' + (g % 50) * interval '1 hour', 'k' || g % 3, g % 7,
  (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::mood
  FROM generate_series(1, 1000) g;
INSERT INTO moods SELECT g, (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::mood, ARRAY['ok', 'sad']::mood[]
  FROM generate_series(1, 300) g;
INSERT INTO mood_keys VALUES ('sad', 1), ('ok', 2), ('happy', 3);
INSERT INTO words SELECT (ARRAY['ä', 'é', '日本', 'z', 'A', 'ß', '😀', 'a'])[1 + g % 8] || '-' || g, g
  FROM generate_series(1, 4000) g;
INSERT INTO words_c SELECT w, n FROM words;
INSERT INTO pairs SELECT g % 10, 'b-' || g, g FROM generate_series(1, 2000) g;
INSERT INTO skewed SELECT g, g FROM generate_series(1, 3000) g;
INSERT INTO skewed SELECT 1000000000000 + g, g FROM generate_series(1, 3000) g;
INSERT INTO metrics SELECT g, date '2024-06-01' + g % 400, g FROM generate_series(1, 2000) g;
INSERT INTO temporals SELECT g, timestamptz '2024-03-31 01:59:59.999999+00' + g * interval '1.5 seconds',
  timestamp '1999-12-31 23:59:59' + g * interval '1 hour', date '1999-12-25' + g, time '00:00:00.000001' + g * interval '1 minute'
  FROM generate_series(4, 500) g;
INSERT INTO temporals VALUES (1, 'infinity', 'infinity', 'infinity', '24:00'),
  (2, '-infinity', '-infinity', '-infinity', '00:00'), (3, NULL, NULL, NULL, NULL);
ANALYZE;
)sql";

// The target's enum types get other OIDs (other types first) and another sort order.
constexpr std::string_view kSourceEnums = "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')";
constexpr std::string_view kTargetEnums = R"sql(
CREATE TYPE filler_a AS ENUM ('x');
CREATE TYPE filler_b AS ENUM ('y', 'z');
CREATE TYPE mood AS ENUM ('happy');
ALTER TYPE mood ADD VALUE 'ok' AFTER 'happy';
ALTER TYPE mood ADD VALUE 'sad' AFTER 'ok';
)sql";

// What an operator would find after a bad copy: each row named in the test below.
constexpr std::string_view kTargetDamage = R"sql(
UPDATE cells SET total = total + 1 WHERE id = 42;
DELETE FROM deleted WHERE id = 17;
INSERT INTO extra VALUES (100001, 'late');
UPDATE nulls SET v = '' WHERE id = 7;
UPDATE numerics SET n = 1.00 WHERE id = 7;
UPDATE intervals SET d = interval '24 hours' WHERE id = 7;
UPDATE floats SET f = '-0' WHERE id = 7;
UPDATE emails SET e = 'a@example.com' WHERE id = 7;
UPDATE docs SET j = '{"a": 1.00}' WHERE id = 7;
INSERT INTO events SELECT * FROM events WHERE n = 3 LIMIT 1;
UPDATE words SET n = -1 WHERE w = 'é-2001';
DELETE FROM words_c WHERE w = '日本-2002';
UPDATE pairs SET v = 0 WHERE a = 3 AND b = 'b-3';
UPDATE metrics SET v = 0 WHERE id = 5;
UPDATE temporals SET tz = tz + interval '1 microsecond' WHERE id = 7;
UPDATE temporals SET d = 'infinity' WHERE id = 8;
UPDATE temporals SET ts = ts - interval '1 microsecond' WHERE id = 9;
UPDATE temporals SET tz = '-infinity' WHERE id = 1;
UPDATE moods SET m = 'happy' WHERE id = 4;
ALTER TYPE mood ADD VALUE 'meh';
UPDATE moods SET m = 'meh' WHERE id = 5;
)sql";

// A database with a linguistic (ICU) default collation, as production databases have, and a
// non-deterministic collation that calls 'Bob' and 'bob' equal.
constexpr std::string_view kIcuSchema = R"sql(
CREATE COLLATION case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE words (w text PRIMARY KEY, n int);
CREATE TABLE words_c (w text COLLATE "C" PRIMARY KEY, n int);
CREATE TABLE people (id int PRIMARY KEY, name text COLLATE case_insensitive);
INSERT INTO words SELECT (ARRAY['ä', 'é', '日本', 'z', 'A', 'ß', '😀', 'a'])[1 + g % 8] || '-' || g, g
  FROM generate_series(1, 4000) g;
INSERT INTO words_c SELECT w, n FROM words;
INSERT INTO people SELECT g, CASE WHEN g = 3 THEN 'Bob' ELSE 'p' || g END FROM generate_series(1, 50) g;
ANALYZE;
)sql";

constexpr std::string_view kIcuTargetDamage = R"sql(
UPDATE words SET n = -1 WHERE w = 'A-2004';
DELETE FROM words WHERE w = 'ß-2005';
UPDATE people SET name = 'bob' WHERE id = 3;
)sql";

class VerifyDiffTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = start_cluster("verify-src").release();
    target_ = start_cluster("verify-tgt").release();
    for (const char* db : {"same", "diff"}) {
      for (auto* c : {source_, target_}) c->create_database(db);
      pg::Connection s = connect(*source_, db);
      run_sql(s, kSourceEnums);
      run_sql(s, kSchema);
      run_sql(s, kData);
      pg::Connection t = connect(*target_, db);
      run_sql(t, kTargetEnums);
      run_sql(t, kSchema);
      run_sql(t, kData);
    }
    pg::Connection t = connect(*target_, "diff");
    run_sql(t, kTargetDamage);
    for (auto* c : {source_, target_}) {
      connect(*c).exec("CREATE DATABASE icu LOCALE_PROVIDER icu ICU_LOCALE 'en-US' TEMPLATE template0");
      pg::Connection conn = connect(*c, "icu");
      run_sql(conn, kIcuSchema);
    }
    pg::Connection ti = connect(*target_, "icu");
    run_sql(ti, kIcuTargetDamage);
  }
  static void TearDownTestSuite() {
    delete source_;
    delete target_;
  }

  static json verify_json(const std::string& db, std::vector<std::string> extra, int expected_exit) {
    std::vector<std::string> args = {"verify", "--json", "--source", source_->url(db), "--target", target_->url(db),
                                     "--exclude", "oban_*"};
    args.insert(args.end(), extra.begin(), extra.end());
    CliRun run = run_pgshift(args);
    EXPECT_EQ(run.exit_code, expected_exit) << run.all();
    expect_no_password(run.all());
    return json::parse(run.out);
  }

  static const json& table(const json& report, const std::string& name) {
    for (const auto& t : report["tables"]) {
      if (t["table"] == name) return t;
    }
    static const json none;
    ADD_FAILURE() << "no table " << name << " in " << report.dump(1);
    return none;
  }

  // The table's only difference is `kind` at `key` (one key column), naming `columns`.
  static void expect_one(const json& report, const std::string& name, const std::string& kind, const json& key,
                         const std::vector<std::string>& columns = {}) {
    const json& t = table(report, name);
    EXPECT_EQ(t["status"], "mismatch") << t.dump(1);
    EXPECT_EQ(t["differences_total"], 1) << t.dump(1);
    EXPECT_TRUE(t["differences_total_exact"].get<bool>()) << t.dump(1);
    ASSERT_EQ(t["differences"].size(), 1u) << t.dump(1);
    const json& d = t["differences"][0];
    EXPECT_EQ(d["kind"], kind) << t.dump(1);
    EXPECT_EQ(d["key"], key) << t.dump(1);
    if (!columns.empty()) {
      EXPECT_EQ(d["columns"].get<std::vector<std::string>>(), columns) << t.dump(1);
    }
  }

  static LocalCluster* source_;
  static LocalCluster* target_;
};

LocalCluster* VerifyDiffTest::source_ = nullptr;
LocalCluster* VerifyDiffTest::target_ = nullptr;

TEST_F(VerifyDiffTest, IdenticalDatabasesMatch) {
  json r = verify_json("same", {"--chunk-rows", "1000", "--jobs", "2"}, 0);
  EXPECT_TRUE(r["summary"]["ok"].get<bool>());
  EXPECT_EQ(r["summary"]["mismatch"], 0);
  EXPECT_EQ(r["summary"]["error"], 0);
  for (const auto& t : r["tables"]) {
    if (t["status"] == "skipped") continue;
    EXPECT_EQ(t["status"], "match") << t.dump(1);
    EXPECT_EQ(t["source_rows"], t["target_rows"]) << t.dump(1);
  }
  // Enums compare by label although OIDs and sort order differ; an enum key is ranged by label.
  EXPECT_EQ(table(r, "public.moods")["source_rows"], 300);
  EXPECT_EQ(table(r, "public.mood_keys")["strategy"], "key-scan");
  // Partitions are read through their root; key-less tables are hashed whole.
  EXPECT_EQ(table(r, "public.metrics")["source_rows"], 2000);
  EXPECT_EQ(table(r, "public.events")["strategy"], "whole-table");
  // Skipped with the reason: unlogged, excluded.
  EXPECT_EQ(table(r, "public.scratch")["status"], "skipped");
  EXPECT_NE(table(r, "public.scratch")["reason"].get<std::string>().find("unlogged"), std::string::npos);
  EXPECT_EQ(table(r, "public.oban_jobs")["status"], "skipped");
  EXPECT_EQ(r["fence"]["enabled"], false);
}

TEST_F(VerifyDiffTest, NonAsciiTextKeysChunkByByteOrder) {
  json r = verify_json("same", {"--chunk-rows", "500", "--tables", "words*"}, 0);
  ASSERT_EQ(r["tables"].size(), 2u) << r.dump(1);
  // C.UTF-8 is not byte order to PostgreSQL, so its index cannot serve COLLATE "C" ranges.
  const json& linguistic = table(r, "public.words");
  EXPECT_EQ(linguistic["strategy"], "key-scan");
  const json& bytewise = table(r, "public.words_c");
  EXPECT_EQ(bytewise["strategy"], "key-ranges");
  for (const json* t : {&linguistic, &bytewise}) {
    EXPECT_EQ((*t)["status"], "match");
    EXPECT_EQ((*t)["source_rows"], 4000);
    EXPECT_GE((*t)["chunks"].get<int>(), 6) << t->dump(1);
  }
}

TEST_F(VerifyDiffTest, LinguisticCollationDatabase) {
  json r = verify_json("icu", {"--chunk-rows", "500"}, 1);
  const json& words = table(r, "public.words");
  EXPECT_EQ(words["strategy"], "key-scan");
  EXPECT_GE(words["chunks"].get<int>(), 6);
  EXPECT_EQ(words["differences_total"], 2) << words.dump(1);
  ASSERT_EQ(words["differences"].size(), 2u) << words.dump(1);
  EXPECT_EQ(words["differences"][0]["key"], json({{"w", "A-2004"}}));
  EXPECT_EQ(words["differences"][0]["kind"], "different");
  EXPECT_EQ(words["differences"][1]["key"], json({{"w", "ß-2005"}}));
  EXPECT_EQ(words["differences"][1]["kind"], "missing_on_target");
  const json& bytewise = table(r, "public.words_c");
  EXPECT_EQ(bytewise["strategy"], "key-ranges");
  EXPECT_EQ(bytewise["status"], "match");
  // 'Bob' = 'bob' under the column's collation, but they read differently.
  expect_one(r, "public.people", "different", {{"id", "3"}}, {"name"});
}

TEST_F(VerifyDiffTest, SkewedKeysGiveEvenChunks) {
  json r = verify_json("same", {"--chunk-rows", "1000", "--tables", "skewed"}, 0);
  const json& t = table(r, "public.skewed");
  EXPECT_EQ(t["status"], "match");
  EXPECT_GE(t["chunks"].get<int>(), 5) << t.dump(1);
  int64_t min = t["chunk_rows"]["min"], max = t["chunk_rows"]["max"];
  EXPECT_GT(min, 0) << t.dump(1);
  EXPECT_LE(max, 2 * min) << "uneven chunks: " << t.dump(1);
}

TEST_F(VerifyDiffTest, EachDifferenceIsPinnedToItsKey) {
  json r = verify_json("diff", {"--chunk-rows", "2500", "--jobs", "3"}, 1);
  EXPECT_FALSE(r["summary"]["ok"].get<bool>());
  expect_one(r, "public.cells", "different", {{"id", "42"}}, {"total"});
  expect_one(r, "public.deleted", "missing_on_target", {{"id", "17"}});
  expect_one(r, "public.extra", "extra_on_target", {{"id", "100001"}});
  expect_one(r, "public.nulls", "different", {{"id", "7"}}, {"v"});
  expect_one(r, "public.numerics", "different", {{"id", "7"}}, {"n"});
  expect_one(r, "public.intervals", "different", {{"id", "7"}}, {"d"});
  expect_one(r, "public.floats", "different", {{"id", "7"}}, {"f"});
  expect_one(r, "public.emails", "different", {{"id", "7"}}, {"e"});
  expect_one(r, "public.docs", "different", {{"id", "7"}}, {"j"});
  expect_one(r, "public.words", "different", {{"w", "é-2001"}}, {"n"});
  expect_one(r, "public.words_c", "missing_on_target", {{"w", "日本-2002"}});
  expect_one(r, "public.pairs", "different", {{"a", "3"}, {"b", "b-3"}}, {"v"});
  expect_one(r, "public.metrics", "different", {{"id", "5"}, {"at", "2024-06-06"}}, {"v"});
  // Dates and timestamps to the microsecond, infinities included.
  const json& temporals = table(r, "public.temporals");
  EXPECT_EQ(temporals["differences_total"], 4) << temporals.dump(1);
  std::vector<std::pair<std::string, std::string>> seen;
  for (const auto& d : temporals["differences"]) seen.emplace_back(d["key"]["id"], d["columns"][0]);
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string>>{{"1", "tz"}, {"7", "tz"}, {"8", "d"}, {"9", "ts"}}));
  // The cells chunk is larger than a leaf, so the difference was found by bisection.
  EXPECT_EQ(table(r, "public.cells")["chunks"], 2);

  // One more copy of a row in a key-less table: the row, with its copies on each side.
  const json& events = table(r, "public.events");
  EXPECT_EQ(events["status"], "mismatch");
  EXPECT_EQ(events["differences_total"], 1);
  ASSERT_EQ(events["differences"].size(), 1u) << events.dump(1);
  EXPECT_EQ(events["differences"][0]["kind"], "extra_on_target");
  EXPECT_EQ(events["differences"][0]["source_copies"].get<int>() + 1, events["differences"][0]["target_copies"]);
  EXPECT_NE(events["differences"][0]["row"].get<std::string>().find("k"), std::string::npos);

  // Enums by label, including a label the source does not have.
  const json& moods = table(r, "public.moods");
  EXPECT_EQ(moods["differences_total"], 2) << moods.dump(1);
  ASSERT_EQ(moods["differences"].size(), 2u) << moods.dump(1);
  EXPECT_EQ(moods["differences"][0]["key"], json({{"id", "4"}}));
  EXPECT_EQ(moods["differences"][1]["key"], json({{"id", "5"}}));
  EXPECT_EQ(moods["differences"][1]["columns"], json::array({"m"}));
  for (const char* same : {"public.mood_keys", "public.skewed"}) {
    EXPECT_EQ(table(r, same)["status"], "match") << same;
  }
}

TEST_F(VerifyDiffTest, CountsModeFindsMissingAndExtraRowsOnly) {
  json r = verify_json("diff", {"--mode", "counts", "--chunk-rows", "1000"}, 1);
  EXPECT_EQ(r["mode"], "counts");
  expect_one(r, "public.deleted", "missing_on_target", {{"id", "17"}});
  expect_one(r, "public.extra", "extra_on_target", {{"id", "100001"}});
  expect_one(r, "public.words_c", "missing_on_target", {{"w", "日本-2002"}});
  EXPECT_EQ(table(r, "public.events")["status"], "mismatch");
  for (const char* same : {"public.cells", "public.numerics", "public.docs", "public.words"}) {
    EXPECT_EQ(table(r, same)["status"], "match") << same;
  }
}

TEST_F(VerifyDiffTest, HumanReportListsDifferencesAndSummary) {
  CliRun run = run_pgshift({"verify", "--source", source_->url("diff"), "--target", target_->url("diff"),
                            "--tables", "cells", "--tables", "deleted", "--tables", "events"});
  EXPECT_EQ(run.exit_code, 1) << run.all();
  EXPECT_NE(run.out.find(fmt::format("source  postgres@127.0.0.1:{}/diff", source_->port())), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("public.cells MISMATCH: 1 row differs"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("different          id=42  (total)"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("missing on target  id=17"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("extra on target"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("3 tables: 0 match, 3 mismatch"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("the target differs from the source"), std::string::npos) << run.out;
  EXPECT_TRUE(run.err.empty()) << "no progress line without a terminal: " << run.err;
  expect_no_password(run.all());
}

TEST_F(VerifyDiffTest, JsonReportShape) {
  json r = verify_json("diff", {"--tables", "deleted", "--tables", "scratch"}, 1);
  for (const char* k : {"source", "target", "mode", "jobs", "chunk_rows", "fence", "tables", "summary"}) {
    EXPECT_TRUE(r.contains(k)) << k;
  }
  EXPECT_EQ(r["source"]["endpoint"], fmt::format("postgres@127.0.0.1:{}/diff", source_->port()));
  const json& t = table(r, "public.deleted");
  for (const char* k : {"table", "status", "strategy", "key", "source_rows", "target_rows", "chunks", "chunk_rows",
                        "mismatched_chunks", "rechecks", "differences", "differences_total",
                        "differences_total_exact", "notes", "seconds"}) {
    EXPECT_TRUE(t.contains(k)) << k;
  }
  EXPECT_EQ(t["source_rows"], 3000);
  EXPECT_EQ(t["target_rows"], 2999);
  EXPECT_EQ(t["key"], json::array({"id"}));
  EXPECT_EQ(table(r, "public.scratch")["status"], "skipped");
  EXPECT_EQ(r["summary"]["mismatch"], 1);
  EXPECT_EQ(r["summary"]["skipped"], 1);
  EXPECT_EQ(r["summary"]["rows"], 3000);
}

TEST_F(VerifyDiffTest, TableThatCannotBeReadIsAnErrorAndTheOthersAreStillVerified) {
  for (auto* c : {source_, target_}) {
    pg::Connection conn = connect(*c, "same");
    run_sql(conn, fmt::format("CREATE ROLE reader LOGIN PASSWORD '{}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader",
                              localpg::kLocalPassword));
  }
  connect(*target_, "same").exec("REVOKE SELECT ON deleted FROM reader");
  CliRun run = run_pgshift({"verify", "--json", "--source", source_->url("same", "reader"), "--target",
                            target_->url("same", "reader"), "--tables", "deleted", "--tables", "extra"});
  EXPECT_EQ(run.exit_code, 3) << run.all();
  expect_no_password(run.all());
  json r = json::parse(run.out);
  const json& deleted = table(r, "public.deleted");
  EXPECT_EQ(deleted["status"], "error");
  EXPECT_NE(deleted["reason"].get<std::string>().find("permission denied"), std::string::npos) << deleted.dump(1);
  EXPECT_NE(deleted["reason"].get<std::string>().find("target"), std::string::npos) << deleted.dump(1);
  EXPECT_EQ(table(r, "public.extra")["status"], "match");
  EXPECT_EQ(r["summary"]["error"], 1);
}

// The library API cutover's gate uses: the reverse direction (target as source, for rollback)
// sees the same rows from the other side; progress reaches every row.
TEST_F(VerifyDiffTest, LibraryApiReverseDirectionAndProgress) {
  verify::Options o;
  o.source = target_->conninfo("diff");
  o.target = source_->conninfo("diff");
  o.tables = {catalog::TablePattern("deleted"), catalog::TablePattern("extra")};
  o.jobs = 2;
  o.chunk_rows = 1000;
  std::vector<verify::Progress> seen;
  o.progress = [&](const verify::Progress& p) { seen.push_back(p); };
  verify::Report r = verify::run(o);
  EXPECT_EQ(r.exit_code(), 1);
  ASSERT_EQ(r.tables.size(), 2u);
  ASSERT_EQ(r.tables[0].differences.size(), 1u);
  EXPECT_EQ(r.tables[0].differences[0].kind, verify::DiffKind::extra_on_target);
  EXPECT_EQ(r.tables[0].differences[0].key, verify::Key{"17"});
  ASSERT_EQ(r.tables[1].differences.size(), 1u);
  EXPECT_EQ(r.tables[1].differences[0].kind, verify::DiffKind::missing_on_target);
  EXPECT_EQ(r.tables[1].differences[0].key, verify::Key{"100001"});
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().tables_done, 2u);
  EXPECT_EQ(seen.back().tables_total, 2u);
  EXPECT_EQ(seen.back().rows_done, 2999 + 3001);
  EXPECT_EQ(seen.back().chunks_done, seen.back().chunks_total);
}

TEST_F(VerifyDiffTest, BadInput) {
  CliRun nomatch = run_pgshift({"verify", "--source", source_->url("same"), "--target", target_->url("same"),
                                "--tables", "no_such_table*"});
  EXPECT_EQ(nomatch.exit_code, 2) << nomatch.all();
  EXPECT_NE(nomatch.err.find("--tables no_such_table*: matches no table"), std::string::npos) << nomatch.err;
  EXPECT_EQ(line_count(nomatch.err), 1u) << nomatch.err;

  int port = localpg::free_port();
  std::string dead = fmt::format("postgresql://postgres:{}@127.0.0.1:{}/same", localpg::kLocalPassword, port);
  CliRun unreachable = run_pgshift({"verify", "--source", source_->url("same"), "--target", dead});
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.all();
  EXPECT_TRUE(unreachable.out.empty()) << unreachable.out;
  EXPECT_EQ(line_count(unreachable.err), 1u) << unreachable.err;
  EXPECT_NE(unreachable.err.find(fmt::format("target postgres@127.0.0.1:{}/same", port)), std::string::npos)
      << unreachable.err;
  expect_no_password(unreachable.all());

  CliRun mode = run_pgshift({"verify", "--source", source_->url("same"), "--target", target_->url("same"),
                             "--mode", "quick"});
  EXPECT_EQ(mode.exit_code, 2) << mode.all();
  CliRun jobs = run_pgshift({"verify", "--source", source_->url("same"), "--target", target_->url("same"),
                             "--jobs", "0"});
  EXPECT_EQ(jobs.exit_code, 2) << jobs.all();
  EXPECT_NE(jobs.err.find("--jobs"), std::string::npos) << jobs.err;
}

}  // namespace
