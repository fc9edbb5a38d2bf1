// Issue 28: `pgshift verify` never says "match" when the rows differ. Each case is a table on two
// real clusters (the source in C.UTF-8 and UTC, the target an ICU en-US database in
// Pacific/Auckland, as an outside trial had them), verified in every mode that can see it, also
// with forced small chunks; each failed (a wrong "match") before its fix.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using nlohmann::json;

namespace {

constexpr std::string_view kCommonSchema = R"sql(
CREATE DOMAIN amount AS numeric;
CREATE TABLE specials (id int PRIMARY KEY, n numeric, a amount);
CREATE TABLE special_keys (k numeric PRIMARY KEY, v int);
CREATE TABLE secret (id int PRIMARY KEY, v text);
ALTER TABLE secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY low_ids ON secret USING (id <= 2000);
CREATE TABLE fine (id int PRIMARY KEY, v text);
CREATE TABLE kwords (w text PRIMARY KEY, n int);
)sql";

// The source has a primary key where the target has none, or a wider one.
constexpr std::string_view kSourceSchema = R"sql(
CREATE TABLE dup_nokey (id int PRIMARY KEY, v text);
CREATE TABLE dup_wide (id int PRIMARY KEY, v text);
CREATE TABLE left_behind (id int PRIMARY KEY);
CREATE TABLE chars (id int PRIMARY KEY, c char(10));
CREATE TABLE docs (id int PRIMARY KEY, j json);
CREATE TABLE ints (id int PRIMARY KEY, n int);
INSERT INTO chars SELECT g, 'v' || g FROM generate_series(1, 100) g;
INSERT INTO docs SELECT g, ('{"b": ' || g || ',   "a": [1, 2.50], "a": "dup"}')::json FROM generate_series(1, 100) g;
INSERT INTO ints SELECT g, g * 3 FROM generate_series(1, 3000) g;
)sql";
// Other types, holding what replication writes: char(10)'s padded text in a varchar(10), the
// json documents as jsonb, the integers as bigint.
constexpr std::string_view kTargetSchema = R"sql(
CREATE TABLE dup_nokey (id int, v text);
CREATE TABLE dup_wide (id int, v text, PRIMARY KEY (id, v));
CREATE TABLE chars (id int PRIMARY KEY, c varchar(10));
CREATE TABLE docs (id int PRIMARY KEY, j jsonb);
CREATE TABLE ints (id bigint PRIMARY KEY, n bigint);
INSERT INTO chars SELECT g, rpad('v' || g, 10) FROM generate_series(1, 100) g;
INSERT INTO docs SELECT g, ('{"b": ' || g || ',   "a": [1, 2.50], "a": "dup"}')::jsonb FROM generate_series(1, 100) g;
INSERT INTO ints SELECT g, g * 3 FROM generate_series(1, 3000) g;
)sql";

constexpr std::string_view kData = R"sql(
INSERT INTO specials SELECT g, CASE g WHEN 1 THEN 'NaN' WHEN 2 THEN 'Infinity' WHEN 3 THEN '-Infinity' ELSE g::numeric END,
  CASE g WHEN 1 THEN 'NaN' WHEN 2 THEN 'Infinity' WHEN 3 THEN '-Infinity' WHEN 2000 THEN 'NaN' ELSE g * 0.5 END
  FROM generate_series(1, 3000) g;
INSERT INTO special_keys SELECT g, g FROM generate_series(1, 2997) g;
INSERT INTO special_keys VALUES ('NaN', -1), ('Infinity', -2), ('-Infinity', -3);
INSERT INTO secret SELECT g, 'v' || g FROM generate_series(1, 3000) g;
INSERT INTO fine SELECT g, 'v' || g FROM generate_series(1, 100) g;
INSERT INTO dup_nokey SELECT g, 'v' || g FROM generate_series(1, 3000) g;
INSERT INTO dup_wide SELECT g, 'v' || g FROM generate_series(1, 3000) g;
INSERT INTO kwords SELECT 'w' || g, g FROM generate_series(1, 3000) g;
)sql";

// What the target holds instead. No fence, no writes: nothing here is lag.
constexpr std::string_view kTargetDamage = R"sql(
UPDATE specials SET n = CASE id WHEN 1 THEN 'Infinity'::numeric WHEN 2 THEN '-Infinity' ELSE 'NaN' END WHERE id <= 3;
UPDATE specials SET a = 'Infinity' WHERE id = 2000;
UPDATE special_keys SET v = CASE v WHEN -1 THEN -2 WHEN -2 THEN -3 ELSE -1 END WHERE v < 0;
UPDATE secret SET v = 'changed' WHERE id = 2500;
DELETE FROM secret WHERE id = 2999;
INSERT INTO dup_nokey VALUES (5, 'v5');
INSERT INTO dup_wide VALUES (5, 'another five');
DELETE FROM dup_wide WHERE id = 6;
UPDATE chars SET c = 'v2' WHERE id = 2;
DELETE FROM kwords WHERE n % 9 <> 0;
)sql";

class VerifyWrongMatchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = start_cluster("wrong-src", {{"timezone", "UTC"}}).release();
    target_ = start_cluster("wrong-tgt", {{"timezone", "Pacific/Auckland"}}).release();
    source_->create_database("w");
    connect(*target_).exec("CREATE DATABASE w LOCALE_PROVIDER icu ICU_LOCALE 'en-US' TEMPLATE template0");
    pg::Connection s = connect(*source_, "w");
    run_sql(s, kCommonSchema);
    run_sql(s, kSourceSchema);
    run_sql(s, kData);
    pg::Connection t = connect(*target_, "w");
    run_sql(t, kCommonSchema);
    run_sql(t, kTargetSchema);
    run_sql(t, kData);
    run_sql(t, kTargetDamage);
    for (auto* c : {source_, target_}) {
      pg::Connection conn = connect(*c, "w");
      run_sql(conn, fmt::format("CREATE ROLE reader LOGIN PASSWORD '{}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "
                                "reader; ANALYZE",
                                localpg::kLocalPassword));
    }
  }
  static void TearDownTestSuite() {
    delete source_;
    delete target_;
  }

  static CliRun verify(const std::vector<std::string>& extra, const std::string& user = "postgres") {
    std::vector<std::string> args = {"verify", "--source", source_->url("w", user), "--target", target_->url("w", user)};
    args.insert(args.end(), extra.begin(), extra.end());
    CliRun run = run_pgshift(args);
    expect_no_password(run.all());
    return run;
  }

  static json verify_json(std::vector<std::string> extra, int expected_exit, const std::string& user = "postgres") {
    extra.push_back("--json");
    CliRun run = verify(extra, user);
    EXPECT_EQ(run.exit_code, expected_exit) << run.all();
    json j = json::parse(run.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << run.all();
    return j;
  }

  static const json& table(const json& report, const std::string& name) {
    for (const auto& t : report["tables"]) {
      if (t["table"] == name) return t;
    }
    static const json none;
    ADD_FAILURE() << "no table " << name << " in " << report.dump(1);
    return none;
  }

  // kind:key[:column,...] of each listed difference, as a set.
  static std::set<std::string> differences(const json& t) {
    std::set<std::string> out;
    for (const auto& d : t["differences"]) {
      std::string s = d["kind"].get<std::string>() + ":";
      for (const auto& [k, v] : d["key"].items()) s += v.get<std::string>();
      if (d.contains("columns")) {
        s += ":";
        for (const auto& c : d["columns"]) s += c.get<std::string>() + ",";
      }
      out.insert(s);
    }
    return out;
  }

  // The mode/chunking combinations a case runs in.
  static std::vector<std::vector<std::string>> runs(bool counts_too) {
    std::vector<std::vector<std::string>> r = {{"--mode", "full"}, {"--mode", "full", "--chunk-rows", "300"}};
    if (counts_too) {
      r.push_back({"--mode", "counts"});
      r.push_back({"--mode", "counts", "--chunk-rows", "300"});
    }
    return r;
  }

  static LocalCluster* source_;
  static LocalCluster* target_;
};

LocalCluster* VerifyWrongMatchTest::source_ = nullptr;
LocalCluster* VerifyWrongMatchTest::target_ = nullptr;

// Item 1. counts mode compares no content, so only full sees these.
TEST_F(VerifyWrongMatchTest, NumericNaNAndInfinitiesAreDistinct) {
  for (const auto& mode : runs(false)) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(mode, " ")));
    std::vector<std::string> args = mode;
    for (const char* t : {"specials", "special_keys"}) args.insert(args.end(), {"--tables", t});
    json r = verify_json(args, 1);
    const json& values = table(r, "public.specials");
    EXPECT_EQ(values["status"], "mismatch") << values.dump(1);
    EXPECT_EQ(values["differences_total"], 4) << values.dump(1);
    EXPECT_EQ(differences(values), (std::set<std::string>{"different:1:n,", "different:2:n,", "different:3:n,",
                                                          "different:2000:a,"}))
        << values.dump(1);
    const json& keys = table(r, "public.special_keys");
    EXPECT_EQ(keys["differences_total"], 3) << keys.dump(1);
    EXPECT_EQ(differences(keys), (std::set<std::string>{"different:NaN:v,", "different:Infinity:v,",
                                                        "different:-Infinity:v,"}))
        << keys.dump(1);
  }
}

