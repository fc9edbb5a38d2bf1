// `pgshift schema copy` end to end on a Supabase-shaped source (its roles, schemas, extensions in
// schema `extensions`, event triggers, the supabase_realtime publication, grants to its roles)
// carrying an application: the copy creates the application only, with no error line; `check`
// names what stays behind; `sync start` then replicates the application's tables only.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using nlohmann::json;

namespace {

// The roles, schemas and objects Supabase's init scripts create (trimmed to a few of each),
// then an application that uses them the way Supabase applications do.
constexpr std::string_view kSupabaseSource = R"sql(
CREATE ROLE supabase_admin NOLOGIN;
CREATE ROLE authenticator NOINHERIT;
CREATE ROLE anon NOLOGIN;
CREATE ROLE authenticated NOLOGIN;
CREATE ROLE service_role NOLOGIN BYPASSRLS;
CREATE ROLE supabase_auth_admin NOLOGIN;
CREATE ROLE supabase_storage_admin NOLOGIN;
GRANT anon, authenticated, service_role TO authenticator;
CREATE SCHEMA extensions;
CREATE EXTENSION pgcrypto WITH SCHEMA extensions;
CREATE EXTENSION "uuid-ossp" WITH SCHEMA extensions;
CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
CREATE TABLE auth.users (id uuid PRIMARY KEY DEFAULT extensions.uuid_generate_v4(), email text);
CREATE TYPE auth.factor_type AS ENUM ('totp', 'webauthn');
CREATE TABLE auth.refresh_tokens (id bigserial PRIMARY KEY, token text);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
CREATE SCHEMA storage AUTHORIZATION supabase_storage_admin;
CREATE TABLE storage.buckets (id text PRIMARY KEY, name text);
CREATE TABLE storage.objects (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), bucket_id text REFERENCES storage.buckets, name text, owner uuid);
CREATE SCHEMA realtime;
CREATE TABLE realtime.subscription (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, entity regclass);
CREATE SCHEMA _realtime;
CREATE SCHEMA graphql_public;
CREATE FUNCTION graphql_public.graphql(query text) RETURNS jsonb LANGUAGE sql AS $$ SELECT '{}'::jsonb $$;
CREATE SCHEMA vault;
CREATE TABLE vault.secrets (id uuid PRIMARY KEY, secret text);
CREATE SCHEMA supabase_functions;
CREATE TABLE supabase_functions.hooks (id bigserial PRIMARY KEY, hook_table_id int);
CREATE SCHEMA supabase_migrations;
CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY);
CREATE SCHEMA pgbouncer;
CREATE FUNCTION pgbouncer.get_auth(p_usename text) RETURNS TABLE(username text, password text)
  LANGUAGE sql SECURITY DEFINER AS $$ SELECT usename::text, passwd::text FROM pg_shadow WHERE usename = p_usename $$;
GRANT USAGE ON SCHEMA auth, storage TO anon, authenticated, service_role;
-- Supabase's event triggers (their functions live in schema extensions)
CREATE FUNCTION extensions.grant_pg_cron_access() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE FUNCTION extensions.grant_pg_net_access() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE FUNCTION extensions.set_graphql_placeholder() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER issue_pg_cron_access ON ddl_command_end WHEN TAG IN ('CREATE EXTENSION') EXECUTE FUNCTION extensions.grant_pg_cron_access();
CREATE EVENT TRIGGER issue_pg_net_access ON ddl_command_end WHEN TAG IN ('CREATE EXTENSION') EXECUTE FUNCTION extensions.grant_pg_net_access();
CREATE EVENT TRIGGER issue_graphql_placeholder ON sql_drop WHEN TAG IN ('DROP EXTENSION') EXECUTE FUNCTION extensions.set_graphql_placeholder();
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
-- the application
CREATE TYPE public.plan AS ENUM ('free', 'pro', 'team');
CREATE TABLE public.profiles (id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
  username text UNIQUE, plan public.plan NOT NULL DEFAULT 'free', created_at timestamptz DEFAULT now());
COMMENT ON TABLE public.profiles IS 'one per auth user';
ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY "own profile" ON public.profiles FOR ALL USING (auth.uid() = id);
CREATE POLICY "public read" ON public.profiles FOR SELECT TO anon USING (true);
CREATE TABLE public.invoices (id bigserial PRIMARY KEY, profile_id uuid NOT NULL REFERENCES public.profiles,
  amount numeric(12,2) NOT NULL, token text DEFAULT encode(extensions.gen_random_bytes(8), 'hex'),
  ref uuid DEFAULT extensions.uuid_generate_v4());
