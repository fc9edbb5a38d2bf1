// Each preflight rule, on hand-built snapshots: a healthy pair has no error, and each seeded
// hazard is reported with its code and severity.
#include <gtest/gtest.h>

#include <algorithm>

#include "preflight/preflight.hpp"
#include "preflight/rules.hpp"

using namespace pgshift;
using namespace pgshift::preflight;
using catalog::Column;
using catalog::Table;

namespace {

catalog::ServerInfo server() {
  catalog::ServerInfo s;
  s.version_num = 150004;
  s.superuser = true;
  s.replication_role = true;
  s.can_create_in_database = true;
  s.current_user = "postgres";
  s.database = "app";
  s.settings = {{"wal_level", "logical"}, {"max_replication_slots", "10"}, {"max_wal_senders", "10"},
                {"max_worker_processes", "16"}, {"max_logical_replication_workers", "8"},
                {"max_sync_workers_per_subscription", "2"}, {"server_encoding", "UTF8"}};
  return s;
}

Table keyed_table(const std::string& name) {
  Table t;
  t.ref = {"public", name};
  Column id;
  id.name = "id";
  id.type = "bigint";
  id.not_null = true;
  t.columns = {id};
  t.primary_key = {"id"};
  t.owned_by_current_user = true;
  catalog::UniqueIndex pk;
  pk.name = name + "_pkey";
  pk.primary = true;
  pk.columns = {"id"};
  pk.all_not_null = true;
  t.unique_indexes = {pk};
  return t;
}

struct Fixture {
  Inputs in;
  Options options;
  Fixture() {
    in.source.server = server();
    in.target.server = server();
    in.source.tables = {keyed_table("orders")};
    in.target.tables = {keyed_table("orders")};
  }
  std::vector<Hazard> run() {
    in.selection = catalog::select_tables(in.source, in.target, options.excludes);
    in.diff = catalog::diff_schemas(in.source, in.target);
    for (const auto& r : in.selection.replicated) in.target_has_rows.emplace(r, false);
    return assess(in, options);
  }
};

const Hazard* find(const std::vector<Hazard>& hs, const std::string& code) {
  auto it = std::find_if(hs.begin(), hs.end(), [&](const Hazard& h) { return h.code == code; });
  return it == hs.end() ? nullptr : &*it;
}

void expect_hazard(const std::vector<Hazard>& hs, const std::string& code, Severity severity) {
  const Hazard* h = find(hs, code);
  ASSERT_NE(h, nullptr) << "no hazard " << code;
  EXPECT_EQ(h->severity, severity) << code;
  EXPECT_FALSE(h->message.empty());
  if (severity != Severity::info) {
    EXPECT_FALSE(h->fix.empty()) << code << " has no fix";
  }
}

int errors(const std::vector<Hazard>& hs) {
  return static_cast<int>(std::count_if(hs.begin(), hs.end(), [](auto& h) { return h.severity == Severity::error; }));
}

}  // namespace

TEST(Assess, HealthyPairHasNoErrorsOrWarnings) {
  Fixture f;
  auto hs = f.run();
  for (const auto& h : hs) {
    EXPECT_EQ(h.severity, Severity::info) << h.code << ": " << h.message;
  }
  expect_hazard(hs, "versions", Severity::info);
  // Errors sort first.
  f.in.source.server.settings["wal_level"] = "replica";
  hs = f.run();
  EXPECT_EQ(hs.front().code, "wal-level");
}

TEST(Assess, ServerSettings) {
  Fixture f;
  f.in.source.server.settings["wal_level"] = "replica";
  f.in.source.server.settings["max_replication_slots"] = "1";
  f.in.source.server.replication_slots_in_use = 1;
  f.in.source.server.settings["max_wal_senders"] = "2";
  f.in.target.server.settings["max_logical_replication_workers"] = "2";
  f.in.target.server.settings["wal_level"] = "replica";
  auto hs = f.run();
  expect_hazard(hs, "wal-level", Severity::error);
  expect_hazard(hs, "too-few-max_replication_slots", Severity::error);
  expect_hazard(hs, "few-max_wal_senders", Severity::warning);
  expect_hazard(hs, "few-max_logical_replication_workers", Severity::warning);
  expect_hazard(hs, "target-wal-level", Severity::warning);
}

