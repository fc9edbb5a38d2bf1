// DrillReport's JSON (the --json document and --notify-command's stdin) and text summary.
#include <fmt/format.h>

#include <cmath>

#include "backup/drill.hpp"
#include "backup/time_text.hpp"

namespace pgshift::backup {
namespace {

nlohmann::json epoch_iso(const std::optional<double>& t) {
  return t ? nlohmann::json(iso_time(static_cast<int64_t>(std::floor(*t)))) : nlohmann::json();
}
double round3(double v) { return std::round(v * 1000) / 1000; }

}  // namespace

nlohmann::json DrillReport::to_json() const {
  nlohmann::json tables_json = nlohmann::json::array();
  for (const auto& t : tables) {
    tables_json.push_back({{"name", t.name}, {"live", t.live},
                           {"restored", t.restored ? nlohmann::json(*t.restored) : nlohmann::json()}, {"ok", t.ok}});
  }
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
                  {"skipped_tables", skipped_tables}}},
      {"timings", {{"marker", round3(marker_s)}, {"restore", round3(restore_s)}, {"recovery", round3(recovery_s)},
                   {"checks", round3(checks_s)}, {"total", round3(total_s)}}},
      {"rpo_s", rpo_s ? nlohmann::json(round3(*rpo_s)) : nlohmann::json()},
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
      if (!t.ok) out += fmt::format("            {}: live {}, restored {}\n", t.name, t.live, t.restored ? std::to_string(*t.restored) : "missing");
    }
  }
  out += fmt::format("  timings:  marker {:.1f}s, restore {:.1f}s, recovery {:.1f}s, checks {:.1f}s, total {:.1f}s\n", marker_s,
                     restore_s, recovery_s, checks_s, total_s);
  if (rpo_s) out += fmt::format("  RPO:      {:.1f}s (marker time vs the newest restored commit)\n", *rpo_s);
  for (const auto& n : notes) out += "  note:     " + n + "\n";
  if (!connect_hint.empty()) out += "  " + connect_hint + "\n";
  return out;
}

}  // namespace pgshift::backup
