// Reads the server facts that decide whether logical replication can work: version, role
// attributes, the replication-related settings and what is in use.
#include <nlohmann/json.hpp>

#include "catalog/catalog.hpp"
#include "catalog/providers.hpp"

namespace pgshift::catalog {
namespace {

// Provider roles that grant what vanilla PostgreSQL expresses with attributes: RDS and Aurora
// grant REPLICATION through rds_replication, PostgreSQL 16 lets pg_create_subscription members
// create subscriptions.
constexpr std::string_view kServerSql = R"sql(
SELECT current_setting('server_version_num')::int AS version_num,
       version() AS version,
       current_database() AS database,
       current_user AS current_user,
       r.rolsuper AS superuser,
       r.rolreplication AS replication,
       has_database_privilege(current_database(), 'CREATE') AS can_create,
       pg_is_in_recovery() AS in_recovery,
       (SELECT coalesce(json_agg(b.rolname ORDER BY b.rolname), '[]')
          FROM pg_roles b
         WHERE b.rolname IN ('rds_replication', 'rds_superuser', 'pg_create_subscription',
                             'azure_pg_admin', 'cloudsqlsuperuser', 'supabase_admin')
           AND pg_has_role(current_user, b.oid, 'MEMBER')) AS provider_roles,
       (SELECT count(*) FROM pg_stat_replication) AS walsenders,
       -- The running server: its system identifier (when this role may read it) and the
       -- postmaster's start, as a number so the session's TimeZone cannot change it.
       coalesce(CASE WHEN has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
                     THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) END, '?')
         || '/' || extract(epoch FROM pg_postmaster_start_time())::text AS instance,
       (SELECT count(*) FROM pg_replication_slots) AS slots
  FROM pg_roles r
 WHERE r.rolname = current_user
)sql";

constexpr std::string_view kSettingsSql = R"sql(
SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])
)sql";

constexpr std::string_view kSettingNames =
    "{wal_level,max_replication_slots,max_wal_senders,max_worker_processes,"
    "max_logical_replication_workers,max_sync_workers_per_subscription,max_slot_wal_keep_size,"
    "rds.logical_replication,server_encoding,wal_sender_timeout,wal_receiver_timeout,"
    "default_transaction_read_only,max_connections}";

}  // namespace

ServerInfo read_server_info(pg::Connection& conn) {
  ServerInfo info;
  pg::Result r = conn.exec(kServerSql);
  pg::Row row = r.row(0);
  info.version_num = static_cast<int>(row.int64("version_num"));
  info.version = row.text("version");
  info.database = row.text("database");
  info.current_user = row.text("current_user");
  info.superuser = row.boolean("superuser");
  info.can_create_in_database = row.boolean("can_create");
  info.in_recovery = row.boolean("in_recovery");
  info.instance = row.text("instance");
  info.provider_roles = nlohmann::json::parse(row.view("provider_roles")).get<std::vector<std::string>>();
  bool via_provider = std::find(info.provider_roles.begin(), info.provider_roles.end(),
                                "rds_replication") != info.provider_roles.end();
  info.replication_role = row.boolean("replication") || info.superuser || via_provider;
  info.provider = read_provider(conn);
  info.walsenders_in_use = static_cast<int>(row.int64("walsenders"));
  info.replication_slots_in_use = static_cast<int>(row.int64("slots"));

  pg::Result s = conn.exec(kSettingsSql, {std::string(kSettingNames)});
  for (int i = 0; i < s.rows(); ++i) info.settings[s.row(i).text("name")] = s.row(i).text("setting");
  return info;
}

std::string ServerInfo::short_version() const {
  return std::to_string(version_num / 10000) + "." + std::to_string(version_num % 100);
}

std::string ServerInfo::setting(const std::string& name) const {
  auto it = settings.find(name);
  return it == settings.end() ? std::string() : it->second;
}

int64_t ServerInfo::setting_int(const std::string& name, int64_t fallback) const {
  std::string v = setting(name);
  if (v.empty()) return fallback;
  try {
    return std::stoll(v);
  } catch (const std::exception&) {
    return fallback;
  }
}

}  // namespace pgshift::catalog