TEST(Assess, RolesAndPrivileges) {
  Fixture f;
  auto& s = f.in.source.server;
  s.superuser = false;
  s.replication_role = false;
  s.can_create_in_database = false;
  f.in.source.tables[0].owned_by_current_user = false;
  f.in.source.tables[0].selectable = false;
  f.in.target.server.superuser = false;
  auto hs = f.run();
  expect_hazard(hs, "source-role-replication", Severity::error);
  expect_hazard(hs, "source-role-publication", Severity::error);
  expect_hazard(hs, "source-role-not-owner", Severity::error);
  expect_hazard(hs, "source-role-no-select", Severity::error);
  expect_hazard(hs, "target-role-subscription", Severity::error);
  expect_hazard(hs, "source-role-subscription", Severity::warning);
  // PostgreSQL 16's pg_create_subscription is enough on the target.
  f.in.target.server.version_num = 160001;
  f.in.target.server.provider_roles = {"pg_create_subscription"};
  EXPECT_EQ(find(f.run(), "target-role-subscription"), nullptr);
}

TEST(Assess, VersionsStandbyAndEncoding) {
  Fixture f;
  f.in.source.server.version_num = 160002;
  f.in.source.server.in_recovery = true;
  f.in.target.server.settings["server_encoding"] = "LATIN1";
  auto hs = f.run();
  expect_hazard(hs, "target-older", Severity::warning);
  EXPECT_EQ(find(hs, "source-standby"), nullptr);  // 16 can decode on a standby
  expect_hazard(hs, "encoding-differs", Severity::warning);
  EXPECT_EQ(find(hs, "target-standby"), nullptr);
  f.in.target.server.in_recovery = true;
  expect_hazard(f.run(), "target-standby", Severity::error);
  f.in.source.server.version_num = 140009;
  expect_hazard(f.run(), "source-standby", Severity::error);
  f.in.source.server.version_num = 90624;
  expect_hazard(f.run(), "source-version", Severity::error);
}

TEST(Assess, SchemaDifferences) {
  Fixture f;
  f.in.source.tables.push_back(keyed_table("legacy"));
  f.in.target.tables.push_back(keyed_table("target_only"));
  Column text_col;
  text_col.name = "note";
  text_col.type = "text";
  f.in.source.tables[0].columns.push_back(text_col);
  Column amount;
  amount.name = "amount";
  amount.type = "numeric(12,2)";
  f.in.source.tables[0].columns.push_back(amount);
  amount.type = "numeric(10,2)";
  f.in.target.tables[0].columns.push_back(amount);
  Column small;
  small.name = "qty";
  small.type = "integer";
  f.in.source.tables[0].columns.push_back(small);
  small.type = "bigint";
  f.in.target.tables[0].columns.push_back(small);
  Column gen;
  gen.name = "total";
  gen.type = "integer";
  gen.generated = 's';
  f.in.source.tables[0].columns.push_back(gen);
  gen.generated = '\0';
  f.in.target.tables[0].columns.push_back(gen);
  Column required;
  required.name = "tenant";
  required.type = "integer";
  required.not_null = true;
  f.in.target.tables[0].columns.push_back(required);
  f.in.source.enums = {{"public.status", {"new", "paid", "refunded"}}};
  f.in.target.enums = {{"public.status", {"new", "paid"}}};
  catalog::Sequence seq;
  seq.ref = {"public", "legacy_id_seq"};
  f.in.source.sequences = {seq};
  f.in.source.extensions = {{"plpgsql", "1.0"}, {"pg_trgm", "1.6"}, {"postgis", "3.4"}, {"citext", "1.6"}};
  f.in.target.extensions = {{"plpgsql", "1.0"}, {"citext", "1.5"}};
  f.in.target.available_extensions = {"pg_trgm", "citext"};
  auto hs = f.run();
  expect_hazard(hs, "source-only-tables", Severity::error);
  expect_hazard(hs, "target-only-tables", Severity::info);
  expect_hazard(hs, "column-missing-on-target", Severity::error);
  expect_hazard(hs, "column-type-mismatch", Severity::error);
  expect_hazard(hs, "column-type-widened", Severity::warning);
  expect_hazard(hs, "generated-column-mismatch", Severity::error);
  expect_hazard(hs, "target-column-requires-value", Severity::error);
  expect_hazard(hs, "enum-labels-missing", Severity::error);
  expect_hazard(hs, "sequences", Severity::info);
  expect_hazard(hs, "sequence-missing-on-target", Severity::warning);
  expect_hazard(hs, "extension-missing-on-target", Severity::warning);
  expect_hazard(hs, "extension-unavailable-on-target", Severity::error);
  expect_hazard(hs, "extension-versions", Severity::info);
  const Hazard* enums = find(hs, "enum-labels-missing");
  ASSERT_EQ(enums->objects.size(), 1u);
  EXPECT_NE(enums->objects[0].find("'refunded'"), std::string::npos);
  EXPECT_EQ(find(hs, "extension-unavailable-on-target")->objects, std::vector<std::string>{"postgis"});
  EXPECT_EQ(find(hs, "sequences")->objects, std::vector<std::string>{"public.legacy_id_seq (standalone, never used)"});
}

