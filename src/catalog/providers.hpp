// The schemas a managed provider (or an extension's catalog) puts into an application's
// database, which belong to the provider and not to the application: a schema copy leaves them
// out, the replication leaves their tables out, and `check` names the application objects that
// depend on them. One list per provider, documented in docs/schema-copy.md.
//
//   ProviderSchemas p = provider_schemas("supabase", /*timescaledb=*/false);
//   p.contains("auth");   // true
//
// Patterns use shell wildcards ("supabase_*", "rds*"). The provider is the one read_provider()
// finds from the server's roles; plain PostgreSQL ("postgres") has none, so an application
// schema that happens to be called "auth" is never left out there.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "catalog/model.hpp"
#include "pg/connection.hpp"

namespace pgshift::catalog {

// "supabase", "rds", "cloudsql", "azure" or "postgres", from the provider's roles (whether or
// not the connected role is a member of them): supabase_admin, rds_superuser, cloudsqlsuperuser,
// azure_pg_admin.
std::string read_provider(pg::Connection& conn);

struct ProviderSchemas {
  std::string provider;
  std::vector<std::string> patterns;  // schemas left out (shell wildcards)
  std::vector<std::string> kept;      // exceptions an operator asked for (--include-schema)
  // Matches a pattern and no exception.
  bool contains(std::string_view schema) const;
  // Operator adjustments: include keeps a schema the list would leave out, exclude adds one.
  void adjust(const std::vector<std::string>& include, const std::vector<std::string>& exclude);
};

// The provider's list, plus TimescaleDB's catalog schemas when that extension is installed. Pure.
ProviderSchemas provider_schemas(std::string_view provider, bool timescaledb);

// The list of a snapshot's server (its provider and its extensions).
ProviderSchemas provider_schemas(const Snapshot& snapshot);

}  // namespace pgshift::catalog