// Item 2: a key the target holds twice is an extra row, named with its copies; a count
// difference is never explained away without a fence.
TEST_F(VerifyWrongMatchTest, DuplicateKeysOnTheTargetAreExtraRows) {
  for (const auto& mode : runs(true)) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(mode, " ")));
    std::vector<std::string> args = mode;
    args.insert(args.end(), {"--tables", "dup_*"});
    json r = verify_json(args, 1);
    const json& nokey = table(r, "public.dup_nokey");
    EXPECT_EQ(nokey["status"], "mismatch") << nokey.dump(1);
    EXPECT_EQ(nokey["source_rows"], 3000);
    EXPECT_EQ(nokey["target_rows"], 3001);
    EXPECT_EQ(nokey["differences_total"], 1) << nokey.dump(1);
    ASSERT_EQ(nokey["differences"].size(), 1u) << nokey.dump(1);
    EXPECT_EQ(nokey["differences"][0]["kind"], "extra_on_target");
    EXPECT_EQ(nokey["differences"][0]["key"], json({{"id", "5"}}));
    EXPECT_EQ(nokey["differences"][0]["source_copies"], 1);
    EXPECT_EQ(nokey["differences"][0]["target_copies"], 2);
    const json& wide = table(r, "public.dup_wide");
    EXPECT_EQ(wide["status"], "mismatch") << wide.dump(1);
    EXPECT_EQ(differences(wide), (std::set<std::string>{"extra_on_target:5", "missing_on_target:6"})) << wide.dump(1);
    for (const json* t : {&nokey, &wide}) {
      for (const auto& n : (*t)["notes"]) EXPECT_EQ(n.get<std::string>().find("lag fence"), std::string::npos) << n;
    }
  }
  CliRun human = verify({"--tables", "dup_nokey"});
  EXPECT_EQ(human.exit_code, 1) << human.all();
  EXPECT_NE(human.out.find("extra on target    id=5  (duplicate key: source 1 copy, target 2)"), std::string::npos)
      << human.out;
  EXPECT_EQ(human.out.find("arrived under the lag fence"), std::string::npos) << human.out;
}

// Item 3: never a comparison of what a policy lets through.
TEST_F(VerifyWrongMatchTest, RowLevelSecurityIsAnErrorNotAFilteredRead) {
  for (const auto& mode : runs(true)) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(mode, " ")));
    std::vector<std::string> args = mode;
    args.insert(args.end(), {"--tables", "secret", "--tables", "fine"});
    json r = verify_json(args, 3, "reader");
    const json& secret = table(r, "public.secret");
    EXPECT_EQ(secret["status"], "error") << secret.dump(1);
    std::string reason = secret["reason"];
    EXPECT_NE(reason.find("row-level security"), std::string::npos) << reason;
    EXPECT_NE(reason.find("\"secret\""), std::string::npos) << reason;
    EXPECT_NE(reason.find("BYPASSRLS"), std::string::npos) << reason;
    EXPECT_EQ(table(r, "public.fine")["status"], "match");
  }
  // A role that may read every row sees the differences the policy hid.
  json r = verify_json({"--tables", "secret", "--chunk-rows", "300"}, 1);
  EXPECT_EQ(differences(table(r, "public.secret")),
            (std::set<std::string>{"different:2500:v,", "missing_on_target:2999"}));
  json c = verify_json({"--tables", "secret", "--mode", "counts"}, 1);
  EXPECT_EQ(differences(table(c, "public.secret")), (std::set<std::string>{"missing_on_target:2999"}));
}

// Item 4: a table the migration would leave behind.
TEST_F(VerifyWrongMatchTest, SourceOnlyTableIsADifferenceUnlessExcluded) {
  for (const auto& mode : runs(true)) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(mode, " ")));
    std::vector<std::string> args = mode;
    args.insert(args.end(), {"--tables", "left_behind", "--tables", "fine"});
    json r = verify_json(args, 1);
    const json& t = table(r, "public.left_behind");
    EXPECT_EQ(t["status"], "mismatch") << t.dump(1);
    EXPECT_NE(t["reason"].get<std::string>().find("source only"), std::string::npos) << t.dump(1);
    EXPECT_EQ(r["summary"]["mismatch"], 1);
    EXPECT_FALSE(r["summary"]["ok"].get<bool>());
  }
  CliRun human = verify({"--tables", "left_behind"});
  EXPECT_EQ(human.exit_code, 1) << human.all();
  EXPECT_NE(human.out.find("public.left_behind MISMATCH: exists on the source only"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("the target differs from the source"), std::string::npos) << human.out;
  json excluded = verify_json({"--tables", "left_behind", "--tables", "fine", "--exclude", "left_behind"}, 0);
  EXPECT_EQ(table(excluded, "public.left_behind")["status"], "skipped");
}