TEST(Assess, IdentityRowsAndLeftOutTables) {
  Fixture f;
  Table nokey = keyed_table("page_views");
  nokey.primary_key.clear();
  nokey.unique_indexes.clear();
  Column payload;
  payload.name = "payload";
  payload.type = "json";
  payload.has_equality = false;
  nokey.columns.push_back(payload);
  Table with_index = keyed_table("coupons");
  with_index.primary_key.clear();
  with_index.unique_indexes[0].primary = false;
  with_index.unique_indexes[0].name = "coupons_code";
  Table nothing = keyed_table("audit");
  nothing.replica_identity = catalog::ReplicaIdentity::nothing;
  Table unlogged = keyed_table("cache");
  unlogged.persistence = catalog::Persistence::unlogged;
  Table queue = keyed_table("oban_jobs");
  for (auto* list : {&f.in.source.tables, &f.in.target.tables}) {
    list->insert(list->end(), {nokey, with_index, nothing, unlogged, queue});
  }
  f.options.excludes = {catalog::TablePattern("oban_*")};
  f.in.source.large_objects = 3;
  catalog::ReplicationSlot idle;
  idle.name = "old_debezium";
  idle.retained_bytes = 5LL << 30;
  f.in.source.slots = {idle};
  f.in.source.publications = {{"pgshift", false, true, {}}};
  f.in.target.subscriptions = {{"pgshift", true, "pgshift", {"pgshift"}}};
  auto hs = [&] {
    f.in.selection = catalog::select_tables(f.in.source, f.in.target, f.options.excludes);
    f.in.diff = catalog::diff_schemas(f.in.source, f.in.target);
    for (const auto& r : f.in.selection.replicated) f.in.target_has_rows[r] = r.name == "orders";
    return assess(f.in, f.options);
  }();
  expect_hazard(hs, "no-replica-identity", Severity::warning);
  expect_hazard(hs, "identity-full-without-equality", Severity::error);
  expect_hazard(hs, "replica-identity-index", Severity::info);
  expect_hazard(hs, "replica-identity-nothing", Severity::warning);
  // The subscription already copies into the target: its rows are replication's, not seed data.
  expect_hazard(hs, "target-rows-replicated", Severity::info);
  EXPECT_EQ(find(hs, "target-not-empty"), nullptr);
  expect_hazard(hs, "unlogged-tables", Severity::warning);
  expect_hazard(hs, "excluded-tables", Severity::info);
  expect_hazard(hs, "large-objects", Severity::warning);
  expect_hazard(hs, "inactive-slots", Severity::warning);
  expect_hazard(hs, "publication-exists", Severity::info);
  expect_hazard(hs, "subscription-exists", Severity::info);
  EXPECT_EQ(find(hs, "no-replica-identity")->objects, std::vector<std::string>{"public.page_views"});
  EXPECT_EQ(find(hs, "target-rows-replicated")->objects, std::vector<std::string>{"public.orders"});
  EXPECT_EQ(errors(hs), 1);

  // Without it, the same rows would collide with the initial copy.
  f.in.target.subscriptions.clear();
  std::vector<Hazard> unsubscribed = assess(f.in, f.options);
  expect_hazard(unsubscribed, "target-not-empty", Severity::error);
  EXPECT_EQ(find(unsubscribed, "target-not-empty")->objects, std::vector<std::string>{"public.orders"});
  EXPECT_EQ(find(unsubscribed, "target-rows-replicated"), nullptr);
  EXPECT_EQ(errors(unsubscribed), 2);
}

// Both URLs reaching one server: the "target" rows are the source's own (a --truncate-target
// would empty the source), and CREATE SUBSCRIPTION would hang creating its slot.
TEST(Assess, SourceAndTargetOnOneServer) {
  Fixture f;
  f.in.source.server.instance = f.in.target.server.instance = "7710619759604077909/1763733763.569486";
  std::vector<Hazard> hs = f.run();
  expect_hazard(hs, "same-database", Severity::error);
  EXPECT_EQ(find(hs, "same-server"), nullptr);

  f.in.target.server.database = "app_copy";
  hs = f.run();
  expect_hazard(hs, "same-server", Severity::error);
  EXPECT_EQ(find(hs, "same-database"), nullptr);

  // Another server (or the same system identifier after a restart: a promoted clone) is fine.
  f.in.target.server.instance = "7710619759604077909/1763733999.000001";
  hs = f.run();
  EXPECT_EQ(find(hs, "same-server"), nullptr);
  EXPECT_EQ(find(hs, "same-database"), nullptr);
}

TEST(Assess, LongObjectListsAreCapped) {
  std::vector<std::string> names;
  for (int i = 0; i < 30; ++i) names.push_back("t" + std::to_string(i));
  auto capped = cap_list(names, 20);
  ASSERT_EQ(capped.size(), 21u);
  EXPECT_EQ(capped.back(), "... and 10 more");
}