CREATE INDEX ON public.invoices (profile_id);
CREATE SEQUENCE public.order_no START 1000;
CREATE TABLE public.items (id int PRIMARY KEY DEFAULT nextval('public.order_no'), name text NOT NULL);
CREATE VIEW public.invoice_totals AS SELECT profile_id, sum(amount) AS total FROM public.invoices GROUP BY profile_id;
CREATE VIEW public.my_files AS SELECT o.name, o.owner FROM storage.objects o;
CREATE FUNCTION public.total_for(p uuid) RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT sum(amount) FROM public.invoices WHERE profile_id = p $$;
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.created_at := now(); RETURN NEW; END $$;
CREATE TRIGGER profiles_touch BEFORE INSERT ON public.profiles FOR EACH ROW EXECUTE FUNCTION public.touch();
CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN INSERT INTO public.profiles (id) VALUES (NEW.id); RETURN NEW; END $$;
CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();
CREATE SCHEMA billing;
CREATE TABLE billing.charges (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, invoice_id bigint REFERENCES public.invoices, note text);
GRANT SELECT ON public.profiles, public.invoices TO anon, authenticated;
GRANT ALL ON ALL TABLES IN SCHEMA public TO service_role;
CREATE PUBLICATION supabase_realtime;
ALTER PUBLICATION supabase_realtime ADD TABLE public.profiles;
)sql";

std::set<std::string> strings(pg::Connection& conn, const std::string& sql) {
  std::set<std::string> out;
  pg::Result r = conn.exec(fmt::format("SELECT x::text AS v FROM ({}) AS q(x)", sql));
  for (int i = 0; i < r.rows(); ++i) out.insert(r.row(i).text("v"));
  return out;
}

// Lines of stderr that report an error: pgshift's own ("pgshift: ...", "error: ...") and any
// server or tool error passed through (logs at warning level and below are not).
std::vector<std::string> error_lines(const std::string& err) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < err.size()) {
    size_t end = err.find('\n', at);
    std::string line = err.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (line.rfind("pgshift:", 0) == 0 || line.rfind("error", 0) == 0 || line.find("ERROR") != std::string::npos ||
        line.find("FATAL") != std::string::npos) {
      out.push_back(line);
    }
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return out;
}

class SchemaCopyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = start_cluster("schema-copy-src").release();
    target_ = start_cluster("schema-copy-tgt").release();
    source_->create_database("app");
    for (const char* db : {"app", "dry", "busy", "clash"}) target_->create_database(db);
    pg::Connection s = connect(*source_, "app");
    run_sql(s, kSupabaseSource);
    // The auth.users trigger creates the profile, as on Supabase.
    run_sql(s, "INSERT INTO auth.users (email) VALUES ('a@example.com');"
               "INSERT INTO public.items (name) VALUES ('widget'), ('gadget')");
    pg::Connection busy = connect(*target_, "busy");
    run_sql(busy, "CREATE TABLE public.already_here (id int)");
    pg::Connection clash = connect(*target_, "clash");
    run_sql(clash, "CREATE TYPE public.plan AS ENUM ('other')");
  }
  static void TearDownTestSuite() {
    delete source_;
    delete target_;
  }
  static CliRun pgshift(std::vector<std::string> args, const std::string& target_db = "app") {
    args.insert(args.end(), {"--source", source_->url("app"), "--target", target_->url(target_db)});
    CliRun run = run_pgshift(args);
    expect_no_password(run.all());
    return run;
  }
  static LocalCluster* source_;
  static LocalCluster* target_;
};

LocalCluster* SchemaCopyTest::source_ = nullptr;
LocalCluster* SchemaCopyTest::target_ = nullptr;

