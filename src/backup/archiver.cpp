#include "backup/archiver.hpp"

#include <fmt/format.h>

#include "util/duration.hpp"

namespace pgshift::backup {
namespace {

// Times as epoch seconds so no client-side time zone parsing is needed.
constexpr std::string_view kArchiverSql = R"(
SELECT current_setting('archive_mode') AS archive_mode,
       current_setting('wal_segment_size') AS wal_segment_size,
       archived_count, failed_count, last_archived_wal, last_failed_wal,
       floor(extract(epoch FROM last_archived_time))::bigint AS last_archived_time,
       floor(extract(epoch FROM last_failed_time))::bigint AS last_failed_time,
       floor(extract(epoch FROM now() - last_archived_time))::bigint AS since_last
  FROM pg_stat_archiver)";

}  // namespace

ArchiverStatus read_archiver(pg::Connection& conn, util::Millis max_archive_age) {
  pg::Result r = conn.exec(kArchiverSql);
  pg::Row row = r.row(0);
  ArchiverStatus s;
  s.archive_mode = row.text("archive_mode");
  s.wal_segment_size = util::parse_bytes(row.text("wal_segment_size"), "wal_segment_size");
  s.archived_count = row.int64("archived_count");
  s.failed_count = row.int64("failed_count");
  s.last_archived_wal = row.text("last_archived_wal");
  s.last_failed_wal = row.text("last_failed_wal");
  s.last_archived_time = row.opt_int64("last_archived_time");
  s.last_failed_time = row.opt_int64("last_failed_time");
  s.seconds_since_last_archive = row.opt_int64("since_last");
  judge_archiver(s, max_archive_age);
  return s;
}

void judge_archiver(ArchiverStatus& s, util::Millis max_archive_age) {
  auto problem = [&s](std::string text) {
    s.problems.push_back(std::move(text));
    s.verdict = "problem";
  };
  if (s.archive_mode == "off") {
    problem("archive_mode is off: no WAL is archived, nothing after a base backup can be restored");
    return;
  }
  bool failing = s.last_failed_time && (!s.last_archived_time || *s.last_failed_time >= *s.last_archived_time);
  if (failing) {
    problem(fmt::format("archive_command is failing: {} failures, the last on {} (check the server log)",
                        s.failed_count, s.last_failed_wal));
  }
  if (!s.last_archived_time) {
    if (!failing) problem("no WAL segment has been archived yet");
  } else if (s.seconds_since_last_archive &&
             *s.seconds_since_last_archive * 1000 > max_archive_age.count()) {
    problem(fmt::format("the last WAL archival was {} ago (more than --max-archive-age {}); set archive_timeout "
                        "or check archive_command",
                        util::format_duration(util::Millis(*s.seconds_since_last_archive * 1000)),
                        util::format_duration(max_archive_age)));
  }
}

}  // namespace pgshift::backup