// Pagila's sequences are not OWNED BY their column but called by its default: not "standalone".
TEST(Assess, SequencesUsedByColumnDefaultsSayByWhich) {
  Fixture f;
  catalog::Sequence used, alone;
  used.ref = {"public", "customer_customer_id_seq"};
  used.used_by = {{"public", "customer"}};
  alone.ref = {"public", "invoice_numbers"};
  f.in.source.sequences = {used, alone};
  f.in.target.sequences = f.in.source.sequences;
  auto hs = f.run();
  const Hazard* h = find(hs, "sequences");
  ASSERT_NE(h, nullptr);
  ASSERT_EQ(h->objects.size(), 2u);
  EXPECT_NE(h->objects[0].find("used by a column default of public.customer"), std::string::npos) << h->objects[0];
  EXPECT_NE(h->objects[1].find("standalone"), std::string::npos) << h->objects[1];
}

// A replication slot of another migration (another database on the same server) that has one of
// this migration's names is an error before anything is created.
TEST(Assess, SlotNameClashIsAnError) {
  Fixture f;
  f.options.subscription = "pgshift_app_abc123";
  f.in.source.server.database = "app";
  f.in.target.server.database = "app";
  catalog::ReplicationSlot other;
  other.name = "pgshift_app_abc123";
  other.database = "shop";
  f.in.source.slots = {other};
  expect_hazard(f.run(), "slot-name-clash", Severity::error);
  other.name = "pgshift_app_abc123_reverse";
  f.in.source.slots = {};
  f.in.target.slots = {other};
  expect_hazard(f.run(), "slot-name-clash", Severity::error);
  f.in.target.slots = {};
  EXPECT_EQ(find(f.run(), "slot-name-clash"), nullptr);
}

// pg_partman's part_config, pg_cron's job: an extension's configuration table is left out with
// the extension, but its rows are the user's; check names the ones that hold (or may hold) rows.
TEST(Assess, ExtensionConfigurationRowsAreNamed) {
  Fixture f;
  Table config = keyed_table("part_config");
  config.ref = {"partman", "part_config"};
  config.extension_owned = true;
  config.extension_config = true;
  config.row_estimate = 3;
  Table member = keyed_table("template_public_events");
  member.ref = {"partman", "template_public_events"};
  member.extension_owned = true;
  member.row_estimate = 10;
  f.in.source.tables.push_back(config);
  f.in.source.tables.push_back(member);
  auto hs = f.run();
  expect_hazard(hs, "extension-config-rows", Severity::warning);
  const Hazard* h = find(hs, "extension-config-rows");
  ASSERT_NE(h, nullptr);
  ASSERT_EQ(h->objects.size(), 1u);
  EXPECT_EQ(h->objects[0], "partman.part_config (~3 rows)");

  f.in.source.tables[1].row_estimate = 0;  // analyzed and empty: nothing to copy
  EXPECT_EQ(find(f.run(), "extension-config-rows"), nullptr);
}

// A Supabase source: its tables are left out (no source-only-tables error), its publication and
// event triggers do not carry over, and what of the application needs it is named.
TEST(Assess, ProviderSchemasPublicationsEventTriggersAndDependents) {
  Fixture f;
  f.in.source.server.provider = "supabase";
  f.in.source_provider = "supabase";
  f.in.source.tables.push_back(keyed_table("users"));
  f.in.source.tables.back().ref.schema = "auth";
  f.in.source.publications = {{"supabase_realtime", false, false, {}}};
  f.in.source_event_triggers = {"issue_pg_cron_access"};
  f.in.provider_dependents = {{{2606, 1}, "table constraint profiles_id_fkey on public.profiles", "table auth.users"}};
  std::vector<Hazard> hs = f.run();
  EXPECT_EQ(find(hs, "source-only-tables"), nullptr);
  expect_hazard(hs, "provider-schemas", Severity::info);
  EXPECT_EQ(find(hs, "provider-schemas")->objects, (std::vector<std::string>{"auth.users (provider schema, left out)"}));
  expect_hazard(hs, "source-publications", Severity::info);
  EXPECT_EQ(find(hs, "source-publications")->objects, (std::vector<std::string>{"supabase_realtime"}));
  expect_hazard(hs, "event-triggers", Severity::warning);
  expect_hazard(hs, "provider-dependents", Severity::warning);
  EXPECT_EQ(find(hs, "provider-dependents")->objects,
            (std::vector<std::string>{"table constraint profiles_id_fkey on public.profiles -> table auth.users"}));
  // pgshift's own publication is not one that "does not carry over".
  Fixture g;
  g.in.source.publications = {{g.options.publication, false, false, {}}};
  EXPECT_EQ(find(g.run(), "source-publications"), nullptr);
}
