// JSON and text forms of the inventory model (inventory.hpp).
#include <fmt/format.h>

#include "backup/inventory.hpp"
#include "backup/time_text.hpp"

namespace pgshift::backup {
namespace {

nlohmann::json opt_time(const std::optional<int64_t>& t) { return t ? nlohmann::json(iso_time(*t)) : nlohmann::json(); }
template <class T>
nlohmann::json opt(const std::optional<T>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }
nlohmann::json text_or_null(const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); }

}  // namespace

nlohmann::json BackupEntry::to_json() const {
  return {{"id", id},
          {"source", source},
          {"method", method},
          {"status", status},
          {"phase", phase},
          {"start_time", opt_time(start_time)},
          {"stop_time", opt_time(stop_time)},
          {"size_bytes", opt(size_bytes)},
          {"begin_wal", text_or_null(begin_wal)},
          {"end_wal", text_or_null(end_wal)},
          {"begin_lsn", text_or_null(begin_lsn)},
          {"end_lsn", text_or_null(end_lsn)},
          {"timeline", opt(timeline)},
          {"error", text_or_null(error)}};
}

nlohmann::json RecoveryWindow::to_json() const {
  return {{"first", opt_time(first)}, {"last", opt_time(last)}, {"basis", text_or_null(basis)}};
}

const BackupEntry* SourceInventory::newest_usable() const {
  const BackupEntry* best = nullptr;
  for (const auto& b : backups) {
    if (!b.usable()) continue;
    if (!best || b.stop_time.value_or(0) >= best->stop_time.value_or(0)) best = &b;
  }
  return best;
}

void SourceInventory::problem(std::string text) {
  problems.push_back(std::move(text));
  if (verdict == "healthy") verdict = "problem";
}

nlohmann::json SourceInventory::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& b : backups) list.push_back(b.to_json());
  return {{"source", source}, {"kind", kind},       {"verdict", verdict},          {"problems", problems},
          {"notes", notes},   {"backups", list},    {"window", window.to_json()},  {"last_wal", text_or_null(last_wal)},
          {"details", details}};
}

nlohmann::json ArchiverStatus::to_json() const {
  return {{"archive_mode", archive_mode},
          {"archived_count", archived_count},
          {"failed_count", failed_count},
          {"last_archived_wal", text_or_null(last_archived_wal)},
          {"last_archived_time", opt_time(last_archived_time)},
          {"last_failed_wal", text_or_null(last_failed_wal)},
          {"last_failed_time", opt_time(last_failed_time)},
          {"seconds_since_last_archive", opt(seconds_since_last_archive)},
          {"verdict", verdict},
          {"problems", problems}};
}

std::string Inventory::verdict() const {
  bool problem = !archiver_error.empty() || (archiver && archiver->verdict != "healthy");
  for (const auto& s : sources) {
    if (s.verdict == "unreadable") return "unreadable";
    problem = problem || s.verdict != "healthy";
  }
  if (!archiver_error.empty()) return "unreadable";
  return problem ? "problem" : "healthy";
}

int Inventory::exit_code() const {
  std::string v = verdict();
  return v == "healthy" ? 0 : v == "problem" ? 1 : 3;
}

nlohmann::json Inventory::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : sources) list.push_back(s.to_json());
  return {{"verdict", verdict()},
          {"generated_at", iso_time(generated_at)},
          {"archiver", archiver ? archiver->to_json() : nlohmann::json()},
          {"archiver_error", text_or_null(archiver_error)},
          {"sources", list}};
}

std::string Inventory::render_text() const {
  std::string out;
  auto t = [](const std::optional<int64_t>& v) { return v ? iso_time(*v) : std::string("-"); };
  if (archiver) {
    const auto& a = *archiver;
    out += fmt::format("WAL archiving: {} (archive_mode={}, archived {}, failed {})\n", a.verdict, a.archive_mode,
                       a.archived_count, a.failed_count);
    out += fmt::format("  last archived: {} at {}{}\n", a.last_archived_wal.empty() ? "-" : a.last_archived_wal,
                       t(a.last_archived_time),
                       a.seconds_since_last_archive ? fmt::format(" ({}s ago)", *a.seconds_since_last_archive) : "");
    if (!a.last_failed_wal.empty()) out += fmt::format("  last failed:   {} at {}\n", a.last_failed_wal, t(a.last_failed_time));
    for (const auto& p : a.problems) out += "  problem: " + p + "\n";
  } else if (!archiver_error.empty()) {
    out += "WAL archiving: unreadable: " + archiver_error + "\n";
  }
  for (const auto& s : sources) {
    out += fmt::format("\n{}: {}\n", s.source, s.verdict);
    out += fmt::format("  recoverable from {} to {}{}\n", t(s.window.first), t(s.window.last),
                       s.window.basis.empty() ? "" : " (" + s.window.basis + ")");
    for (const auto& b : s.backups) {
      out += fmt::format("  {:<24} {:<10} {:<22} stop {}  {}{}\n", b.id, b.status, b.method, t(b.stop_time),
                         b.begin_wal.empty() ? "" : "WAL " + b.begin_wal,
                         b.error.empty() ? "" : "  error: " + b.error);
    }
    if (s.backups.empty()) out += "  no backups\n";
    for (const auto& n : s.notes) out += "  note: " + n + "\n";
    for (const auto& p : s.problems) out += "  problem: " + p + "\n";
  }
  out += fmt::format("\nverdict: {}\n", verdict());
  return out;
}

}  // namespace pgshift::backup
