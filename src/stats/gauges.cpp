// gauges(): the database's values for /metrics, read at scrape time.
#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "stats/diagnostics.hpp"
#include "stats/inspector.hpp"
#include "state/journal.hpp"

namespace pgshift::stats {
namespace {

using detail::NamedQuery;

constexpr NamedQuery kArchiverGauges{"archiver", "Archiver", "", R"sql(
SELECT archived_count, failed_count,
       extract(epoch FROM clock_timestamp() - last_archived_time)::float8 AS since_archived_seconds,
       extract(epoch FROM clock_timestamp() - last_failed_time)::float8 AS since_failed_seconds
  FROM pg_stat_archiver
)sql"};

// The insert position, not the write position: with asynchronous commits the WAL of what clients
// committed may not be written yet, and a slot's lag would look smaller than it is.
constexpr NamedQuery kSlotGauges{"slots", "Replication slots", "", R"sql(
SELECT slot_name, active,
       pg_wal_lsn_diff(w.now, restart_lsn)::float8 AS retained_bytes,
       pg_wal_lsn_diff(w.now, confirmed_flush_lsn)::float8 AS confirmed_lag_bytes
  FROM pg_replication_slots,
       LATERAL (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END AS now) w
 ORDER BY slot_name
)sql"};

// The apply worker of each subscription (parallel apply workers, 16+, have no received_lsn).
constexpr NamedQuery kSubscriptionGauges{"subscriptions", "Subscriptions", "", R"sql(
SELECT DISTINCT ON (s.subname) s.subname,
       pg_wal_lsn_diff(w.received_lsn, w.latest_end_lsn)::float8 AS lag_bytes,
       extract(epoch FROM clock_timestamp() - w.latest_end_time)::float8 AS lag_seconds
  FROM pg_subscription s JOIN pg_stat_subscription w ON w.subid = s.oid AND w.relid IS NULL
 WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY s.subname, w.received_lsn IS NULL, w.pid
)sql"};

constexpr NamedQuery kJournalGauges{"migration", "Migration", "", ""};

using Labels = std::vector<std::pair<std::string, std::string>>;

}  // namespace

std::vector<Gauge> gauges(pg::Connection& conn, const Options& options) {
  std::vector<Gauge> out;
  auto add = [&](std::string name, std::string help, std::string type, Labels labels, double value) {
    out.push_back({std::move(name), std::move(help), std::move(type), std::move(labels), value});
  };
  try {
    detail::Inspector in(conn, options, "gauges", "Gauges");
    add("pgshift_pg_up", "1 when the database answered the scrape's queries", "gauge", {}, 1);
    if (!in.supported()) return out;
    if (auto r = in.query(kArchiverGauges); r && r->rows() == 1) {
      auto row = r->row(0);
      add("pgshift_archiver_archived_count", "WAL files archived (pg_stat_archiver.archived_count)", "counter", {},
          static_cast<double>(row.int64("archived_count")));
      add("pgshift_archiver_failed_count", "failed attempts to archive WAL files (pg_stat_archiver.failed_count)",
          "counter", {}, static_cast<double>(row.int64("failed_count")));
      if (!row.is_null("since_archived_seconds")) {
        add("pgshift_archiver_seconds_since_last_archival", "seconds since the last WAL file was archived", "gauge", {},
            row.float64("since_archived_seconds"));
      }
      if (!row.is_null("since_failed_seconds")) {
        add("pgshift_archiver_seconds_since_last_failure", "seconds since the last failed archival", "gauge", {},
            row.float64("since_failed_seconds"));
      }
    }
    if (auto r = in.query(kSlotGauges)) {
      for (int i = 0; i < r->rows(); ++i) {
        auto row = r->row(i);
        Labels slot{{"slot", row.text("slot_name")}};
        if (!row.is_null("retained_bytes")) {
          add("pgshift_replication_slot_retained_wal_bytes", "WAL bytes a replication slot keeps from removal", "gauge",
              slot, row.float64("retained_bytes"));
        }
        add("pgshift_replication_slot_active", "1 when a consumer is connected to the slot", "gauge", slot,
            row.boolean("active") ? 1 : 0);
        // A logical slot's consumer confirms what it applied durably: the native subscription and
        // pgshift sync apply-back alike, so this is the replication back's lag on either path.
        if (!row.is_null("confirmed_lag_bytes")) {
          add("pgshift_replication_slot_confirmed_lag_bytes",
              "WAL bytes written since the position a logical slot's consumer confirmed as applied", "gauge", slot,
              std::max(0.0, row.float64("confirmed_lag_bytes")));
        }
      }
    }
    if (auto r = in.query(kSubscriptionGauges)) {
      for (int i = 0; i < r->rows(); ++i) {
        auto row = r->row(i);
        Labels sub{{"subscription", row.text("subname")}};
        if (!row.is_null("lag_bytes")) {
          add("pgshift_subscription_lag_bytes", "WAL bytes received by the subscription but not yet reported applied",
              "gauge", sub, row.float64("lag_bytes"));
        }
        if (!row.is_null("lag_seconds")) {
          add("pgshift_subscription_lag_seconds", "seconds since the subscription last reported its position", "gauge",
              sub, row.float64("lag_seconds"));
        }
      }
    }
    state::Journal journal(conn, "metrics");
    std::optional<state::Migration> m;
    std::vector<state::Event> events;
    in.guarded(kJournalGauges, [&] {
      m = journal.current();
      if (m) events = journal.events(m->id);
    });
    if (m) {
      add("pgshift_migration_phase", "1 for the phase of the current pgshift migration", "gauge",
          {{"phase", state::to_string(m->phase)}}, 1);
      detail::SoakState soak = detail::soak_state(in, events);
      if (soak.state == "running" && soak.seconds) {
        add("pgshift_migration_soak_seconds", "clean seconds on the running soak's clock", "gauge", {}, *soak.seconds);
      }
    }
    in.finish();
  } catch (const std::exception& e) {
    spdlog::debug("metrics: database gauges unavailable: {}", e.what());
    out.clear();
    add("pgshift_pg_up", "1 when the database answered the scrape's queries", "gauge", {}, 0);
  }
  return out;
}

}  // namespace pgshift::stats
