// The statements pgshift's apply builds from pgoutput changes: quoted identifiers, every value a
// bound parameter cast to its type, keys from the old tuple when sent, unchanged TOAST left alone.
#include <gtest/gtest.h>

#include "logical/apply.hpp"

using namespace pgshift;
using namespace pgshift::logical;
using pgoutput::Value;

namespace {

Value text(const std::string& s) { return {Value::Kind::text, s}; }
const Value kNull{Value::Kind::null, ""};
const Value kToast{Value::Kind::unchanged_toast, ""};

ApplyTable table(char identity = 'd') {
  ApplyTable t;
  t.relation.id = 1;
  t.relation.schema = "app";
  t.relation.name = "Order";
  t.relation.replica_identity = identity;
  t.relation.columns = {{true, "id", 20, -1}, {identity == 'f', "body", 25, -1}, {identity == 'f', "mood", 16500, -1}};
  t.type_names = {"bigint", "text", "app.mood"};
  return t;
}

std::vector<std::optional<std::string>> values(const pg::Params& params) {
  std::vector<std::optional<std::string>> out;
  for (const auto& p : params) out.push_back(p.value());
  return out;
}

TEST(ApplyStatementsTest, InsertBindsEveryValueWithItsType) {
  ApplyStatement s = insert_statement(table(), {1, {text("7"), kNull, text("happy")}});
  EXPECT_EQ(s.sql, R"(INSERT INTO "app"."Order" ("id", "body", "mood") VALUES ($1::bigint, $2::text, $3::app.mood))");
  EXPECT_EQ(values(s.params), (std::vector<std::optional<std::string>>{"7", std::nullopt, "happy"}));
}

TEST(ApplyStatementsTest, UpdateLeavesUnchangedToastOutAndKeysByTheNewRow) {
  pgoutput::Update u{1, 0, {}, {text("7"), kToast, text("sad")}};
  ApplyStatement s = update_statement(table(), u);
  EXPECT_EQ(s.sql, R"(UPDATE "app"."Order" SET "id" = $1::bigint, "mood" = $2::app.mood WHERE "id" = $3::bigint)");
  EXPECT_EQ(values(s.params), (std::vector<std::optional<std::string>>{"7", "sad", "7"}));
  EXPECT_EQ(s.key, "(id)=(7)");
}

TEST(ApplyStatementsTest, UpdateOfTheKeyFindsTheRowByTheOldKey) {
  pgoutput::Update u{1, 'K', {text("7"), kNull, kNull}, {text("8"), text("b"), text("ok")}};
  ApplyStatement s = update_statement(table(), u);
  EXPECT_NE(s.sql.find(R"(WHERE "id" = $4::bigint)"), std::string::npos) << s.sql;
  EXPECT_EQ(s.params.back().value(), "7");
  EXPECT_EQ(s.key, "(id)=(7)");
}

TEST(ApplyStatementsTest, FullIdentityChangesOneMatchingRowComparingNullsWithIsNull) {
  pgoutput::Delete d{1, 'O', {text("7"), kNull, text("happy")}};
  ApplyStatement s = delete_statement(table('f'), d);
  EXPECT_EQ(s.sql, R"(DELETE FROM "app"."Order" WHERE (tableoid, ctid) = (SELECT tableoid, ctid FROM "app"."Order" WHERE "id" = $1::bigint )"
                   R"(AND "body" IS NULL AND "mood" = $2::app.mood LIMIT 1))");
  EXPECT_EQ(s.key, "(id, body, mood)=(7, NULL, happy)");
}

TEST(ApplyStatementsTest, TruncateRestartsIdentityWhenAskedAndNeverCascades) {
  ApplyTable a = table(), b = table();
  b.relation.name = "lines";
  pgoutput::Truncate t{pgoutput::Truncate::kRestartIdentity | pgoutput::Truncate::kCascade, {1, 2}};
  EXPECT_EQ(truncate_statement({&a, &b}, t).sql, R"(TRUNCATE "app"."Order", "app"."lines" RESTART IDENTITY)");
}

TEST(ApplyStatementsTest, ATupleOfTheWrongWidthOrWithoutKeyIsRefused) {
  EXPECT_THROW(insert_statement(table(), {1, {text("7")}}), RuntimeError);
  ApplyTable keyless = table('n');
  keyless.relation.columns[0].key = false;
  EXPECT_THROW(delete_statement(keyless, {1, 'K', {kNull, kNull, kNull}}), RuntimeError);
}

}  // namespace
