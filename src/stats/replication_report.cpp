// replication(): standbys (pg_stat_replication), slots with wal_status and retained WAL,
// subscriptions and their workers (the console's Replication tab).
#include <fmt/format.h>

#include "stats/checks.hpp"
#include "stats/diagnostics.hpp"
#include "stats/inspector.hpp"
#include "util/duration.hpp"

namespace pgshift::stats {
namespace {

using detail::NamedQuery;

// On a standby pg_current_wal_lsn() raises an error; the replay position stands in for it.
constexpr NamedQuery kStandbys{
    "standbys", "Replication connections",
    "Standbys and logical subscribers streaming from this server, with how far each is behind in bytes and time.",
    R"sql(
SELECT pid, usename AS role, application_name, client_addr::text AS client_addr, state, sync_state,
       sent_lsn, write_lsn, flush_lsn, replay_lsn,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
                       replay_lsn)::bigint AS replay_lag_bytes,
       extract(epoch FROM write_lag)::float8 AS write_lag_seconds,
       extract(epoch FROM flush_lag)::float8 AS flush_lag_seconds,
       extract(epoch FROM replay_lag)::float8 AS replay_lag_seconds,
       reply_time AS reply_at
  FROM pg_stat_replication
 ORDER BY application_name, pid
)sql"};

#define PGSHIFT_SLOT_COLUMNS                                                                               \
  "SELECT slot_name AS slot, slot_type AS type, plugin, database, active, active_pid, temporary, wal_status, " \
  "safe_wal_size AS safe_wal_bytes, restart_lsn, confirmed_flush_lsn, "                                    \
  "pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, " \
  "restart_lsn)::bigint AS retained_wal_bytes, "                                                           \
  "pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, " \
  "confirmed_flush_lsn)::bigint AS lag_bytes, age(xmin) AS xmin_age, age(catalog_xmin) AS catalog_xmin_age"

constexpr std::string_view kSlotsExplanation =
    "Replication slots: WAL they hold back (retained_wal_bytes) and whether it is still reserved; an abandoned slot "
    "fills the disk.";
constexpr NamedQuery kSlots{"slots", "Replication slots", kSlotsExplanation,
                            PGSHIFT_SLOT_COLUMNS " FROM pg_replication_slots ORDER BY slot_name"};
// 17 adds why a slot was invalidated and since when it is inactive.
constexpr NamedQuery kSlots17{"slots", "Replication slots", kSlotsExplanation,
                              PGSHIFT_SLOT_COLUMNS ", invalidation_reason, inactive_since AS inactive_since_at "
                                                   "FROM pg_replication_slots ORDER BY slot_name",
                              "membership in pg_monitor", 170000};
#undef PGSHIFT_SLOT_COLUMNS

// pg_subscription's columns other than subconninfo are readable by every role.
constexpr NamedQuery kSubscriptions{
    "subscriptions", "Subscriptions and their workers",
    "This database's subscriptions: the apply worker (relation empty) and table-sync workers, with how long since "
    "each heard from the publisher.",
    R"sql(
SELECT s.subname AS subscription, s.subenabled AS enabled, s.subslotname AS slot, w.pid,
       w.relid::regclass::text AS relation, w.received_lsn, w.latest_end_lsn,
       pg_wal_lsn_diff(w.received_lsn, w.latest_end_lsn)::bigint AS lag_bytes,
       extract(epoch FROM clock_timestamp() - w.last_msg_receipt_time)::float8 AS last_message_seconds,
       extract(epoch FROM clock_timestamp() - w.latest_end_time)::float8 AS lag_seconds
  FROM pg_subscription s
  LEFT JOIN pg_stat_subscription w ON w.subid = s.oid
 WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY s.subname, w.relid NULLS FIRST, w.pid
)sql"};

constexpr NamedQuery kSubscriptionStats{
    "subscription_stats", "Subscription errors",
    "Errors of each subscription's apply and table-sync workers since the statistics were reset (PostgreSQL 15+).",
    R"sql(
SELECT subname AS subscription, apply_error_count, sync_error_count, stats_reset AS stats_reset_at
  FROM pg_stat_subscription_stats
 ORDER BY subname
)sql",
    "membership in pg_monitor", 150000};

}  // namespace

