#include "stats/replication_progress.hpp"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "util/error.hpp"

namespace pgshift::stats {
namespace {

constexpr std::string_view kCurrentLsnSql = "SELECT pg_current_wal_insert_lsn()::text";

constexpr std::string_view kSlotSql = R"sql(
SELECT active, confirmed_flush_lsn::text AS confirmed_flush, coalesce(wal_status, '') AS wal_status,
       CASE WHEN restart_lsn IS NULL THEN NULL
            ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint END AS retained_bytes,
       safe_wal_size
  FROM pg_replication_slots
 WHERE slot_name = $1
)sql";

}  // namespace

pg::Lsn current_wal_lsn(pg::Connection& source) {
  return pg::Lsn::parse_or_throw(source.exec(kCurrentLsnSql).scalar(), "pg_current_wal_lsn()");
}

SlotProgress slot_progress(pg::Connection& source, const std::string& slot_name) {
  SlotProgress p;
  pg::Result r = source.exec(kSlotSql, {slot_name});
  if (r.empty()) return p;
  pg::Row row = r.row(0);
  p.exists = true;
  p.active = row.boolean("active");
  if (auto text = row.opt("confirmed_flush")) p.confirmed_flush = pg::Lsn::parse(*text);
  p.wal_status = row.text("wal_status");
  p.retained_bytes = row.opt_int64("retained_bytes");
  p.safe_wal_size = row.opt_int64("safe_wal_size");
  return p;
}

bool wait_for_slot_confirmed(pg::Connection& source, const std::string& slot_name, pg::Lsn lsn,
                             util::Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // Polls tightly: the cutover's pause window waits on this.
  auto pause = util::Millis(2);
  while (true) {
    SlotProgress p = slot_progress(source, slot_name);
    if (!p.exists) {
      throw RuntimeError(fmt::format("{}: replication slot '{}' does not exist", source.endpoint(), slot_name));
    }
    if (p.wal_status == "lost") {
      throw RuntimeError(fmt::format("{}: replication slot '{}' was invalidated (wal_status lost); the "
                                     "subscription must be recreated",
                                     source.endpoint(), slot_name));
    }
    if (p.confirmed_flush && *p.confirmed_flush >= lsn) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, util::Millis(25));
  }
}

}  // namespace pgshift::stats
