// Who may create a subscription, per provider (see logical.hpp: subscribe_capability).
#include <fmt/format.h>

#include <algorithm>

#include "catalog/providers.hpp"
#include "logical/logical.hpp"

namespace pgshift::logical {
namespace {

bool contains(const std::vector<std::string>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

}  // namespace

std::string read_provider(pg::Connection& conn) { return catalog::read_provider(conn); }

SubscribeCapability subscribe_capability(const catalog::ServerInfo& server, const std::string& provider) {
  SubscribeCapability c;
  c.provider = provider;
  const bool member16 = server.major() >= 16 && contains(server.provider_roles, "pg_create_subscription");
  const bool replication = server.replication_role;
  if (server.superuser) {
    c.can = true;
    c.how = "superuser";
  } else if (member16) {
    c.can = true;
    c.how = "member of pg_create_subscription";
  } else if (c.provider == "rds" && contains(server.provider_roles, "rds_superuser")) {
    c.can = true;
    c.how = "member of rds_superuser";
  } else if (c.provider == "cloudsql" && contains(server.provider_roles, "cloudsqlsuperuser") && replication) {
    c.can = true;
    c.how = "member of cloudsqlsuperuser with REPLICATION";
  } else if (c.provider == "azure" && contains(server.provider_roles, "azure_pg_admin") && replication) {
    c.can = true;
    c.how = "member of azure_pg_admin with REPLICATION";
  }
  if (c.can) return c;

  const std::string& user = server.current_user;
  const std::string flag = "pass that role's URL to cutover as --source-subscriber (the sync role stays as it is)";
  if (c.provider == "supabase") {
    c.advice = "Supabase gives no role that can CREATE SUBSCRIPTION (no superuser): there is no native replication "
               "back; cutover replicates back with pgshift's own apply (--replicate-back pgshift, what auto picks)";
  } else if (c.provider == "rds") {
    c.advice = fmt::format("on RDS/Aurora a member of rds_superuser can (the master user is one): GRANT rds_superuser "
                           "TO {} or {}", user, flag);
  } else if (c.provider == "cloudsql") {
    c.advice = fmt::format("on Cloud SQL a member of cloudsqlsuperuser with REPLICATION can (the postgres user, after "
                           "ALTER ROLE postgres WITH REPLICATION); {}", flag);
  } else if (c.provider == "azure") {
    c.advice = fmt::format("on Azure a member of azure_pg_admin with REPLICATION can (the server admin, after ALTER "
                           "ROLE ... WITH REPLICATION); {}", flag);
  } else {
    c.advice = fmt::format("a superuser can{}; {}",
                           server.major() >= 16 ? fmt::format(" (or GRANT pg_create_subscription TO {})", user) : "",
                           flag);
  }
  return c;
}

}  // namespace pgshift::logical
