// dir:PATH: pg_basebackup backups (plain or tar, with backup_manifest) and a WAL archive directory.
#include <sys/stat.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backup/sources.hpp"
#include "backup/time_text.hpp"
#include "backup/wal.hpp"
#include "localpg/cluster.hpp"
#include "util/error.hpp"

namespace pgshift::backup {
namespace fs = std::filesystem;
namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tar_file(const fs::path& dir) {
  for (const char* name : {"base.tar", "base.tar.gz", "base.tar.lz4", "base.tar.zst"}) {
    if (fs::exists(dir / name)) return (dir / name).string();
  }
  return "";
}

// "START TIME: 2026-12-01 19:44:11 UTC" from a backup_label text.
std::optional<int64_t> label_start_time(const std::string& label) {
  size_t at = label.find("START TIME: ");
  if (at == std::string::npos) return std::nullopt;
  size_t end = label.find('\n', at);
  return parse_time(label.substr(at + 12, end == std::string::npos ? std::string::npos : end - at - 12));
}

std::string pg_tool(const std::string& name) { return localpg::postgres_bindir() + "/" + name; }

}  // namespace

BackupEntry read_basebackup_dir(const std::string& dir_text, const std::string& source) {
  fs::path dir(dir_text);
  BackupEntry b;
  b.id = dir.filename().string();
  b.source = source;
  b.location = dir.string();
  std::string tar = tar_file(dir);
  b.method = tar.empty() ? "pg_basebackup plain" : "pg_basebackup tar";
  std::string label;
  if (tar.empty()) {
    label = slurp(dir / "backup_label");
  } else {
    util::RunResult r = run_tool(tool_spec({"tar", "-xOf", tar, "backup_label"}, false), "reading backup_label from " + tar,
                                 util::Millis(120'000), true);
    label = r.exit_code == 0 ? r.out : "";
  }
  b.start_time = label_start_time(label);
  fs::path manifest = dir / "backup_manifest";
  if (!fs::exists(manifest)) {
    b.status = label.empty() ? "invalid" : "completed";
    b.phase = label.empty() ? "no backup_label" : "no manifest";
    if (label.empty()) b.error = "neither backup_manifest nor backup_label: not a pg_basebackup backup";
    return b;
  }
  struct stat st {};
  if (::stat(manifest.c_str(), &st) == 0) b.stop_time = st.st_mtime;
  nlohmann::json m;
  try {
    m = nlohmann::json::parse(slurp(manifest));
  } catch (const nlohmann::json::exception& e) {
    b.status = "invalid";
    b.phase = "manifest unreadable";
    b.error = fmt::format("backup_manifest is not valid JSON: {}", e.what());
    return b;
  }
  int64_t size = 0;
  for (const auto& f : m.value("Files", nlohmann::json::array())) size += f.value("Size", int64_t{0});
  b.size_bytes = size;
  const auto& ranges = m.value("WAL-Ranges", nlohmann::json::array());
  if (!ranges.empty()) {
    b.timeline = ranges.front().value("Timeline", int64_t{1});
    b.begin_lsn = ranges.front().value("Start-LSN", "");
    b.end_lsn = ranges.back().value("End-LSN", "");
    int64_t seg = 16 * 1024 * 1024;
    if (auto l = pg::Lsn::parse(b.begin_lsn)) b.begin_wal = wal_name_for(static_cast<uint32_t>(*b.timeline), *l, seg);
    if (auto l = pg::Lsn::parse(b.end_lsn)) {
      b.end_wal = wal_name_for(static_cast<uint32_t>(ranges.back().value("Timeline", *b.timeline)), *l, seg);
    }
  }
  b.status = "completed";
  b.phase = "manifest";
  return b;
}

std::string verify_basebackup(const std::string& backup_dir, bool tar, const std::string& wal_archive) {
  fs::path dir(backup_dir);
  std::vector<std::string> argv = {pg_tool("pg_verifybackup")};
  std::string target = backup_dir;
  std::string scratch;
  if (tar) {
    scratch = localpg::make_private_dir("verify");
    run_tool(tool_spec({"tar", "-xf", tar_file(dir), "-C", scratch}, false), "extracting " + tar_file(dir), util::Millis(1'800'000));
    if (fs::exists(dir / "pg_wal.tar")) {
      fs::create_directories(fs::path(scratch) / "pg_wal");
      run_tool(tool_spec({"tar", "-xf", (dir / "pg_wal.tar").string(), "-C", scratch + "/pg_wal"}, false),
               "extracting pg_wal.tar", util::Millis(600'000));
    }
    argv.insert(argv.end(), {"-m", (dir / "backup_manifest").string()});
    target = scratch;
  }
  bool own_wal = false;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(target) / "pg_wal", ec)) {
    own_wal = own_wal || parse_wal_name(e.path().filename().string(), 16 * 1024 * 1024).has_value();
  }
  if (!own_wal) {
    if (!wal_archive.empty()) argv.insert(argv.end(), {"-w", wal_archive});
    else argv.push_back("-n");
  }
  argv.push_back(target);
  util::RunResult r;
  try {
    r = run_tool(tool_spec(argv, false), "pg_verifybackup " + backup_dir, util::Millis(3'600'000), true);
  } catch (...) {
    if (!scratch.empty()) localpg::remove_tree(scratch);
    throw;
  }
  if (!scratch.empty()) localpg::remove_tree(scratch);
  if (r.exit_code == 0) return "";
  std::string line = first_error_line(r.err + "\n" + r.out);
  if (!scratch.empty()) {
    size_t at;
    while ((at = line.find(scratch)) != std::string::npos) line.replace(at, scratch.size(), backup_dir);
  }
  return line.empty() ? fmt::format("pg_verifybackup exit {}", r.exit_code) : line;
}

SourceInventory read_dir(const SourceSpec& spec, const InventoryOptions& o, const std::optional<ArchiverStatus>& a) {
  SourceInventory inv;
  inv.source = spec.text;
  inv.kind = "dir";
  fs::path root(spec.value);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw RuntimeError(fmt::format("{}: no such directory", spec.value));
  std::vector<fs::path> dirs;
  if (fs::exists(root / "backup_manifest") || fs::exists(root / "backup_label")) {
    dirs.push_back(root);
  } else {
    for (const auto& e : fs::directory_iterator(root, ec)) {
      if (e.is_directory() && (fs::exists(e.path() / "backup_manifest") || fs::exists(e.path() / "backup_label") ||
                               !tar_file(e.path()).empty())) {
        dirs.push_back(e.path());
      }
    }
  }
  for (const auto& d : dirs) {
    BackupEntry b = read_basebackup_dir(d.string(), spec.text);
    if (b.status == "completed" && o.verify && b.phase == "manifest") {
      std::string err = verify_basebackup(d.string(), b.method == "pg_basebackup tar", o.wal_archive);
      if (!err.empty()) {
        b.status = "invalid";
        b.phase = "verify failed";
        b.error = err;
        inv.problem(fmt::format("backup {} failed pg_verifybackup: {}", b.id, err));
      } else {
        b.phase = "verified";
      }
    } else if (b.phase == "no manifest") {
      inv.notes.push_back(fmt::format("backup {} has no backup_manifest: not verified", b.id));
    }
    inv.backups.push_back(std::move(b));
  }
  std::sort(inv.backups.begin(), inv.backups.end(), [](const BackupEntry& x, const BackupEntry& y) {
    return x.stop_time.value_or(0) < y.stop_time.value_or(0);
  });
  judge_backups(inv, o.max_backup_age, now_seconds());
  if (o.wal_archive.empty()) {
    inv.notes.push_back("no --wal-archive: WAL continuity not checked; only the backups' own end points are restorable");
    return inv;
  }
  std::vector<std::string> files;
  if (!fs::is_directory(o.wal_archive, ec)) throw RuntimeError(fmt::format("--wal-archive {}: no such directory", o.wal_archive));
  for (const auto& e : fs::directory_iterator(o.wal_archive, ec)) files.push_back(e.path().filename().string());
  check_continuity(inv, files, a, a ? a->wal_segment_size : 16 * 1024 * 1024, o.wal_archive);
  return inv;
}

}  // namespace pgshift::backup
