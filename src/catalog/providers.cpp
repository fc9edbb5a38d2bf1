// Provider schema lists (see providers.hpp and docs/schema-copy.md, which carries the same
// tables: change both together).
#include "catalog/providers.hpp"

#include <fnmatch.h>

#include <algorithm>

namespace pgshift::catalog {
namespace {

// Supabase: the schemas its init scripts and migrations create (supabase/postgres
// migrations/db/init-scripts and migrations), those its services migrate (auth = GoTrue,
// storage, realtime/_realtime, supabase_functions = webhooks, supabase_migrations = the CLI's
// history, _analytics = Logflare, _supavisor) and the schemas of the extensions it installs
// (pg_graphql: graphql, graphql_public; pgsodium: pgsodium, pgsodium_masks; supabase_vault: vault;
// pg_net: net; pg_cron: cron; pg_tle: pgtle), and `extensions`, where it installs the rest.
constexpr std::string_view kSupabase[] = {
    "auth",        "storage",        "realtime",   "_realtime",          "extensions",          "graphql",
    "graphql_public", "pgsodium",    "pgsodium_masks", "vault",          "supabase_functions",  "supabase_migrations",
    "net",         "cron",           "pgbouncer",  "pgtle",              "_analytics",          "_supavisor",
    "supabase_*",
};
// RDS and Aurora: rdsadmin's helpers and the schemas of the aws_* extensions.
constexpr std::string_view kRds[] = {"rds*", "aws_commons", "aws_s3", "aws_lambda"};
// TimescaleDB's catalog (the hypertables themselves live in the application's schemas).
constexpr std::string_view kTimescaledb[] = {"_timescaledb_*", "timescaledb_information", "timescaledb_experimental"};

bool matches(const std::vector<std::string>& patterns, std::string_view schema) {
  std::string s(schema);
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return fnmatch(p.c_str(), s.c_str(), 0) == 0; });
}

}  // namespace

std::string read_provider(pg::Connection& conn) {
  return conn
      .exec(R"sql(
SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supabase_admin') THEN 'supabase'
            WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_superuser') THEN 'rds'
            WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cloudsqlsuperuser') THEN 'cloudsql'
            WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'azure_pg_admin') THEN 'azure'
            ELSE 'postgres' END
)sql")
      .scalar();
}

bool ProviderSchemas::contains(std::string_view schema) const {
  return matches(patterns, schema) && !matches(kept, schema);
}

void ProviderSchemas::adjust(const std::vector<std::string>& include, const std::vector<std::string>& exclude) {
  kept.insert(kept.end(), include.begin(), include.end());
  patterns.insert(patterns.end(), exclude.begin(), exclude.end());
}

ProviderSchemas provider_schemas(std::string_view provider, bool timescaledb) {
  ProviderSchemas out;
  out.provider = std::string(provider);
  auto add = [&](auto& list) {
    for (std::string_view s : list) out.patterns.emplace_back(s);
  };
  if (provider == "supabase") add(kSupabase);
  if (provider == "rds") add(kRds);
  if (timescaledb) add(kTimescaledb);
  return out;
}

ProviderSchemas provider_schemas(const Snapshot& snapshot) {
  return provider_schemas(snapshot.server.provider, snapshot.extension("timescaledb") != nullptr);
}

}  // namespace pgshift::catalog
