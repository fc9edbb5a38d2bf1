// collect_inventory: the archiver, then each source, each judged; the shared judgements.
#include <fmt/format.h>

#include <algorithm>

#include "backup/archiver.hpp"
#include "backup/sources.hpp"
#include "backup/time_text.hpp"
#include "backup/wal.hpp"
#include "stats/report.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"

namespace pgshift::backup {

void judge_backups(SourceInventory& inv, util::Millis max_backup_age, int64_t now) {
  std::stable_sort(inv.backups.begin(), inv.backups.end(), [](const BackupEntry& x, const BackupEntry& y) {
    return x.stop_time.value_or(x.start_time.value_or(0)) < y.stop_time.value_or(y.start_time.value_or(0));
  });
  const BackupEntry* newest = inv.newest_usable();
  if (!newest) {
    inv.problem("no usable backup (none completed and valid)");
    return;
  }
  for (const auto& b : inv.backups) {
    if (b.usable()) {
      inv.window.first = b.stop_time;
      break;
    }
  }
  if (!inv.window.last) {
    inv.window.last = newest->stop_time;
    inv.window.basis = "newest backup end (WAL coverage unknown)";
  }
  if (newest->stop_time && (now - *newest->stop_time) * 1000 > max_backup_age.count()) {
    inv.problem(fmt::format("the newest usable backup {} ended {} ago (more than --max-backup-age {})", newest->id,
                            util::format_duration(util::Millis((now - *newest->stop_time) * 1000)),
                            util::format_duration(max_backup_age)));
  }
}

void check_continuity(SourceInventory& inv, const std::vector<std::string>& files,
                      const std::optional<ArchiverStatus>& archiver, int64_t segment_size, const std::string& where) {
  const BackupEntry* newest = inv.newest_usable();
  std::optional<WalName> newest_present;
  for (const auto& f : files) {
    auto w = parse_wal_name(f, segment_size);
    if (w && (!newest_present || w->segno > newest_present->segno ||
              (w->segno == newest_present->segno && w->timeline > newest_present->timeline))) {
      newest_present = w;
    }
  }
  if (newest_present) inv.last_wal = wal_name(newest_present->timeline, newest_present->segno, segment_size);
  if (!newest) return;
  auto begin = parse_wal_name(newest->begin_wal, segment_size);
  if (!begin) return;
  std::optional<WalName> end = newest_present;
  if (archiver && !archiver->last_archived_wal.empty()) {
    auto a = parse_wal_name(archiver->last_archived_wal, segment_size);
    if (a && (!end || a->segno > end->segno)) {
      inv.problem(fmt::format("{} ends at {}, but the server has archived up to {}: the server archives elsewhere, "
                              "or segments are missing",
                              where, inv.last_wal.empty() ? "(no WAL)" : inv.last_wal, archiver->last_archived_wal));
    }
    if (a) end = a;
  }
  if (!end || end->segno < begin->segno) return;
  std::set<uint64_t> present = segments_present(files, begin->timeline, segment_size);
  if (auto gap = first_gap(present, begin->segno, std::min(end->segno, newest_present ? newest_present->segno : 0))) {
    inv.problem(fmt::format("WAL gap: segment {} is missing from {} (needed to recover past backup {}'s start {})",
                            wal_name(begin->timeline, *gap, segment_size), where, newest->id, newest->begin_wal));
    inv.window.last = newest->stop_time;
    inv.window.basis = "newest backup end (WAL gap after it)";
    return;
  }
  if (archiver && archiver->last_archived_time && !archiver->last_archived_wal.empty() &&
      inv.last_wal >= archiver->last_archived_wal.substr(0, 24)) {
    inv.window.last = archiver->last_archived_time;
    inv.window.basis = "archived WAL (the last archival)";
  }
}

SourceInventory read_source(const std::string& source, const InventoryOptions& o,
                            const std::optional<ArchiverStatus>& archiver) {
  SourceSpec spec = parse_source(source);
  try {
    if (spec.kind == "dir") return read_dir(spec, o, archiver);
    if (spec.kind == "pgbackrest") return read_pgbackrest(spec, o, archiver);
    if (spec.kind == "barman-cloud") return read_barman(spec, o);
    return read_cnpg(spec, o);
  } catch (const Error& e) {
    if (e.exit_code() == ExitCode::usage) throw;
    SourceInventory inv;
    inv.source = source;
    inv.kind = spec.kind;
    inv.verdict = "unreadable";
    inv.problems.push_back(util::redact(e.what()));
    return inv;
  }
}

Inventory collect_inventory(const InventoryOptions& o) {
  for (const auto& s : o.sources) parse_source(s);  // usage errors before any work
  Inventory inv;
  inv.generated_at = now_seconds();
  if (o.db) {
    try {
      pg::Connection conn = pg::Connection::open(*o.db, "live");
      inv.archiver = read_archiver(conn, o.max_archive_age);
    } catch (const Error& e) {
      inv.archiver_error = util::redact(e.what());
    }
  }
  for (const auto& s : o.sources) inv.sources.push_back(read_source(s, o, inv.archiver));
  return inv;
}

nlohmann::json inventory_json(const InventoryOptions& options) { return collect_inventory(options).to_json(); }

nlohmann::json inventory_report(const InventoryOptions& options) {
  Inventory inv = collect_inventory(options);
  stats::Report r;
  r.id = "backups";
  r.title = "Backups";
  auto finding = [&r](stats::Severity sev, std::string code, std::string object, std::string message, std::string advice) {
    r.findings.push_back({sev, std::move(code), std::move(object), std::move(message), std::move(advice)});
  };
  // Not "verdict": the console shows these facts beside the archiver report's own verdict.
  r.facts.push_back({"backup_verdict", "Backups verdict", inv.verdict(), "",
                     "healthy, problem, or unreadable (a source could not be read)"});
  if (inv.archiver) {
    const auto& a = *inv.archiver;
    r.facts.push_back({"archived_count", "WAL archived", a.archived_count, "count", ""});
    r.facts.push_back({"failed_count", "WAL archive failures", a.failed_count, "count", ""});
    r.facts.push_back({"seconds_since_last_archive", "Since last archival",
                       a.seconds_since_last_archive ? nlohmann::json(*a.seconds_since_last_archive) : nlohmann::json(),
                       "seconds", "pg_stat_archiver.last_archived_time"});
    for (const auto& p : a.problems) {
      finding(stats::Severity::critical, "wal-archiving", "archiver", p, "Fix archive_command; see the server log");
    }
  } else if (!inv.archiver_error.empty()) {
    finding(stats::Severity::critical, "archiver-unreadable", "archiver", inv.archiver_error, "Check --db");
  }
  stats::Section backups{"backups", "Base backups", "Every backup of every source, oldest first, normalised to one model",
                         {{"source", "text"}, {"id", "text"}, {"method", "text"}, {"status", "text"},
                          {"stop_time", "timestamp"}, {"size", "bytes"}, {"begin_wal", "text"}, {"error", "text"}},
                         {}, {}};
  stats::Section windows{"windows", "Recoverability", "First and last point in time each source can restore to",
                         {{"source", "text"}, {"verdict", "text"}, {"first", "timestamp"}, {"last", "timestamp"},
                          {"basis", "text"}},
                         {}, {}};
  for (const auto& s : inv.sources) {
    for (const auto& b : s.backups) {
      nlohmann::json j = b.to_json();
      backups.rows.push_back({s.source, b.id, b.method, b.status, j["stop_time"], j["size_bytes"], j["begin_wal"], j["error"]});
    }
    nlohmann::json w = s.window.to_json();
    windows.rows.push_back({s.source, s.verdict, w["first"], w["last"], w["basis"]});
    for (const auto& p : s.problems) {
      finding(s.verdict == "unreadable" ? stats::Severity::critical : stats::Severity::warning,
              s.verdict == "unreadable" ? "backup-source-unreadable" : "backup-problem", s.source, p,
              "Run `pgshift backups` for details and `pgshift drill` to prove a restore");
    }
  }
  r.sections.push_back(std::move(windows));
  r.sections.push_back(std::move(backups));
  return r.to_json();
}

}  // namespace pgshift::backup
