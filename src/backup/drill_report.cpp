// DrillReport's JSON (the --json document and --notify-command's stdin) and text summary.
#include <fmt/format.h>

#include <cmath>
#include <map>

#include "backup/drill.hpp"
#include "backup/time_text.hpp"

namespace pgshift::backup {
namespace {

nlohmann::json epoch_iso(const std::optional<double>& t) {
  return t ? nlohmann::json(iso_time(static_cast<int64_t>(std::floor(*t)))) : nlohmann::json();
}
double round3(double v) { return std::round(v * 1000) / 1000; }

// "a, b, c and 4 more"
std::string name_list(const std::vector<std::string>& names, size_t shown = 8) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < shown; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > shown) out += fmt::format(" and {} more", names.size() - shown);
  return out;
}

// Which tables pg_amcheck checked how, grouped; the cluster's data checksums.
std::string render_integrity(const IntegrityReport& g, const std::vector<TableCheck>& tables) {
  std::string out;
  if (!g.ran) {
    for (const auto& n : g.notes) out += "  pages:    " + n + "\n";
    return out;
  }
  out += fmt::format("  pages:    pg_amcheck heap+btree {:.1f}s, heapallindexed {:.1f}s (budget {:.0f}s); data checksums {}\n",
                     g.heap_btree_s, g.heapallindexed_s, g.budget_s,
                     !g.data_checksums ? "unknown" : *g.data_checksums ? "on: every page read was verified" : "off");
  std::map<std::string, std::vector<std::string>> groups;
  for (const auto& t : tables) {
    std::string how;
    for (const auto& c : t.checked) how += (how.empty() ? "" : ", ") + c;
    if (how.empty()) how = "not checked";
    groups[how + (t.not_checked.empty() ? "" : " (" + t.not_checked + ")")].push_back(t.name);
  }
  for (const auto& [how, names] : groups) out += fmt::format("            {}: {}\n", how, name_list(names));
  for (const auto& p : g.problems) out += "            PROBLEM: " + p + "\n";
  for (const auto& n : g.notes) out += "            note: " + n + "\n";
  return out;
}

}  // namespace

nlohmann::json DrillReport::to_json() const {
  nlohmann::json tables_json = nlohmann::json::array();
  for (const auto& t : tables) {
    tables_json.push_back({{"name", t.name}, {"live", t.live},
                           {"restored", t.restored ? nlohmann::json(*t.restored) : nlohmann::json()},
                           {"count_error", t.count_error.empty() ? nlohmann::json() : nlohmann::json(t.count_error)},
                           {"integrity", {{"checked", t.checked},
                                          {"not_checked", t.not_checked.empty() ? nlohmann::json() : nlohmann::json(t.not_checked)},
                                          {"corruption", t.corruption}}},
                           {"ok", t.ok}});
  }
  nlohmann::json integrity_json = {
      {"ran", integrity.ran},
      {"tool", integrity.tool},
      {"data_checksums", integrity.data_checksums ? nlohmann::json(*integrity.data_checksums) : nlohmann::json()},
      {"heapallindexed_budget_s", round3(integrity.budget_s)},
      {"heap_btree_s", round3(integrity.heap_btree_s)},
      {"heapallindexed_s", round3(integrity.heapallindexed_s)},
      {"bytes_checked", integrity.bytes_checked},
      {"problems", integrity.problems},
      {"notes", integrity.notes},
  };
  return {
      {"passed", passed},
      {"could_not_run", could_not_run},
      {"reason", reason.empty() ? nlohmann::json() : nlohmann::json(reason)},
      {"backup", {{"id", backup_id}, {"source", source}, {"method", backup_method},
                  {"stop_time", backup_stop_time ? nlohmann::json(iso_time(*backup_stop_time)) : nlohmann::json()},
                  {"pg_major", pg_major}}},
      {"marker", {{"found", marker_found}, {"written", marker_written}, {"nonce", marker_nonce},
                  {"time", epoch_iso(marker_time)}, {"wal", marker_wal}}},
      {"checks", {{"schema", {{"ok", schema_ok ? nlohmann::json(*schema_ok) : nlohmann::json()},
                              {"live_fingerprint", live_fingerprint},
                              {"restored_fingerprint", restored_fingerprint},
                              {"differences", schema_differences}}},
                  {"tables", tables_json},
                  {"skipped_tables", skipped_tables},
                  {"integrity", integrity_json}}},
      {"timings", {{"marker", round3(marker_s)}, {"restore", round3(restore_s)}, {"recovery", round3(recovery_s)},
                   {"checks", round3(checks_s)}, {"integrity", round3(integrity_s)}, {"total", round3(total_s)}}},
      {"rpo_s", rpo_s ? nlohmann::json(round3(*rpo_s)) : nlohmann::json()},
      {"rto_s", rto_s ? nlohmann::json(round3(*rto_s)) : nlohmann::json()},
      {"failed_phase", failed_phase.empty() ? nlohmann::json() : nlohmann::json(failed_phase)},
      {"newest_restored_commit", epoch_iso(newest_restored_commit)},
      {"recovery_end_lsn", recovery_end_lsn},
      {"notes", notes},
      {"server", {{"dir", server_dir}, {"port", server_port}}},
      {"kept_dir", kept_dir.empty() ? nlohmann::json() : nlohmann::json(kept_dir)},
      {"connect_hint", connect_hint.empty() ? nlohmann::json() : nlohmann::json(connect_hint)},
  };
}

