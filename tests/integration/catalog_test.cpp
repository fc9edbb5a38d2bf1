// catalog::read_snapshot against a real PostgreSQL 15 database holding every kind of object the
// migration cares about.
#include <gtest/gtest.h>

#include "catalog/catalog.hpp"
#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE EXTENSION citext;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE SEQUENCE shared_ids;
CREATE TABLE people (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email citext NOT NULL,
  feeling mood,
  feelings mood[],
  score positive,
  doc json,
  attrs jsonb,
  name_upper text GENERATED ALWAYS AS (upper(email::text)) STORED,
  ticket bigint NOT NULL DEFAULT nextval('shared_ids')
);
CREATE TABLE tickets (n bigint DEFAULT nextval('shared_ids'), code text NOT NULL, note text);
CREATE UNIQUE INDEX tickets_code ON tickets (code);
CREATE UNIQUE INDEX tickets_note ON tickets (note) WHERE note IS NOT NULL;
CREATE TABLE logs (at timestamptz, line text);
ALTER TABLE logs REPLICA IDENTITY FULL;
CREATE UNLOGGED TABLE cache (k text PRIMARY KEY, v text);
CREATE TABLE events (id bigserial, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
  PARTITION BY RANGE (at);
CREATE TABLE events_2025_h1 PARTITION OF events_2025 FOR VALUES FROM ('2025-01-01') TO ('2025-07-01');
CREATE SCHEMA pgshift;
CREATE TABLE pgshift.journal (id int);
CREATE SCHEMA "Weird Schema";
CREATE TABLE "Weird Schema"."Mixed Case" (id int PRIMARY KEY);
INSERT INTO people (email) VALUES ('a@example.com'), ('b@example.com');
SELECT lo_create(0);
CREATE PUBLICATION pub_people FOR TABLE people, tickets;
SELECT pg_create_logical_replication_slot('idle_slot', 'pgoutput');
)sql";

class CatalogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("catalog").release();
    cluster_->create_database("app");
    pg::Connection conn = connect(*cluster_, "app");
    run_sql(conn, kSchema);
    snapshot_ = new catalog::Snapshot(catalog::read_snapshot(conn));
  }
  static void TearDownTestSuite() {
    delete snapshot_;
    delete cluster_;
  }
  static const catalog::Table& table(const std::string& schema, const std::string& name) {
    const catalog::Table* t = snapshot_->table({schema, name});
    if (!t) throw std::runtime_error("no table " + schema + "." + name);
    return *t;
  }
  static LocalCluster* cluster_;
  static catalog::Snapshot* snapshot_;
};

LocalCluster* CatalogTest::cluster_ = nullptr;
catalog::Snapshot* CatalogTest::snapshot_ = nullptr;

TEST_F(CatalogTest, ServerInfoAndSettings) {
  const auto& s = snapshot_->server;
  EXPECT_EQ(s.major(), 15);
  EXPECT_EQ(s.database, "app");
  EXPECT_EQ(s.current_user, "postgres");
  EXPECT_TRUE(s.superuser);
  EXPECT_TRUE(s.replication_role);
  EXPECT_EQ(s.setting("wal_level"), "logical");
  EXPECT_EQ(s.setting_int("max_replication_slots"), 20);
  EXPECT_GE(s.replication_slots_in_use, 1);
  EXPECT_FALSE(s.setting("max_logical_replication_workers").empty());
}

TEST_F(CatalogTest, TablesKindsAndPersistence) {
  EXPECT_EQ(table("public", "events").kind, catalog::TableKind::partitioned);
  const auto& p = table("public", "events_2025_h1");
  EXPECT_EQ(p.kind, catalog::TableKind::partition);
  ASSERT_TRUE(p.partition_root.has_value());
  EXPECT_EQ(p.partition_root->name, "events");  // the top-most ancestor, not events_2025
  EXPECT_EQ(table("public", "cache").persistence, catalog::Persistence::unlogged);
  EXPECT_EQ(snapshot_->table({"pgshift", "journal"}), nullptr) << "pgshift's own schema is never read";
  EXPECT_NE(snapshot_->table({"Weird Schema", "Mixed Case"}), nullptr);
  EXPECT_TRUE(table("public", "people").owned_by_current_user);
  EXPECT_GT(table("public", "people").size_bytes, 0);
}