Report replication(pg::Connection& conn, const Options& options) {
  detail::Inspector in(conn, options, "replication", "Replication");
  if (!in.supported()) return in.finish();
  const Options& o = options;

  if (auto r = in.section(kStandbys)) {
    in.fact({"standbys", "Replication connections", static_cast<int64_t>(r->rows()), "count", ""});
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      int64_t bytes = row.int64("replay_lag_bytes");
      double secs = row.float64("replay_lag_seconds");
      if (bytes > o.lag_warning_bytes || secs > o.lag_warning_seconds) {
        in.finding({Severity::warning, "replication-lag", row.text("application_name"),
                    fmt::format("{} replays {} and {} behind (thresholds {} / {})", row.text("application_name"),
                                util::format_bytes(bytes), human_seconds(secs), util::format_bytes(o.lag_warning_bytes),
                                human_seconds(o.lag_warning_seconds)),
                    "check the standby's disk, CPU and network; a long query on it can pause replay"},
                   "standbys");
      }
    }
  }

  if (auto r = in.section(in.version() >= 170000 ? kSlots17 : kSlots)) {
    int64_t retained = 0;
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      std::string object = "slot " + row.text("slot");
      int64_t bytes = row.int64("retained_wal_bytes");
      retained += bytes;
      std::string status = row.text("wal_status");
      if (status == "lost") {
        in.finding({Severity::critical, "slot-wal-lost", object,
                    fmt::format("slot {} lost WAL it needed (wal_status lost): its consumer can no longer resume",
                                row.text("slot")),
                    "drop it (pg_drop_replication_slot) and rebuild its consumer (a new subscription or standby)"},
                   "slots");
        continue;
      }
      if (status == "unreserved") {
        in.finding({Severity::warning, "slot-wal-unreserved", object,
                    fmt::format("slot {} holds more WAL than max_slot_wal_keep_size: it will be invalidated at the next "
                                "checkpoint unless its consumer catches up",
                                row.text("slot")),
                    "make its consumer catch up now, or drop the slot"},
                   "slots");
      }
      if (!row.boolean("active") && !row.boolean("temporary")) {
        in.finding({Severity::warning, "slot-inactive", object,
                    fmt::format("slot {} ({}) has no consumer connected and retains {} of WAL", row.text("slot"),
                                row.text("type"), util::format_bytes(bytes)),
                    "reconnect its consumer, or drop the slot with pg_drop_replication_slot if it is abandoned"},
                   "slots");
      }
      if (bytes > o.slot_retained_warning_bytes) {
        in.finding({Severity::warning, "slot-retained-wal", object,
                    fmt::format("slot {} retains {} of WAL (threshold {})", row.text("slot"), util::format_bytes(bytes),
                                util::format_bytes(o.slot_retained_warning_bytes)),
                    "its consumer is behind: check it; set max_slot_wal_keep_size to protect the disk"},
                   "slots");
      }
      if (row.boolean("active") && row.int64("lag_bytes") > o.lag_warning_bytes) {
        in.finding({Severity::warning, "replication-lag", object,
                    fmt::format("slot {}'s consumer has confirmed up to {} behind (threshold {})", row.text("slot"),
                                util::format_bytes(row.int64("lag_bytes")), util::format_bytes(o.lag_warning_bytes)),
                    "check the subscriber's apply worker (its server log and pg_stat_subscription)"},
                   "slots");
      }
    }
    in.fact({"slots", "Replication slots", static_cast<int64_t>(r->rows()), "count", ""});
    in.fact({"retained_wal_bytes", "WAL retained by slots", retained, "bytes", ""});
  }

  if (auto r = in.section(kSubscriptions)) {
    std::string last;
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      std::string sub = row.text("subscription");
      std::string object = "subscription " + sub;
      if (sub == last) continue;  // the first row of a subscription is its apply worker (or none)
      last = sub;
      if (!row.boolean("enabled")) {
        in.finding({Severity::warning, "subscription-disabled", object, fmt::format("subscription {} is disabled", sub),
                    fmt::format("ALTER SUBSCRIPTION {} ENABLE once the reason it was disabled is fixed", sub)},
                   "subscriptions");
      } else if (row.is_null("pid") || !row.is_null("relation")) {
        in.finding({Severity::warning, "subscription-worker-down", object,
                    fmt::format("subscription {} is enabled but its apply worker is not running", sub),
                    "read the subscriber's server log: the worker restarts after errors (wal_retrieve_retry_interval)"},
                   "subscriptions");
      } else if (row.float64("lag_seconds") > o.lag_warning_seconds) {
        in.finding({Severity::warning, "replication-lag", object,
                    fmt::format("subscription {} last reported its position {} ago (threshold {})", sub,
                                human_seconds(row.float64("lag_seconds")), human_seconds(o.lag_warning_seconds)),
                    "check the publisher's walsender and the network between them"},
                   "subscriptions");
      }
    }
  }

  if (auto r = in.section(kSubscriptionStats)) {
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      int64_t apply = row.int64("apply_error_count"), sync = row.int64("sync_error_count");
      if (apply + sync == 0) continue;
      in.finding({Severity::warning, "subscription-errors", "subscription " + row.text("subscription"),
                  fmt::format("subscription {} had {} apply and {} table-sync error(s)", row.text("subscription"), apply, sync),
                  "the subscriber's server log has each error (often a conflict: a duplicate key or a missing table)"},
                 "subscription_stats");
    }
  }
  return in.finish();
}

}  // namespace pgshift::stats
