// Provider schema lists, the provider_schema left-out reason and the closure of objects blocked
// by provider schemas, missing extensions and absent roles.
#include <gtest/gtest.h>

#include "catalog/catalog.hpp"
#include "catalog/dependents.hpp"
#include "catalog/providers.hpp"

using namespace pgshift::catalog;

TEST(ProviderSchemas, SupabaseListsItsSchemasAndPlainPostgresNone) {
  ProviderSchemas s = provider_schemas("supabase", false);
  for (const char* name : {"auth", "storage", "realtime", "_realtime", "extensions", "graphql", "graphql_public",
                           "pgsodium", "pgsodium_masks", "vault", "supabase_functions", "supabase_migrations", "net",
                           "cron", "pgbouncer", "_analytics", "supabase_anything"}) {
    EXPECT_TRUE(s.contains(name)) << name;
  }
  EXPECT_FALSE(s.contains("public"));
  EXPECT_FALSE(s.contains("billing"));
  EXPECT_FALSE(s.contains("_timescaledb_catalog"));
  // An application schema called "auth" on plain PostgreSQL is the application's.
  EXPECT_FALSE(provider_schemas("postgres", false).contains("auth"));
  EXPECT_TRUE(provider_schemas("rds", false).contains("rdsadmin"));
  EXPECT_TRUE(provider_schemas("rds", false).contains("aws_s3"));
  EXPECT_TRUE(provider_schemas("postgres", true).contains("_timescaledb_internal"));
  EXPECT_TRUE(provider_schemas("postgres", true).contains("timescaledb_information"));
}

TEST(ProviderSchemas, OperatorKeepsOneAndAddsAnother) {
  ProviderSchemas s = provider_schemas("supabase", false);
  s.adjust({"supabase_migrations"}, {"legacy_*"});
  EXPECT_FALSE(s.contains("supabase_migrations"));
  EXPECT_TRUE(s.contains("supabase_functions"));
  EXPECT_TRUE(s.contains("legacy_2019"));
}

TEST(ProviderSchemas, SelectionLeavesProviderTablesOutOnEitherSide) {
  Snapshot src, tgt;
  src.server.provider = "supabase";
  src.tables = {Table{}, Table{}, Table{}};
  src.tables[0].ref = {"auth", "users"};
  src.tables[1].ref = {"public", "profiles"};
  src.tables[2].ref = {"storage", "objects"};
  tgt.tables = {Table{}};
  tgt.tables[0].ref = {"public", "profiles"};
  TableSelection sel = select_tables(src, tgt, {});
  EXPECT_EQ(sel.replicated, (std::vector<TableRef>{{"public", "profiles"}}));
  ASSERT_EQ(sel.left_out.size(), 2u);
  for (const auto& lo : sel.left_out) {
    EXPECT_EQ(lo.reason, LeftOutReason::provider_schema) << lo.table.display();
    EXPECT_EQ(lo.detail, "supabase");
  }
  EXPECT_EQ(explain(LeftOutReason::provider_schema), "provider schema, left out");
  EXPECT_EQ(to_string(LeftOutReason::provider_schema), "provider_schema");
  // The same tables of a plain PostgreSQL source are the application's: source only.
  src.server.provider = "postgres";
  sel = select_tables(src, tgt, {});
  for (const auto& lo : sel.left_out) EXPECT_EQ(lo.reason, LeftOutReason::source_only);
  // Their diff leaves the provider's enums and sequences out.
  src.server.provider = "supabase";
  src.enums = {{"auth.factor_type", {"totp"}}, {"public.plan", {"free"}}};
  SchemaDiff d = diff_schemas(src, tgt);
  ASSERT_EQ(d.enums.size(), 1u);
  EXPECT_EQ(d.enums[0].type, "public.plan");
  EXPECT_TRUE(d.missing_on_target.empty());
}

namespace {

// Catalog oids as PostgreSQL fixes them.
constexpr uint32_t kClass = 1259, kNamespace = 2615, kConstraint = 2606, kPolicy = 3256, kProc = 1255,
                   kRewrite = 2618, kExtension = 3079, kAuthid = 1260;

}  // namespace

TEST(BlockedObjects, FollowsDependenciesOutOfProviderSchemasOnly) {
  const ObjectId auth{kNamespace, 100}, pub{kNamespace, 101}, ext_ns{kNamespace, 102};
  const ObjectId users{kClass, 200}, uid{kProc, 201}, users_trigger{2620, 202};
  const ObjectId profiles{kClass, 300}, fk{kConstraint, 301}, policy{kPolicy, 302}, view{kClass, 303},
      view_rule{kRewrite, 304}, view2{kClass, 305}, view2_rule{kRewrite, 306}, handler{kProc, 307},
      anon_policy{kPolicy, 308}, invoices{kClass, 309};
  const ObjectId pgcrypto{kExtension, 400}, gen_bytes{kProc, 401}, postgis{kExtension, 402}, geo_type{1247, 403},
      places{kClass, 404}, anon{kAuthid, 500};
  std::vector<DependEdge> edges = {
      {users, auth, 'n'}, {uid, auth, 'n'}, {users_trigger, users, 'a'}, {users_trigger, handler, 'n'},
      {profiles, pub, 'n'}, {handler, pub, 'n'}, {invoices, pub, 'n'},
      {fk, profiles, 'a'}, {fk, users, 'n'},
      {policy, profiles, 'a'}, {policy, uid, 'n'},
      {anon_policy, profiles, 'a'},
      {view, pub, 'n'}, {view_rule, view, 'i'}, {view_rule, users, 'n'},
      {view2, pub, 'n'}, {view2_rule, view2, 'i'}, {view2_rule, view, 'n'},
      // pgcrypto lives in a provider schema but the target creates it: its members stay usable.
      {pgcrypto, ext_ns, 'n'}, {gen_bytes, ext_ns, 'n'}, {gen_bytes, pgcrypto, 'e'}, {invoices, gen_bytes, 'n'},
      // postgis the target cannot create: its type and the table using it go.
      {postgis, pub, 'n'}, {geo_type, pub, 'n'}, {geo_type, postgis, 'e'}, {places, pub, 'n'}, {places, geo_type, 'n'},
  };
  BlockedSeeds seeds;
  seeds.provider_namespaces = {auth, ext_ns};
  seeds.kept_extensions = {pgcrypto};
  seeds.missing_extensions = {postgis};
  seeds.other = {{anon_policy, anon}};
  auto alone = [&](ObjectId o) { return o.classid != kRewrite; };
  std::map<ObjectId, ObjectId> got;
  for (const auto& b : blocked_objects(edges, seeds, alone)) got[b.object] = b.cause;
  std::map<ObjectId, ObjectId> want = {
      {fk, users}, {policy, uid}, {anon_policy, anon}, {view, users}, {view2, view}, {places, geo_type},
  };
  EXPECT_EQ(got, want);
}

TEST(BlockedObjects, UnavailableExtensionsAreThoseTheTargetCannotCreate) {
  Snapshot src, tgt;
  src.extensions = {{"plpgsql", "1.0"}, {"pgcrypto", "1.3"}, {"postgis", "3.4"}, {"citext", "1.6"}, {"pg_graphql", "1.5"}};
  tgt.extensions = {{"plpgsql", "1.0"}, {"citext", "1.6"}};
  tgt.available_extensions = {"plpgsql", "pgcrypto", "citext", "uuid-ossp"};
  EXPECT_EQ(unavailable_extensions(src, tgt), (std::vector<std::string>{"postgis", "pg_graphql"}));
}