TEST_F(CatalogTest, ColumnsTypesGeneratedIdentityAndEquality) {
  const auto& t = table("public", "people");
  EXPECT_EQ(t.column("id")->identity, 'a');
  EXPECT_EQ(t.column("email")->type, "public.citext");
  EXPECT_EQ(t.column("feeling")->type_kind, "enum");
  EXPECT_EQ(t.column("feeling")->enum_type, "public.mood");
  EXPECT_EQ(t.column("feelings")->type, "public.mood[]");
  EXPECT_EQ(t.column("feelings")->type_kind, "array");
  EXPECT_EQ(t.column("feelings")->enum_type, "public.mood");
  EXPECT_EQ(t.column("score")->type_kind, "domain");
  EXPECT_EQ(t.column("score")->domain_base, "integer");
  EXPECT_EQ(t.column("name_upper")->generated, 's');
  EXPECT_FALSE(t.column("doc")->has_equality) << "json has no equality operator";
  EXPECT_TRUE(t.column("attrs")->has_equality);
  EXPECT_TRUE(t.column("feelings")->has_equality);
  EXPECT_TRUE(t.column("score")->has_equality);
  EXPECT_TRUE(t.column("ticket")->has_default);
  EXPECT_TRUE(t.column("email")->not_null);
}

TEST_F(CatalogTest, KeysIdentityAndUniqueIndexes) {
  EXPECT_EQ(table("public", "people").primary_key, std::vector<std::string>{"id"});
  EXPECT_EQ(table("public", "events").primary_key, (std::vector<std::string>{"id", "at"}));
  const auto& tickets = table("public", "tickets");
  EXPECT_TRUE(tickets.primary_key.empty());
  EXPECT_FALSE(tickets.has_usable_identity());
  ASSERT_NE(tickets.identity_candidate(), nullptr);
  EXPECT_EQ(tickets.identity_candidate()->name, "tickets_code");
  bool saw_partial = false;
  for (const auto& idx : tickets.unique_indexes) {
    if (idx.name == "tickets_note") {
      saw_partial = true;
      EXPECT_TRUE(idx.partial);
      EXPECT_FALSE(idx.usable_as_identity());
    }
  }
  EXPECT_TRUE(saw_partial);
  EXPECT_EQ(table("public", "logs").replica_identity, catalog::ReplicaIdentity::full);
  EXPECT_TRUE(table("public", "logs").has_usable_identity());
}

TEST_F(CatalogTest, SequencesWithOwnersAndUsers) {
  const catalog::Sequence* shared = snapshot_->sequence({"public", "shared_ids"});
  ASSERT_NE(shared, nullptr);
  EXPECT_FALSE(shared->owner_table.has_value());
  EXPECT_EQ(shared->used_by.size(), 2u) << "people.ticket and tickets.n call nextval on it";
  EXPECT_EQ(shared->last_value, 2);
  const catalog::Sequence* serial = snapshot_->sequence({"public", "events_id_seq"});
  ASSERT_NE(serial, nullptr);
  ASSERT_TRUE(serial->owner_table.has_value());
  EXPECT_EQ(serial->owner_table->name, "events");
  EXPECT_EQ(serial->owner_column, "id");
  EXPECT_FALSE(serial->last_value.has_value()) << "never called";
  const catalog::Sequence* identity = snapshot_->sequence({"public", "people_id_seq"});
  ASSERT_NE(identity, nullptr);
  EXPECT_EQ(identity->owner_column, "id");
}

TEST_F(CatalogTest, EnumsExtensionsLargeObjectsAndReplicationObjects) {
  ASSERT_NE(snapshot_->enum_type("public.mood"), nullptr);
  EXPECT_EQ(snapshot_->enum_type("public.mood")->labels, (std::vector<std::string>{"sad", "ok", "happy"}));
  EXPECT_NE(snapshot_->extension("citext"), nullptr);
  EXPECT_EQ(snapshot_->large_objects, 1);
  ASSERT_EQ(snapshot_->publications.size(), 1u);
  EXPECT_EQ(snapshot_->publications[0].tables.size(), 2u);
  ASSERT_EQ(snapshot_->slots.size(), 1u);
  EXPECT_EQ(snapshot_->slots[0].name, "idle_slot");
  EXPECT_FALSE(snapshot_->slots[0].active);
  EXPECT_EQ(snapshot_->slots[0].wal_status, "reserved");
  EXPECT_TRUE(snapshot_->slots[0].retained_bytes.has_value());
}

TEST_F(CatalogTest, FingerprintFollowsSchemaChanges) {
  pg::Connection conn = connect(*cluster_, "app");
  std::string before = catalog::fingerprint(table("public", "tickets"));
  conn.exec("ALTER TABLE tickets ADD COLUMN extra int");
  catalog::Snapshot after = catalog::read_snapshot(conn);
  EXPECT_NE(catalog::fingerprint(*after.table({"public", "tickets"})), before);
  auto diffs = catalog::diff_table(*after.table({"public", "tickets"}), table("public", "tickets"));
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0].column, "extra");
  EXPECT_EQ(diffs[0].kind, catalog::ColumnDifference::Kind::missing_on_target);
  conn.exec("ALTER TABLE tickets DROP COLUMN extra");
}

}  // namespace
