// pgbackrest:STANZA: `pgbackrest info --output=json`, `repo-ls` of each backup's directory (its
// manifest must be there: verify mentions a missing one only at DETAIL), `pgbackrest verify` (its
// exit code is 0 even when it finds damage, pgbackrest #2502: the output is what counts) and
// `repo-ls` of the archive for WAL continuity.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

#include "backup/sources.hpp"
#include "backup/time_text.hpp"
#include "util/error.hpp"

namespace pgshift::backup {
namespace {

std::string trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

// Each backup's directory must hold backup.manifest (or at least backup.manifest.copy, which
// pgbackrest restore falls back to): `pgbackrest verify` only says so at DETAIL and exits 0.
void check_manifests(SourceInventory& inv, const InventoryOptions& o, const std::string& stanza) {
  for (auto& b : inv.backups) {
    std::vector<std::string> ls = pgbackrest_argv(o, stanza);
    ls.insert(ls.end(), {"--output=json", "repo-ls", "backup/" + stanza + "/" + b.id});
    util::RunResult lr = run_tool(tool_spec(ls, true), "pgbackrest repo-ls (backup " + b.id + ")", util::Millis(300'000));
    bool main = false, copy = false;
    try {
      nlohmann::json listing = nlohmann::json::parse(lr.out);
      main = listing.contains("backup.manifest");
      copy = listing.contains("backup.manifest.copy");
    } catch (const nlohmann::json::exception& e) {
      throw RuntimeError(fmt::format("pgbackrest repo-ls: output is not JSON: {}", e.what()));
    }
    if (!main && !copy) {
      b.status = "invalid";
      b.phase = "manifest missing";
      b.error = "backup.manifest and backup.manifest.copy are missing: pgbackrest cannot restore it (error 055)";
      inv.problem(fmt::format("backup {}: {}", b.id, b.error));
    } else if (!main || !copy) {
      inv.problem(fmt::format("backup {}: {} is missing from the repository (restorable from the other copy only)", b.id,
                              main ? "backup.manifest.copy" : "backup.manifest"));
    }
  }
}

// The text after "INFO: " / "WARN: " / "ERROR: " in a pgBackRest console line, or the line.
std::string message_of(const std::string& line) {
  for (const char* level : {"ERROR: ", "WARN: ", "INFO: "}) {
    size_t at = line.find(level);
    if (at != std::string::npos) return trim(line.substr(at + std::strlen(level)));
  }
  return trim(line);
}

}  // namespace

SourceInventory parse_pgbackrest_info(const std::string& source, const std::string& stanza, const std::string& json_text) {
  SourceInventory inv;
  inv.source = source;
  inv.kind = "pgbackrest";
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);  // integers stay exact 64-bit (system-id)
  } catch (const nlohmann::json::exception& e) {
    throw RuntimeError(fmt::format("pgbackrest info for stanza {}: output is not JSON: {}", stanza, e.what()));
  }
  const nlohmann::json* st = nullptr;
  for (const auto& s : doc) {
    if (s.value("name", "") == stanza) st = &s;
  }
  if (!st) throw RuntimeError(fmt::format("pgbackrest info: no stanza '{}' in the repository", stanza));
  int code = (*st)["status"].value("code", 99);
  std::string message = (*st)["status"].value("message", "");
  inv.details["status"] = (*st)["status"];
  if (st->contains("db") && !(*st)["db"].empty()) {
    const auto& db = (*st)["db"].back();
    inv.details["system_id"] = db.value("system-id", nlohmann::json());
    inv.details["pg_version"] = db.value("version", "");
  }
  if (code == 1 || code == 3) {
    throw RuntimeError(fmt::format("pgbackrest stanza {}: {} (status {}): check the stanza name and --pgbackrest-config", stanza, message, code));
  }
  if (code == 6) inv.notes.push_back("a backup or expire is running: " + message);
  else if (code != 0 && code != 2) inv.problem(fmt::format("stanza {} status {}: {}", stanza, code, message));
  int64_t current_db = st->contains("db") && !(*st)["db"].empty() ? (*st)["db"].back().value("id", int64_t{0}) : 0;
  for (const auto& ar : st->value("archive", nlohmann::json::array())) {
    if (ar["database"].value("id", int64_t{-1}) == current_db) {
      inv.last_wal = ar.value("max", "");
      inv.details["archive_id"] = ar.value("id", "");
      inv.details["archive_min"] = ar.value("min", "");
    }
  }
  for (const auto& b : st->value("backup", nlohmann::json::array())) {
    BackupEntry e;
    e.id = b.value("label", "");
    e.source = source;
    e.method = "pgbackrest " + b.value("type", "");
    e.location = e.id;
    bool error = b.value("error", false);
    e.status = error ? "invalid" : "completed";
    e.phase = error ? "page checksum errors" : "ok";
    if (error) e.error = "pgBackRest found page checksum errors while backing up (see pgbackrest info --set)";
    if (b.contains("timestamp")) {
      e.start_time = b["timestamp"].value("start", int64_t{0});
      e.stop_time = b["timestamp"].value("stop", int64_t{0});
    }
    if (b.contains("info")) e.size_bytes = b["info"].value("size", int64_t{0});
    if (b.contains("archive") && b["archive"].is_object()) {
      e.begin_wal = b["archive"].value("start", "");
      e.end_wal = b["archive"].value("stop", "");
      if (e.begin_wal.size() >= 8) e.timeline = std::stoll(e.begin_wal.substr(0, 8), nullptr, 16);
    }
    if (b.contains("lsn") && b["lsn"].is_object()) {
      e.begin_lsn = b["lsn"].value("start", "");
      e.end_lsn = b["lsn"].value("stop", "");
    }
    if (error) inv.problem(fmt::format("backup {}: {}", e.id, e.error));
    inv.backups.push_back(std::move(e));
  }
  return inv;
}

std::vector<std::string> judge_pgbackrest_verify(const std::string& output) {
  std::vector<std::string> problems;
  std::istringstream in(output);
  std::string line;
  std::string stanza_status;
  while (std::getline(in, line)) {
    std::string t = trim(line);
    if (line.find(" ERROR: ") != std::string::npos || line.find(" WARN: ") != std::string::npos) {
      problems.push_back("pgbackrest verify: " + message_of(line));
    } else if (t.starts_with("status: ") && t != "status: ok") {
      stanza_status = t;
    } else if (t.starts_with("backup: ") && t.find("status: ") != std::string::npos &&
               t.find("status: valid") == std::string::npos) {
      problems.push_back("pgbackrest verify: " + t);
    } else if (t.starts_with("archiveId: ") && (t.find("missing") != std::string::npos || t.find("invalid") != std::string::npos)) {
      problems.push_back("pgbackrest verify: " + t);
    } else if ((t.starts_with("checksum invalid:") || t.starts_with("missing:") || t.starts_with("size invalid:") ||
                t.starts_with("other:")) && !problems.empty()) {
      problems.back() += " (" + t + ")";
    } else if (line.find("INFO: invalid ") != std::string::npos || line.find("INFO: missing ") != std::string::npos) {
      problems.push_back("pgbackrest verify: " + message_of(line));
    }
  }
  if (!stanza_status.empty() && problems.empty()) problems.push_back("pgbackrest verify: stanza " + stanza_status);
  return problems;
}

SourceInventory read_pgbackrest(const SourceSpec& spec, const InventoryOptions& o, const std::optional<ArchiverStatus>& a) {
  const std::string& stanza = spec.value;
  std::vector<std::string> argv = pgbackrest_argv(o, stanza);
  argv.insert(argv.end(), {"--output=json", "info"});
  util::RunResult r = run_tool(tool_spec(argv, true), "pgbackrest info (stanza " + stanza + ")", util::Millis(300'000));
  SourceInventory inv = parse_pgbackrest_info(spec.text, stanza, r.out);
  check_manifests(inv, o, stanza);
  if (o.verify && !inv.backups.empty()) {
    std::vector<std::string> v = pgbackrest_argv(o, stanza);
    v.insert(v.end(), {"--log-level-console=info", "verify"});
    util::RunResult vr = run_tool(tool_spec(v, true), "pgbackrest verify (stanza " + stanza + ")", util::Millis(3'600'000), true);
    std::vector<std::string> found = judge_pgbackrest_verify(vr.out + "\n" + vr.err);
    if (vr.exit_code != 0 && found.empty()) found.push_back(fmt::format("pgbackrest verify exit {}: {}", vr.exit_code, first_error_line(vr.err + vr.out)));
    inv.details["verify"] = found.empty() ? "ok" : "problems";
    for (const auto& p : found) {
      for (auto& b : inv.backups) {
        if (p.find("backup: " + b.id + ",") != std::string::npos || p.find("'" + b.id + "/") != std::string::npos) {
          b.status = "invalid";
          b.phase = "verify failed";
          if (b.error.empty()) b.error = p;
        }
      }
      inv.problem(p);
    }
  }
  judge_backups(inv, o.max_backup_age, now_seconds());
  std::string archive_id = inv.details.value("archive_id", "");
  if (!archive_id.empty()) {
    std::vector<std::string> ls = pgbackrest_argv(o, stanza);
    ls.insert(ls.end(), {"--output=json", "--recurse", "repo-ls", "archive/" + stanza + "/" + archive_id});
    util::RunResult lr = run_tool(tool_spec(ls, true), "pgbackrest repo-ls (stanza " + stanza + ")", util::Millis(300'000));
    std::vector<std::string> files;
    try {
      nlohmann::json listing = nlohmann::json::parse(lr.out);
      for (const auto& [name, entry] : listing.items()) {
        if (!entry.is_object() || !entry.contains("type") || entry["type"] != "file") continue;
        size_t slash = name.rfind('/');
        files.push_back(slash == std::string::npos ? name : name.substr(slash + 1));
      }
    } catch (const nlohmann::json::exception& e) {
      throw RuntimeError(fmt::format("pgbackrest repo-ls: output is not JSON: {}", e.what()));
    }
    check_continuity(inv, files, a, a ? a->wal_segment_size : 16 * 1024 * 1024,
                     "the pgBackRest archive " + archive_id);
  }
  return inv;
}

}  // namespace pgshift::backup
