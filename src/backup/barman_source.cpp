// barman-cloud:URL/SERVER: `barman-cloud-backup-list --format json`. barman-cloud lists no WAL,
// so the window's last point is the newest backup's end unless the archiver says more.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backup/sources.hpp"
#include "backup/time_text.hpp"
#include "util/error.hpp"

namespace pgshift::backup {
namespace {

std::string str(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

}  // namespace

SourceInventory parse_barman_list(const std::string& source, const std::string& json_text) {
  SourceInventory inv;
  inv.source = source;
  inv.kind = "barman-cloud";
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw RuntimeError(fmt::format("barman-cloud-backup-list: output is not JSON: {}", e.what()));
  }
  for (const auto& b : doc.value("backups_list", nlohmann::json::array())) {
    BackupEntry e;
    e.id = str(b, "backup_id");
    e.source = source;
    e.method = "barman-cloud";
    e.location = e.id;
    e.phase = str(b, "status");
    if (e.phase == "DONE") e.status = "completed";
    else if (e.phase == "FAILED") e.status = "failed";
    else if (e.phase == "STARTED" || e.phase == "WAITING_FOR_WALS" || e.phase == "EMPTY") e.status = "running";
    else e.status = "failed";
    // barman 3.4 prints "Tue Dec  1 19:44:08 2026" (no zone); later versions ISO 8601 with one.
    for (const char* key : {"begin_time_iso", "begin_time"}) {
      if (!e.start_time) e.start_time = parse_time(str(b, key));
    }
    for (const char* key : {"end_time_iso", "end_time"}) {
      if (!e.stop_time) e.stop_time = parse_time(str(b, key));
    }
    if (b.contains("size") && b["size"].is_number_integer()) e.size_bytes = b["size"].get<int64_t>();
    e.begin_wal = str(b, "begin_wal");
    e.end_wal = str(b, "end_wal");
    e.begin_lsn = str(b, "begin_xlog");
    e.end_lsn = str(b, "end_xlog");
    if (b.contains("timeline") && b["timeline"].is_number_integer()) e.timeline = b["timeline"].get<int64_t>();
    e.error = str(b, "error");
    if (e.status == "failed") {
      inv.problem(fmt::format("backup {} {}{}", e.id, e.phase, e.error.empty() ? "" : ": " + e.error));
    }
    inv.backups.push_back(std::move(e));
  }
  inv.notes.push_back("barman-cloud keeps no backup checksums to verify and lists no WAL: only a drill proves a restore");
  return inv;
}

SourceInventory read_barman(const SourceSpec& spec, const InventoryOptions& o) {
  std::vector<std::string> argv = barman_argv(o, "barman-cloud-backup-list");
  argv.insert(argv.end(), {"--format", "json", spec.barman_url, spec.barman_server});
  util::RunResult r = run_tool(tool_spec(argv, false), "barman-cloud-backup-list " + spec.value, util::Millis(300'000));
  SourceInventory inv = parse_barman_list(spec.text, r.out);
  judge_backups(inv, o.max_backup_age, now_seconds());
  return inv;
}

}  // namespace pgshift::backup