std::string DrillReport::render_text() const {
  std::string out;
  out += fmt::format("drill {}: {}\n", passed ? "PASSED" : could_not_run ? "COULD NOT RUN" : "FAILED",
                     passed ? fmt::format("backup {} from {} restores", backup_id, source) : reason);
  if (!backup_id.empty()) out += fmt::format("  backup:   {} ({}, PostgreSQL {})\n", backup_id, backup_method, pg_major.empty() ? "?" : pg_major);
  if (marker_written) {
    out += fmt::format("  marker:   {} at {} {}\n", marker_nonce, epoch_iso(marker_time).get<std::string>(),
                       marker_found ? "found in the restore" : "NOT found");
  }
  if (schema_ok) {
    out += fmt::format("  schema:   {} (live {}, restored {})\n", *schema_ok ? "equal" : "DIFFERS", live_fingerprint, restored_fingerprint);
    for (const auto& d : schema_differences) out += "            " + d + "\n";
  }
  if (!tables.empty()) {
    size_t bad = 0;
    for (const auto& t : tables) bad += t.ok ? 0 : 1;
    out += fmt::format("  tables:   {} counted, {} outside tolerance\n", tables.size(), bad);
    for (const auto& t : tables) {
      if (!t.ok) {
        out += fmt::format("            {}: live {}, restored {}\n", t.name, t.live,
                           t.restored ? std::to_string(*t.restored) : t.count_error.empty() ? "missing" : "unreadable");
      }
      for (const auto& c : t.corruption) out += fmt::format("            {}: CORRUPT: {}\n", t.name, c);
    }
  }
  out += render_integrity(integrity, tables);
  out += fmt::format("  timings:  marker {:.1f}s, restore {:.1f}s, recovery {:.1f}s, checks {:.1f}s, pg_amcheck {:.1f}s, total {:.1f}s\n",
                     marker_s, restore_s, recovery_s, checks_s, integrity_s, total_s);
  if (!failed_phase.empty()) out += fmt::format("  failed:   in the {} phase\n", failed_phase);
  if (rto_s) out += fmt::format("  RTO:      {:.1f}s (restore + recovery, until the restored server was promoted)\n", *rto_s);
  if (rpo_s) out += fmt::format("  RPO:      {:.1f}s (marker time vs the newest restored commit)\n", *rpo_s);
  for (const auto& n : notes) out += "  note:     " + n + "\n";
  if (!connect_hint.empty()) out += "  " + connect_hint + "\n";
  return out;
}

}  // namespace pgshift::backup