// Item 5: compared as replication carries the value (the source's text as the target's type).
TEST_F(VerifyWrongMatchTest, CrossTypeColumnsCompareWhatReplicationCarries) {
  for (const auto& mode : runs(false)) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(mode, " ")));
    std::vector<std::string> args = mode;
    for (const char* t : {"chars", "docs", "ints"}) args.insert(args.end(), {"--tables", t});
    json r = verify_json(args, 1);
    // The padded text replication wrote matches; the trimmed one reads differently.
    const json& chars = table(r, "public.chars");
    EXPECT_EQ(chars["differences_total"], 1) << chars.dump(1);
    EXPECT_EQ(differences(chars), (std::set<std::string>{"different:2:c,"})) << chars.dump(1);
    EXPECT_EQ(table(r, "public.docs")["status"], "match") << table(r, "public.docs").dump(1);
    EXPECT_EQ(table(r, "public.ints")["status"], "match") << table(r, "public.ints").dump(1);
  }
  json counts = verify_json({"--mode", "counts", "--tables", "chars"}, 0);
  EXPECT_EQ(table(counts, "public.chars")["status"], "match");
}

TEST_F(VerifyWrongMatchTest, ExcludeColumnIsRecordedAndPrinted) {
  json r = verify_json({"--tables", "chars", "--exclude-column", "public.chars.c"}, 0);
  const json& chars = table(r, "public.chars");
  EXPECT_EQ(chars["status"], "match") << chars.dump(1);
  EXPECT_EQ(chars["excluded_columns"], json::array({"c"}));
  CliRun human = verify({"--tables", "chars", "--exclude-column", "public.chars.c"});
  EXPECT_EQ(human.exit_code, 0) << human.all();
  EXPECT_NE(human.out.find("columns not compared (--exclude-column): c"), std::string::npos) << human.out;
  for (const char* bad : {"chars.c", "public.chars.nope", "public.nope.c", "public.chars.id", "public..c"}) {
    CliRun run = verify({"--tables", "chars", "--exclude-column", bad});
    EXPECT_EQ(run.exit_code, 2) << bad << ": " << run.all();
    EXPECT_NE(run.err.find(std::string("--exclude-column ") + bad), std::string::npos) << run.err;
    EXPECT_EQ(line_count(run.err), 1u) << run.err;
  }
}

// Item 6.
TEST_F(VerifyWrongMatchTest, WordingAndNumericKeysAcrossIntegerTypes) {
  CliRun counts = verify({"--mode", "counts", "--tables", "fine"});
  EXPECT_EQ(counts.exit_code, 0) << counts.all();
  EXPECT_NE(counts.out.find("1 table: 1 match"), std::string::npos) << counts.out;
  EXPECT_NE(counts.out.find("row counts match"), std::string::npos) << counts.out;
  EXPECT_EQ(counts.out.find("the target matches the source"), std::string::npos) << counts.out;
  CliRun full = verify({"--tables", "fine"});
  EXPECT_NE(full.out.find("the target matches the source"), std::string::npos) << full.out;

  json r = verify_json({"--tables", "ints", "--chunk-rows", "300"}, 0);
  EXPECT_TRUE(r["direction"].is_null()) << r["direction"];
  const json& ints = table(r, "public.ints");
  EXPECT_EQ(ints["strategy"], "key-ranges") << ints.dump(1);
  EXPECT_GE(ints["chunks"].get<int>(), 5) << ints.dump(1);
  EXPECT_TRUE(ints["notes"].empty()) << ints.dump(1);
}

// Item 6: a key-scan table (text keys under linguistic collations) with most rows missing
// reports the exact total, with small chunks too, as key ranges do.
TEST_F(VerifyWrongMatchTest, KeyScanTotalsAreExact) {
  for (const auto& mode : runs(true)) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(mode, " ")));
    std::vector<std::string> args = mode;
    args.insert(args.end(), {"--tables", "kwords"});
    json r = verify_json(args, 1);
    const json& t = table(r, "public.kwords");
    EXPECT_EQ(t["strategy"], "key-scan") << t.dump(1);
    EXPECT_EQ(t["differences_total"], 2667) << t.dump(1);
    EXPECT_TRUE(t["differences_total_exact"].get<bool>()) << t.dump(1);
  }
}

}  // namespace
