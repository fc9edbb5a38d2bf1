// archiver(): pg_stat_archiver with a verdict (the top half of the console's Backups tab).
#include <fmt/format.h>

#include "stats/checks.hpp"
#include "stats/diagnostics.hpp"
#include "stats/inspector.hpp"
#include "stats/values.hpp"

namespace pgshift::stats {
namespace {

using detail::NamedQuery;

// archive_command is not read: it may carry credentials. pending_segments counts the completed
// segments after the last archived one on the same timeline (segment number = log * segments
// per log + seg, from the 24-hex-digit file names); NULL when that cannot be told.
constexpr NamedQuery kArchiver{
    "archiver", "WAL archiving",
    "The archiver's successes and failures: the last archived segment bounds how far a restore can go.",
    R"sql(
WITH a AS (
  SELECT s.*, CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END AS current_wal,
         4294967296 / pg_size_bytes(current_setting('wal_segment_size')) AS per_log
    FROM pg_stat_archiver s
)
SELECT current_setting('archive_mode') AS archive_mode, current_setting('archive_timeout') AS archive_timeout,
       nullif(current_setting('archive_library', true), '') AS archive_library, pg_is_in_recovery() AS in_recovery,
       archived_count, last_archived_wal, last_archived_time AS last_archived_at,
       extract(epoch FROM clock_timestamp() - last_archived_time)::float8 AS since_last_archived_seconds,
       failed_count, last_failed_wal, last_failed_time AS last_failed_at,
       extract(epoch FROM clock_timestamp() - last_failed_time)::float8 AS since_last_failed_seconds,
       current_wal,
       CASE WHEN current_wal IS NOT NULL AND last_archived_wal ~ '^[0-9A-F]{24}' AND left(current_wal, 8) = left(last_archived_wal, 8)
            THEN greatest(('x' || substr(current_wal, 9, 8))::bit(32)::bigint * per_log + ('x' || substr(current_wal, 17, 8))::bit(32)::bigint
                 - ('x' || substr(last_archived_wal, 9, 8))::bit(32)::bigint * per_log
                 - ('x' || substr(last_archived_wal, 17, 8))::bit(32)::bigint - 1, 0) END AS pending_segments,
       stats_reset AS stats_reset_at
  FROM a
)sql"};

}  // namespace

Report archiver(pg::Connection& conn, const Options& options) {
  detail::Inspector in(conn, options, "archiver", "WAL archiving");
  if (!in.supported()) return in.finish();
  auto r = in.section(kArchiver);
  if (!r || r->rows() != 1) return in.finish();
  auto row = r->row(0);
  ArchiverState s;
  s.archive_mode = row.text("archive_mode");
  s.in_recovery = row.boolean("in_recovery");
  s.archived_count = row.int64("archived_count");
  s.failed_count = row.int64("failed_count");
  s.last_archived_wal = row.opt("last_archived_wal");
  if (!row.is_null("since_last_archived_seconds")) s.last_archived_seconds = row.float64("since_last_archived_seconds");
  s.last_failed_wal = row.opt("last_failed_wal");
  if (!row.is_null("since_last_failed_seconds")) s.last_failed_seconds = row.float64("since_last_failed_seconds");
  s.current_wal = row.opt("current_wal");
  s.pending_segments = row.opt_int64("pending_segments");
  ArchiverVerdict v = archiver_verdict(s, options);
  in.fact({"verdict", "Verdict", v.verdict, "", "ok, off, failing, stale, idle or standby"});
  in.fact({"archive_mode", "archive_mode", s.archive_mode, "", ""});
  in.fact({"archived_count", "Archived segments", s.archived_count, "count", ""});
  in.fact({"failed_count", "Failed attempts", s.failed_count, "count", ""});
  in.fact({"last_archived_wal", "Last archived", s.last_archived_wal ? nlohmann::json(*s.last_archived_wal) : nullptr, "",
           iso_timestamp(row.view("last_archived_at"))});
  in.fact({"since_last_archived_seconds", "Since the last archival",
           s.last_archived_seconds ? nlohmann::json(*s.last_archived_seconds) : nullptr, "seconds",
           fmt::format("stale beyond {}", human_seconds(options.archiver_stale_seconds))});
  in.fact({"last_failed_wal", "Last failed", s.last_failed_wal ? nlohmann::json(*s.last_failed_wal) : nullptr, "",
           iso_timestamp(row.view("last_failed_at"))});
  if (v.finding) in.finding(*v.finding, "archiver");
  return in.finish();
}

}  // namespace pgshift::stats
