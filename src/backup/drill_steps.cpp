// The drill's steps shared by local drills (drill.cpp) and CloudNativePG drills (cnpg_drill.cpp).
#include "backup/drill_steps.hpp"

#include <fmt/format.h>

#include <fstream>
#include <thread>

#include "backup/wal.hpp"
#include "util/interrupt.hpp"
#include "util/process.hpp"
#include "util/redact.hpp"

namespace pgshift::backup {
namespace {

constexpr std::string_view kMarkerDdl[] = {
    "CREATE SCHEMA IF NOT EXISTS pgshift",
    "CREATE TABLE IF NOT EXISTS pgshift.drill_marker (nonce text PRIMARY KEY, "
    "created_at timestamptz NOT NULL DEFAULT clock_timestamp())",
};
// Committed on its own (autocommit): a marker written in the transaction that switches WAL would
// sit in the next segment and never be archived before the drill looks for it.
constexpr std::string_view kMarkerInsert =
    "INSERT INTO pgshift.drill_marker (nonce) VALUES ($1) RETURNING extract(epoch FROM created_at)::float8 AS t";
constexpr std::string_view kMarkerWal =
    "SELECT pg_walfile_name(pg_current_wal_insert_lsn()) AS wal, pg_current_wal_insert_lsn()::text AS lsn";
constexpr std::string_view kSwitchWal = "SELECT pg_switch_wal()";
constexpr std::string_view kLastArchived =
    "SELECT last_archived_wal, last_failed_wal, failed_count, "
    "coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) AS failing FROM pg_stat_archiver";
// How long the archiver may keep failing after the marker before the drill gives up: it retries
// a segment 3 times a second apart, then every minute or at the next WAL switch.
constexpr auto kFailingGrace = std::chrono::seconds(30);

std::string random_nonce() {
  unsigned char buf[12];
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  if (!urandom.read(reinterpret_cast<char*>(buf), sizeof buf)) throw RuntimeError("cannot read /dev/urandom for the drill marker");
  std::string out;
  for (unsigned char c : buf) out += fmt::format("{:02x}", c);
  return out;
}

// The segment that last_archived_wal proves archived: a ".backup" history file of segment N is
// archived before N is complete, so it only proves N-1.
std::optional<WalName> archived_segment(const std::string& name) {
  auto w = parse_wal_name(name.substr(0, 24), 16 * 1024 * 1024);
  if (!w) return std::nullopt;
  if (name.find(".backup") != std::string::npos) {
    if (w->segno == 0) return std::nullopt;
    --w->segno;
  }
  return w;
}

}  // namespace

std::string drill_name_suffix() { return random_nonce().substr(0, 8); }

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void write_marker(pg::Connection& live, DrillReport& r, Clock::time_point deadline,
                  const std::function<void(const std::string&)>& progress) {
  for (auto ddl : kMarkerDdl) live.exec(ddl);
  r.marker_nonce = random_nonce();
  r.marker_time = live.exec(kMarkerInsert, {r.marker_nonce}).row(0).float64("t");
  r.marker_written = true;
  pg::Result w = live.exec(kMarkerWal);
  r.marker_wal = w.row(0).text("wal");
  int64_t failed_before = live.exec(kLastArchived).row(0).int64("failed_count");
  live.exec(kSwitchWal);
  auto want = parse_wal_name(r.marker_wal, 16 * 1024 * 1024);
  if (progress) progress(fmt::format("marker {} written; waiting for {} to be archived", r.marker_nonce, r.marker_wal));
  auto failing_since = Clock::time_point::max();  // max: not failing
  while (true) {
    pg::Result a = live.exec(kLastArchived);
    auto got = archived_segment(a.row(0).text("last_archived_wal"));
    if (got && want && got->timeline >= want->timeline && got->segno >= want->segno) return;
    if (util::interrupted()) throw DrillFailed("interrupted (SIGINT/SIGTERM) while waiting for the marker's WAL to be archived");
    int64_t failures = a.row(0).int64("failed_count") - failed_before;
    if (failures > 0 && a.row(0).boolean("failing")) {
      if (failing_since == Clock::time_point::max()) failing_since = Clock::now();
      if (Clock::now() - failing_since >= kFailingGrace) {
        throw DrillFailed(fmt::format("archive_command is failing on live (pg_stat_archiver: {} failures since the marker, last on {}; "
                                      "last archived {}): the marker's segment {} cannot reach the archive",
                                      failures, a.row(0).text("last_failed_wal"), a.row(0).text("last_archived_wal"), r.marker_wal));
      }
    } else {
      failing_since = Clock::time_point::max();
    }
    if (Clock::now() >= deadline) {
      std::string failed = a.row(0).text("last_failed_wal");
      throw DrillFailed(fmt::format("the marker's WAL segment {} was not archived before the deadline (last archived {}{})",
                               r.marker_wal, a.row(0).text("last_archived_wal"),
                               failed.empty() ? "" : ", last failed " + failed + ": archive_command is failing"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void conclude(DrillReport& r, double tolerance) {
    std::vector<std::string> reasons;
    if (!*r.schema_ok) {
      std::string list;
      for (size_t i = 0; i < r.schema_differences.size() && i < 5; ++i) list += (i ? "; " : "") + r.schema_differences[i];
      reasons.push_back("schema differs from live: " + list);
    }
    for (auto& t : r.tables) {
      if (!t.corruption.empty()) {
        t.ok = false;
        std::string first = t.corruption.front();
        reasons.push_back(t.corruption.size() == 1
                              ? fmt::format("{}: pg_amcheck found corruption in the restore: {}", t.name, first)
                              : fmt::format("{}: pg_amcheck found {} corruptions in the restore, first: {}", t.name,
                                            t.corruption.size(), first));
        continue;
      }
      if (t.ok) continue;
      if (!t.count_error.empty()) reasons.push_back(fmt::format("{}: count(*) failed in the restore: {}", t.name, t.count_error));
      else if (!t.restored) reasons.push_back(fmt::format("{}: missing from the restore", t.name));
      else reasons.push_back(fmt::format("{}: {} rows restored, {} on live (more than {:.0f}% apart)", t.name, *t.restored, t.live,
                                         tolerance * 100));
    }
    for (const auto& p : r.integrity.problems) reasons.push_back(p);
    if (!r.marker_found) {
      reasons.push_back(fmt::format("marker {} not restored: recovery ended at {} before the marker's segment {} "
                                    "(a WAL segment missing from the archive?)",
                                    r.marker_nonce, r.recovery_end_lsn.empty() ? "?" : r.recovery_end_lsn, r.marker_wal));
    }
    for (size_t i = 0; i < reasons.size(); ++i) r.reason += (i ? "; " : "") + reasons[i];
    r.passed = reasons.empty();
}

void check_restore(pg::Connection& live, pg::Connection& restored, double tolerance, DrillReport& r,
                   const std::function<void()>& check_pages) {
  auto tc = Clock::now();
  run_checks(live, restored, tolerance, r);
  r.checks_s = seconds_since(tc);
  if (check_pages) {
    auto ti = Clock::now();
    check_pages();
    r.integrity_s = seconds_since(ti);
  }
  conclude(r, tolerance);
}

void record_error(DrillReport& r, const std::exception& e, bool could_not_run) {
  r.passed = false;
  r.reason = util::redact(e.what());
  r.could_not_run = could_not_run;
}

void mark_interrupted(DrillReport& r) {
  if (util::interrupted() && r.passed) {
    r.passed = false;
    r.reason = "interrupted (SIGINT/SIGTERM)";
  }
}

void notify(const std::string& command, const DrillReport& r) {
  if (command.empty() || r.passed) return;
  util::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", command};
  try {
    util::RunResult res = util::run(spec, util::Millis(60'000), r.to_json().dump(2) + "\n");
    if (res.exit_code != 0) std::fprintf(stderr, "pgshift: --notify-command exited %d\n", res.exit_code);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pgshift: --notify-command: %s\n", util::redact(e.what()).c_str());
  }
}


}  // namespace pgshift::backup
