// The thresholds of the diagnostics as pure functions: given figures a query read, the finding
// (severity, message with the figure and the threshold, advice) or nothing. No I/O; the report
// builders (overview.cpp, tables.cpp, ...) call them, the unit tests pin them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stats/diagnostics.hpp"
#include "stats/report.hpp"

namespace pgshift::stats {

std::optional<Finding> cache_hit_check(double hit_ratio, int64_t blocks_total, const Options& o);
std::optional<Finding> connections_check(int64_t used, int64_t max_connections, const Options& o);
// age: age(datfrozenxid) of one database.
std::optional<Finding> wraparound_check(std::string_view database, int64_t xid_age, const Options& o);
// used_ratio: fraction of the sequence's (or its column's) range already used.
std::optional<Finding> sequence_check(std::string_view sequence, double used_ratio, bool cycles,
                                      std::string_view remaining, const Options& o);
std::optional<Finding> dead_tuples_check(std::string_view table, int64_t live, int64_t dead, const Options& o);
std::optional<Finding> bloat_check(std::string_view table, int64_t bloat_bytes, double bloat_ratio, const Options& o);
std::optional<Finding> long_transaction_check(int pid, double xact_seconds, const Options& o);

// What pg_stat_archiver and the settings say, for the Backups verdict.
struct ArchiverState {
  std::string archive_mode;                    // off / on / always
  bool in_recovery = false;
  int64_t archived_count = 0;
  int64_t failed_count = 0;
  std::optional<std::string> last_archived_wal;
  std::optional<double> last_archived_seconds;  // since last_archived_time
  std::optional<std::string> last_failed_wal;
  std::optional<double> last_failed_seconds;    // since last_failed_time
  std::optional<std::string> current_wal;       // pg_walfile_name(pg_current_wal_lsn()), on a primary
  std::optional<int64_t> pending_segments;      // completed segments after the last archived one
                                                // (nullopt when unknown: timeline change, standby)
};

struct ArchiverVerdict {
  std::string verdict;             // "ok", "off", "failing", "stale", "idle", "standby"
  std::optional<Finding> finding;  // none when ok
};

// off: archive_mode off (info). failing: the last attempt failed after the last success
// (critical). stale: nothing archived for longer than archiver_stale_seconds although completed
// segments wait (or their number is unknown) (warning). idle: nothing to archive yet (info when never archived). standby: on a
// standby with archive_mode = on, the primary archives (info).
ArchiverVerdict archiver_verdict(const ArchiverState& s, const Options& o);

// "1.5 h", "42 s", "3.0 d": seconds as a person reads them in a message.
std::string human_seconds(double seconds);

}  // namespace pgshift::stats
