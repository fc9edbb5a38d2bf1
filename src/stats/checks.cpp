#include "stats/checks.hpp"

#include <fmt/format.h>

#include "util/duration.hpp"

namespace pgshift::stats {
namespace {

std::string percent(double ratio) { return fmt::format("{:.1f}%", ratio * 100); }

}  // namespace

std::string human_seconds(double s) {
  if (s < 120) return fmt::format("{:.0f} s", s);
  if (s < 7'200) return fmt::format("{:.1f} min", s / 60);
  if (s < 172'800) return fmt::format("{:.1f} h", s / 3'600);
  return fmt::format("{:.1f} d", s / 86'400);
}

std::optional<Finding> cache_hit_check(double hit_ratio, int64_t blocks_total, const Options& o) {
  if (blocks_total < o.cache_hit_min_reads || hit_ratio >= o.cache_hit_warning) return std::nullopt;
  return Finding{Severity::warning, "cache-hit-ratio", "",
                 fmt::format("cache hit ratio {} is below {} ({} block reads)", percent(hit_ratio),
                             percent(o.cache_hit_warning), blocks_total),
                 "the working set does not fit in shared_buffers: raise shared_buffers or memory, or find the "
                 "queries that read most (top_queries)"};
}

std::optional<Finding> connections_check(int64_t used, int64_t max_connections, const Options& o) {
  if (max_connections <= 0 || static_cast<double>(used) < o.connections_warning_ratio * static_cast<double>(max_connections)) {
    return std::nullopt;
  }
  return Finding{Severity::warning, "connections-near-max", "",
                 fmt::format("{} of max_connections {} in use ({} or more is the threshold)", used, max_connections,
                             percent(o.connections_warning_ratio)),
                 "put a pooler (PgBouncer, CNPG Pooler) in front, or close idle sessions in the application"};
}

std::optional<Finding> wraparound_check(std::string_view database, int64_t xid_age, const Options& o) {
  if (xid_age < o.xid_age_warning) return std::nullopt;
  bool critical = xid_age >= o.xid_age_critical;
  return Finding{critical ? Severity::critical : Severity::warning, "xid-wraparound", std::string(database),
                 fmt::format("database {} has transaction ID age {} ({} of the 2^31 limit; {} threshold {})", database,
                             xid_age, percent(static_cast<double>(xid_age) / 2147483648.0),
                             critical ? "critical" : "warning", critical ? o.xid_age_critical : o.xid_age_warning),
                 "run VACUUM (FREEZE) on its oldest tables and look for what blocks autovacuum: long transactions, "
                 "prepared transactions, stale replication slots"};
}

std::optional<Finding> sequence_check(std::string_view sequence, double used_ratio, bool cycles,
                                      std::string_view remaining, const Options& o) {
  if (cycles || used_ratio < o.sequence_warning_ratio) return std::nullopt;
  bool critical = used_ratio >= o.sequence_critical_ratio;
  return Finding{critical ? Severity::critical : Severity::warning, "sequence-exhaustion", std::string(sequence),
                 fmt::format("sequence {} has used {} of its range ({} values left; threshold {})", sequence,
                             percent(used_ratio), remaining,
                             percent(critical ? o.sequence_critical_ratio : o.sequence_warning_ratio)),
                 "widen it before inserts fail: ALTER SEQUENCE ... AS bigint MAXVALUE ... and ALTER the column to bigint"};
}

std::optional<Finding> dead_tuples_check(std::string_view table, int64_t live, int64_t dead, const Options& o) {
  if (dead < o.dead_tuples_min || live + dead <= 0) return std::nullopt;
  double ratio = static_cast<double>(dead) / static_cast<double>(live + dead);
  if (ratio <= o.dead_tuples_ratio) return std::nullopt;
  return Finding{Severity::warning, "dead-tuples", std::string(table),
                 fmt::format("{} has {} dead tuples ({} of its rows; threshold {} and {} rows)", table, dead,
                             percent(ratio), percent(o.dead_tuples_ratio), o.dead_tuples_min),
                 "VACUUM it; if autovacuum does not keep up, lower its autovacuum_vacuum_scale_factor and look for "
                 "long transactions holding back cleanup"};
}

std::optional<Finding> bloat_check(std::string_view table, int64_t bloat_bytes, double bloat_ratio, const Options& o) {
  if (bloat_bytes < o.bloat_min_bytes || bloat_ratio < o.bloat_warning_ratio || bloat_bytes <= 0) return std::nullopt;
  return Finding{Severity::warning, "table-bloat", std::string(table),
                 fmt::format("{} wastes an estimated {} ({} of its size; threshold {} and {})", table,
                             util::format_bytes(bloat_bytes), percent(bloat_ratio), percent(o.bloat_warning_ratio),
                             util::format_bytes(o.bloat_min_bytes)),
                 "reclaim the space with pg_repack (online) or VACUUM FULL (takes an ACCESS EXCLUSIVE lock)"};
}

std::optional<Finding> long_transaction_check(int pid, double xact_seconds, const Options& o) {
  if (xact_seconds < o.long_transaction_seconds) return std::nullopt;
  return Finding{Severity::warning, "long-transaction", fmt::format("pid {}", pid),
                 fmt::format("the oldest transaction (pid {}) has been open for {} (threshold {})", pid,
                             human_seconds(xact_seconds), human_seconds(o.long_transaction_seconds)),
                 "it holds back vacuum and the xmin horizon: find its application (Activity) and make it commit"};
}

ArchiverVerdict archiver_verdict(const ArchiverState& s, const Options& o) {
  if (s.archive_mode == "off") {
    return {"off", Finding{Severity::info, "archive-mode-off", "",
                           "archive_mode is off: WAL is not archived, so no point-in-time recovery is possible",
                           "set archive_mode = on with an archive_command or archive_library (on CloudNativePG, "
                           "configure a backup object store)"}};
  }
  if (s.in_recovery && s.archive_mode != "always") {
    return {"standby", Finding{Severity::info, "archiver-standby", "",
                               "this server is a standby with archive_mode = on: the primary archives the WAL",
                               "look at the primary's archiver"}};
  }
  bool failed_last = s.failed_count > 0 && s.last_failed_seconds &&
                     (!s.last_archived_seconds || *s.last_failed_seconds < *s.last_archived_seconds);
  if (failed_last) {
    return {"failing",
            Finding{Severity::critical, "archiver-failing", s.last_failed_wal.value_or(""),
                    fmt::format("archiving fails: {} failed {} ago ({} failures{})", s.last_failed_wal.value_or("a WAL segment"),
                                human_seconds(*s.last_failed_seconds), s.failed_count,
                                s.last_archived_seconds
                                    ? fmt::format(", last success {} ago", human_seconds(*s.last_archived_seconds))
                                    : ", never succeeded"),
                    "read the archive_command's error in the server log and fix it: WAL piles up in pg_wal until "
                    "archiving succeeds, and backups cannot be restored past the last archived segment"}};
  }
  bool waiting = s.pending_segments.value_or(1) > 0;
  if (!s.last_archived_seconds) {
    return {"idle", Finding{Severity::info, "archiver-idle", "", "no WAL segment has been archived yet",
                            "force one with SELECT pg_switch_wal() and check that it appears in the archive"}};
  }
  if (*s.last_archived_seconds > o.archiver_stale_seconds && waiting) {
    return {"stale",
            Finding{Severity::warning, "archiver-stale", s.last_archived_wal.value_or(""),
                    fmt::format("the last archived segment {} is {} old (threshold {}); {} completed segment(s) wait, "
                                "{} is being written",
                                s.last_archived_wal.value_or(""), human_seconds(*s.last_archived_seconds),
                                human_seconds(o.archiver_stale_seconds),
                                s.pending_segments ? std::to_string(*s.pending_segments) : "an unknown number of",
                                s.current_wal.value_or("no segment")),
                    "check that the archiver runs and archive_timeout is set (CloudNativePG uses 5min)"}};
  }
  return {"ok", std::nullopt};
}

}  // namespace pgshift::stats
