#include "stats/subscription_progress.hpp"

#include <fmt/format.h>

namespace pgshift::stats {
namespace {

// Apply workers have relid NULL; from 16 on, parallel apply workers do too but carry a
// leader_pid.
constexpr std::string_view kSubscriptionSql = R"sql(
SELECT s.oid, s.subenabled AS enabled, coalesce(s.subslotname, '') AS slot_name,
       w.pid AS apply_pid,
       extract(epoch FROM now() - w.last_msg_receipt_time)::float8 AS last_message_age,
       extract(epoch FROM now() - w.latest_end_time)::float8 AS last_report_age,
       w.latest_end_lsn::text AS latest_end_lsn,
       (SELECT count(*) FROM pg_stat_subscription x WHERE x.subid = s.oid AND x.relid IS NOT NULL)
         AS sync_workers,
       {errors}
  FROM pg_subscription s
  LEFT JOIN pg_stat_subscription w ON w.subid = s.oid AND w.relid IS NULL {apply_only}
 WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 LIMIT 1
)sql";

constexpr std::string_view kErrorsSql15 = R"sql(
       (SELECT apply_error_count FROM pg_stat_subscription_stats st WHERE st.subid = s.oid) AS apply_errors,
       (SELECT sync_error_count FROM pg_stat_subscription_stats st WHERE st.subid = s.oid) AS sync_errors)sql";
constexpr std::string_view kErrorsSqlOld = "NULL::bigint AS apply_errors, NULL::bigint AS sync_errors";

constexpr std::string_view kTablesSql = R"sql(
SELECT n.nspname AS schema, c.relname AS name, sr.srsubstate::text AS state,
       {progress}
  FROM pg_subscription_rel sr
  JOIN pg_class c ON c.oid = sr.srrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  {join}
 WHERE sr.srsubid = $1
   AND n.nspname <> 'pgshift'  -- pgshift.ddl_log (schema changes followed) is pgshift's own
 ORDER BY n.nspname, c.relname
)sql";

// The COPY a table-sync worker runs into each table, if any (pg_stat_progress_copy, 14+).
constexpr std::string_view kProgressColumns14 =
    "p.bytes_processed AS copy_bytes, p.bytes_total AS copy_bytes_total, p.tuples_processed AS copy_tuples";
constexpr std::string_view kProgressJoin14 =
    "LEFT JOIN pg_stat_progress_copy p ON p.relid = sr.srrelid "
    "AND p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())";
constexpr std::string_view kProgressColumnsOld =
    "NULL::bigint AS copy_bytes, NULL::bigint AS copy_bytes_total, NULL::bigint AS copy_tuples";

}  // namespace

std::string table_state_name(char state) {
  switch (state) {
    case 'i': return "init";
    case 'd':
    case 'f': return "copying";
    case 's': return "synced";
    case 'r': return "ready";
    default: return "unknown";
  }
}

SubscriptionProgress subscription_progress(pg::Connection& target, const std::string& name) {
  SubscriptionProgress out;
  const int version = target.server_version();
  std::string sql = fmt::format(fmt::runtime(kSubscriptionSql),
                                fmt::arg("errors", version >= 150000 ? kErrorsSql15 : kErrorsSqlOld),
                                fmt::arg("apply_only", version >= 160000 ? "AND w.leader_pid IS NULL" : ""));
  pg::Result r = target.exec(sql, {name});
  if (r.empty()) return out;
  pg::Row row = r.row(0);
  out.exists = true;
  out.oid = static_cast<uint32_t>(row.int64("oid"));
  out.enabled = row.boolean("enabled");
  out.slot_name = row.text("slot_name");
  if (auto pid = row.opt_int64("apply_pid")) out.apply_pid = static_cast<int>(*pid);
  if (!row.is_null("last_message_age")) out.last_message_age = row.float64("last_message_age");
  if (!row.is_null("last_report_age")) out.last_report_age = row.float64("last_report_age");
  if (auto lsn = row.opt("latest_end_lsn")) out.latest_end_lsn = pg::Lsn::parse(*lsn);
  out.sync_workers = static_cast<int>(row.int64("sync_workers"));
  out.apply_error_count = row.opt_int64("apply_errors");
  out.sync_error_count = row.opt_int64("sync_errors");

  std::string tables_sql =
      fmt::format(fmt::runtime(kTablesSql), fmt::arg("progress", version >= 140000 ? kProgressColumns14 : kProgressColumnsOld),
                  fmt::arg("join", version >= 140000 ? kProgressJoin14 : ""));
  pg::Result t = target.exec(tables_sql, {static_cast<int64_t>(out.oid)});
  for (int i = 0; i < t.rows(); ++i) {
    pg::Row tr = t.row(i);
    SubscriptionTable table;
    table.schema = tr.text("schema");
    table.name = tr.text("name");
    std::string state = tr.text("state");
    table.state = state.empty() ? '?' : state[0];
    table.copy_bytes = tr.opt_int64("copy_bytes");
    table.copy_bytes_total = tr.opt_int64("copy_bytes_total");
    table.copy_tuples = tr.opt_int64("copy_tuples");
    out.tables.push_back(std::move(table));
  }
  return out;
}

}  // namespace pgshift::stats