TEST_F(SchemaCopyTest, CopiesTheApplicationOnlyThenCheckAndSyncLeaveTheProviderBehind) {
  CliRun copy = pgshift({"schema", "copy", "--json"});
  ASSERT_EQ(copy.exit_code, 0) << copy.all();
  EXPECT_EQ(error_lines(copy.err), std::vector<std::string>{}) << copy.err;
  json r = json::parse(copy.out);
  EXPECT_EQ(r["provider"], "supabase");
  EXPECT_TRUE(r["copied"].get<bool>());
  for (const char* s : {"auth", "storage", "realtime", "extensions", "graphql_public", "vault", "supabase_functions"}) {
    EXPECT_NE(std::find(r["provider_schemas"].begin(), r["provider_schemas"].end(), s), r["provider_schemas"].end()) << s;
  }
  EXPECT_EQ(r["event_triggers"].size(), 3u);
  std::map<std::string, std::string> left_out;  // object -> what it needs
  for (const auto& o : r["left_out"]) {
    left_out[o["object"]] = o["depends_on"];
    EXPECT_FALSE(o["statement"].get<std::string>().empty()) << o.dump();
  }
  EXPECT_EQ(left_out["FK CONSTRAINT public.profiles profiles_id_fkey"], "table auth.users");
  EXPECT_EQ(left_out["POLICY public.profiles own profile"], "function auth.uid()");
  EXPECT_EQ(left_out["POLICY public.profiles public read"], "role anon");
  EXPECT_EQ(left_out["VIEW public.my_files"], "table storage.objects");
  EXPECT_EQ(left_out.size(), 4u) << r["left_out"].dump(1);

  pg::Connection t = connect(*target_, "app");
  // The application is there.
  EXPECT_EQ(strings(t, "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE c.relkind IN ('r', 'v', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"),
            (std::set<std::string>{"public.profiles", "public.invoices", "public.invoices_id_seq", "public.items",
                                   "public.order_no", "public.invoice_totals", "billing.charges",
                                   "billing.charges_id_seq"}));
  EXPECT_EQ(t.exec("SELECT enum_range(NULL::public.plan)::text").scalar(), "{free,pro,team}");
  EXPECT_EQ(strings(t, "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace"),
            (std::set<std::string>{"total_for", "touch", "handle_new_user"}));
  EXPECT_EQ(t.exec("SELECT count(*) FROM pg_trigger WHERE tgname = 'profiles_touch'").scalar(), "1");
  EXPECT_EQ(t.exec("SELECT relrowsecurity FROM pg_class WHERE oid = 'public.profiles'::regclass").scalar(), "t");
  // pgcrypto and uuid-ossp in schema extensions, so the application's defaults work.
  run_sql(t, "INSERT INTO public.profiles (id, username) VALUES (gen_random_uuid(), 'x');"
             "INSERT INTO public.invoices (profile_id, amount) SELECT id, 1 FROM public.profiles");
  EXPECT_EQ(t.exec("SELECT length(token) FROM public.invoices").scalar(), "16");
  // The provider is not.
  EXPECT_EQ(strings(t, "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"),
            (std::set<std::string>{"public", "billing", "extensions"}));
  EXPECT_EQ(strings(t, "SELECT extname FROM pg_extension"), (std::set<std::string>{"plpgsql", "pgcrypto", "uuid-ossp"}));
  EXPECT_EQ(t.exec("SELECT count(*) FROM pg_event_trigger").scalar(), "0");
  EXPECT_EQ(t.exec("SELECT count(*) FROM pg_publication").scalar(), "0");
  EXPECT_EQ(t.exec("SELECT count(*) FROM pg_policy").scalar(), "0");
  EXPECT_EQ(t.exec("SELECT count(*) FROM pg_class WHERE relacl IS NOT NULL AND relnamespace IN "
                   "('public'::regnamespace, 'billing'::regnamespace)").scalar(), "0");
  EXPECT_EQ(t.exec("SELECT count(*) FROM pg_default_acl").scalar(), "0");
  run_sql(t, "DELETE FROM public.invoices; DELETE FROM public.profiles");

  // check: the provider's tables left out, what does not carry over, what needs the provider.
  CliRun check = pgshift({"check", "--json"});
  EXPECT_EQ(check.exit_code, 0) << check.all();
  json c = json::parse(check.out);
  std::set<std::string> provider_tables;
  for (const auto& lo : c["left_out"]) {
    if (lo["reason"] == "provider_schema") {
      provider_tables.insert(lo["table"]);
      EXPECT_EQ(lo["explanation"], "provider schema, left out");
    }
  }
  EXPECT_TRUE(provider_tables.count("auth.users")) << c["left_out"].dump(1);
  EXPECT_TRUE(provider_tables.count("storage.objects"));
  EXPECT_TRUE(provider_tables.count("vault.secrets"));
  std::map<std::string, std::string> hazards;
  for (const auto& h : c["hazards"]) {
    std::string objects;
    for (const auto& o : h["objects"]) objects += o.get<std::string>() + "\n";
    hazards[h["code"]] = objects;
  }
  EXPECT_NE(hazards["provider-schemas"].find("auth.users (provider schema, left out)"), std::string::npos);
  EXPECT_NE(hazards["source-publications"].find("supabase_realtime"), std::string::npos);
  EXPECT_NE(hazards["event-triggers"].find("issue_pg_cron_access"), std::string::npos);
  EXPECT_NE(hazards["provider-dependents"].find("profiles_id_fkey on public.profiles -> table auth.users"),
            std::string::npos) << hazards["provider-dependents"];
  EXPECT_NE(hazards["provider-dependents"].find("policy \"own profile\" on public.profiles -> function auth.uid()"),
            std::string::npos) << hazards["provider-dependents"];
  // Event triggers are named once, under event-triggers.
  EXPECT_EQ(hazards["provider-dependents"].find("event trigger"), std::string::npos);
  EXPECT_EQ(hazards.count("enum-labels-missing"), 0u);
  EXPECT_EQ(hazards.count("source-only-tables"), 0u);

  // sync start replicates the application's tables only.
  CliRun start = pgshift({"sync", "start", "--copy", "native"});
  ASSERT_EQ(start.exit_code, 0) << start.all();
  EXPECT_EQ(error_lines(start.err), std::vector<std::string>{}) << start.err;
  pg::Connection s = connect(*source_, "app");
  std::string name = migration_name(*source_, *target_);
  EXPECT_EQ(strings(s, fmt::format("SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = '{}' AND schemaname <> 'pgshift'", name)),
            (std::set<std::string>{"public.profiles", "public.invoices", "public.items", "billing.charges"}));
  EXPECT_TRUE(wait_until([&] { return count_rows(t, "public.items") == 2 && count_rows(t, "public.profiles") == 1; },
                         util::Millis(60'000)));
  CliRun stop = pgshift({"sync", "stop"});
  EXPECT_EQ(stop.exit_code, 0) << stop.all();
}

TEST_F(SchemaCopyTest, DryRunPrintsTheScriptAndChangesNothing) {
  CliRun run = pgshift({"schema", "copy", "--dry-run"}, "dry");
  ASSERT_EQ(run.exit_code, 0) << run.all();
  EXPECT_NE(run.out.find("CREATE TABLE public.profiles"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("CREATE SCHEMA IF NOT EXISTS \"extensions\""), std::string::npos);
  EXPECT_EQ(run.out.find("CREATE EVENT TRIGGER"), std::string::npos);
  EXPECT_EQ(run.out.find("CREATE SCHEMA auth"), std::string::npos);
  EXPECT_EQ(run.out.find("GRANT"), std::string::npos);
  EXPECT_EQ(run.out.find("CREATE TABLE supabase_migrations"), std::string::npos);
  pg::Connection t = connect(*target_, "dry");
  EXPECT_EQ(t.exec("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace").scalar(), "0");
  // The operator keeps one provider schema and leaves an application schema out.
  CliRun adjusted = pgshift({"schema", "copy", "--dry-run", "--json", "--include-schema", "supabase_migrations",
                             "--exclude-schema", "bill*"}, "dry");
  ASSERT_EQ(adjusted.exit_code, 0) << adjusted.all();
  std::string sql = json::parse(adjusted.out)["sql"];
  EXPECT_NE(sql.find("CREATE TABLE supabase_migrations.schema_migrations"), std::string::npos) << sql;
  EXPECT_EQ(sql.find("billing"), std::string::npos) << sql;
}

TEST_F(SchemaCopyTest, RefusesATargetThatHasTablesAndCreatesNothing) {
  CliRun run = pgshift({"schema", "copy"}, "busy");
  EXPECT_EQ(run.exit_code, 2) << run.all();
  EXPECT_NE(run.err.find("already holds 1 table(s) (public.already_here)"), std::string::npos) << run.err;
  EXPECT_EQ(line_count(run.err), 1u) << run.err;
  pg::Connection t = connect(*target_, "busy");
  EXPECT_EQ(strings(t, "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"),
            (std::set<std::string>{"already_here"}));
  EXPECT_EQ(t.exec("SELECT count(*) FROM pg_namespace WHERE nspname IN ('billing', 'extensions')").scalar(), "0");
  CliRun skip = pgshift({"schema", "copy", "--skip-if-not-empty", "--json"}, "busy");
  EXPECT_EQ(skip.exit_code, 0) << skip.all();
  EXPECT_FALSE(json::parse(skip.out)["copied"].get<bool>());
}

TEST_F(SchemaCopyTest, AFailureNamesTheObjectAndStatementAndLeavesNothingHalfCreated) {
  CliRun run = pgshift({"schema", "copy"}, "clash");
  EXPECT_EQ(run.exit_code, 3) << run.all();
  EXPECT_EQ(error_lines(run.err).size(), 1u) << run.err;
  EXPECT_NE(run.err.find("type \"plan\" already exists"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("at plan; Type: TYPE; Schema: public"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("statement: CREATE TYPE public.plan AS ENUM"), std::string::npos) << run.err;
  pg::Connection t = connect(*target_, "clash");
  EXPECT_EQ(t.exec("SELECT count(*) FROM pg_namespace WHERE nspname IN ('billing', 'extensions')").scalar(), "0");
  EXPECT_EQ(t.exec("SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'").scalar(), "0");
}

}  // namespace
