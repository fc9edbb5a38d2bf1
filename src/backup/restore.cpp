#include "backup/restore.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "backup/sources.hpp"
#include "util/error.hpp"

namespace pgshift::backup {
namespace fs = std::filesystem;
namespace {

std::string command_line(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    // %f and %p stay unquoted words for PostgreSQL to substitute; paths are quoted.
    out += (a == "%f" || a == "\"%p\"") ? a : shell_quote(a);
  }
  return out;
}

std::string restore_dir(const BackupEntry& b, const InventoryOptions& tools, const std::string& data,
                        const std::string& log, std::chrono::steady_clock::time_point deadline) {
  bool tar = b.method == "pg_basebackup tar";
  if (fs::exists(fs::path(b.location) / "backup_manifest")) {
    // Files only (-n): replaying the archive's WAL is what the drill's recovery proves.
    std::string err = verify_basebackup(b.location, tar, "");
    if (!err.empty()) throw ProblemsFound(fmt::format("backup {} failed pg_verifybackup: {}", b.id, err));
  }
  if (tar) {
    std::string base;
    for (const char* name : {"base.tar", "base.tar.gz", "base.tar.lz4", "base.tar.zst"}) {
      if (fs::exists(fs::path(b.location) / name)) base = (fs::path(b.location) / name).string();
    }
    run_watched(tool_spec({"tar", "-xf", base, "-C", data}, true), "extracting " + base, log, deadline);
    if (fs::exists(fs::path(b.location) / "pg_wal.tar")) {
      run_watched(tool_spec({"tar", "-xf", (fs::path(b.location) / "pg_wal.tar").string(), "-C", data + "/pg_wal"}, true),
                  "extracting pg_wal.tar", log, deadline);
    }
  } else {
    run_watched(tool_spec({"cp", "-R", b.location + "/.", data}, true), "copying " + b.location, log, deadline);
  }
  if (tools.wal_archive.empty()) return "/bin/false";  // only the backup's own pg_wal
  return "cp " + shell_quote(tools.wal_archive) + "/%f \"%p\"";
}

}  // namespace

std::string restore_into(const SourceSpec& spec, const BackupEntry& b, const InventoryOptions& tools,
                         const std::string& data, const std::string& log,
                         std::chrono::steady_clock::time_point deadline) {
  if (spec.kind == "dir") return restore_dir(b, tools, data, log, deadline);
  if (spec.kind == "pgbackrest") {
    std::vector<std::string> argv = pgbackrest_argv(tools, spec.value);
    argv.insert(argv.end(), {"--pg1-path=" + data, "--set=" + b.id, "--archive-mode=off", "restore"});
    run_watched(tool_spec(argv, true), "pgbackrest restore of " + b.id, log, deadline);
    std::vector<std::string> get = pgbackrest_argv(tools, spec.value);
    get.insert(get.end(), {"--pg1-path=" + data, "archive-get", "%f", "\"%p\""});
    return command_line(get);
  }
  if (spec.kind == "barman-cloud") {
    std::vector<std::string> argv = barman_argv(tools, "barman-cloud-restore");
    argv.insert(argv.end(), {spec.barman_url, spec.barman_server, b.id, data});
    run_watched(tool_spec(argv, true), "barman-cloud-restore of " + b.id, log, deadline);
    std::vector<std::string> get = barman_argv(tools, "barman-cloud-wal-restore");
    get.insert(get.end(), {spec.barman_url, spec.barman_server, "%f", "\"%p\""});
    return command_line(get);
  }
  throw UsageError(fmt::format("--from {}: drills restore from dir:, pgbackrest: or barman-cloud: sources "
                               "(for CloudNativePG use --cnpg NS/CLUSTER --render)", spec.text));
}

}  // namespace pgshift::backup
