// Helpers shared by the backup and drill tests (backup_*_test.cpp): running the real backup
// tools as the server's OS user, forcing WAL archival, damaging files, and checking that a drill
// left nothing behind (directory, process, port).
#pragma once

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backup/tools.hpp"
#include "localpg/cluster.hpp"
#include "pg/quote.hpp"
#include "support/support.hpp"
#include "util/process.hpp"

namespace pgshift::testing {

// argv as the server's OS user, the way pgshift runs its backup tools (backup::tool_spec), with
// env added; fails the test unless it exits 0.
inline util::RunResult run_as_server(std::vector<std::string> argv, const std::map<std::string, std::string>& env = {},
                                     util::Millis timeout = util::Millis(300'000)) {
  util::ProcessSpec spec = backup::tool_spec(std::move(argv), true);
  spec.env = env;
  util::RunResult r = util::run(spec, timeout);
  EXPECT_EQ(r.exit_code, 0) << spec.argv[0] << " failed: " << r.err << r.out;
  return r;
}

// pg_basebackup of cluster into dir (created by the tool), plain or tar, WAL not included.
inline void basebackup(const LocalCluster& c, const std::string& dir, const std::string& format = "plain",
                       const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {localpg::postgres_bindir() + "/pg_basebackup", "-d", c.url(), "-D", dir, "-F", format, "-X", "none",
                                   "-c", "fast", "--no-sync"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  run_as_server(argv, {{"PGPASSWORD", localpg::kLocalPassword}});
}

// Switches WAL and waits until the archiver has archived the segment that was current.
inline void archive_now(pg::Connection& conn) {
  conn.exec("SELECT txid_current()");  // pg_switch_wal() does nothing on an empty segment
  std::string wal = conn.exec("SELECT pg_walfile_name(pg_current_wal_insert_lsn())").scalar();
  conn.exec("SELECT pg_switch_wal()");
  ASSERT_TRUE(wait_until(
      [&] {
        std::string last = conn.exec("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver").scalar();
        return last.substr(0, 24) > wal || (last.substr(0, 24) == wal && last.find(".backup") == std::string::npos);
      },
      util::Millis(60'000)))
      << "segment " << wal << " was not archived";
}

// Inverts count bytes of path from offset.
inline void flip_byte(const std::string& path, long offset = 100, int count = 1) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << path;
  std::string bytes(static_cast<size_t>(count), '\0');
  f.seekg(offset);
  f.read(bytes.data(), count);
  ASSERT_EQ(f.gcount(), count) << path << " is shorter than " << offset + count;
  for (char& c : bytes) c = static_cast<char>(c ^ 0xff);
  f.seekp(offset);
  f.write(bytes.data(), count);
}

// Where the contents of member `name` (e.g. base/5/16384, with or without a leading ./) start
// in an uncompressed ustar/pax tar file, or -1 when it holds no such member.
inline long tar_member_offset(const std::string& tar, const std::string& name) {
  std::ifstream in(tar, std::ios::binary);
  char h[512];
  long pos = 0;
  while (in.seekg(pos) && in.read(h, sizeof h)) {
    if (h[0] == '\0') return -1;  // the end-of-archive blocks
    std::string member(h, strnlen(h, 100));
    std::string prefix(h + 345, strnlen(h + 345, 155));
    if (!prefix.empty()) member = prefix + "/" + member;
    long size = std::strtol(std::string(h + 124, 12).c_str(), nullptr, 8);
    pos += 512;
    if (member == name || member == "./" + name) return pos;
    pos += (size + 511) / 512 * 512;
  }
  return -1;
}

// A table whose pages nothing touches after a backup (no autovacuum, frozen), so that WAL replay
// leaves a damaged page as the backup has it; rows of about 40 bytes fill every page.
inline void create_untouched_table(pg::Connection& c, const std::string& name, int rows) {
  run_sql(c, fmt::format("CREATE TABLE {0} (id int PRIMARY KEY, customer text NOT NULL, total numeric) WITH (autovacuum_enabled = off);"
                         "INSERT INTO {0} SELECT g, 'customer ' || g, g * 1.5 FROM generate_series(1, {1}) g;"
                         "VACUUM (FREEZE) {0}; CHECKPOINT",
                         name, rows));
}

// The data file of table (base/DBOID/RELFILENODE) as the tar members name it.
inline std::string relation_path(pg::Connection& c, const std::string& table) {
  return c.exec("SELECT pg_relation_filepath($1::regclass)", {table}).scalar();
}

// Inverts 16 bytes in the middle of block 2 of `relation` inside the tar file.
inline void damage_page_in_tar(const std::string& tar, const std::string& relation) {
  long at = tar_member_offset(tar, relation);
  ASSERT_GE(at, 0) << relation << " not in " << tar;
  flip_byte(tar, at + 2 * 8192 + 4096, 16);
}

// The drill report's entry for table, or null.
inline nlohmann::json drilled_table(const nlohmann::json& report, const std::string& table) {
  for (const auto& t : report["checks"]["tables"]) {
    if (t["name"] == table) return t;
  }
  return nullptr;
}

inline bool port_free(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// Processes whose command line mentions text.
inline std::vector<std::string> processes_mentioning(const std::string& text) {
  std::vector<std::string> found;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "cmdline", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string cmd = ss.str();
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(text) != std::string::npos) found.push_back(name + ": " + cmd);
  }
  return found;
}

// The drill's throwaway server is gone: no directory, no process, its port free.
inline void expect_torn_down(const nlohmann::json& report) {
  std::string dir = report["server"].value("dir", "");
  int port = report["server"].value("port", 0);
  if (dir.empty()) return;  // never got as far as a server
  EXPECT_FALSE(std::filesystem::exists(dir)) << "drill directory left: " << dir;
  EXPECT_TRUE(processes_mentioning(dir).empty()) << "process left: " << processes_mentioning(dir).front();
  if (port > 0) {
    EXPECT_TRUE(port_free(port)) << "port " << port << " still taken";
  }
}

inline nlohmann::json parse_report(const CliRun& run) {
  try {
    return nlohmann::json::parse(run.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << e.what() << "\nstdout: " << run.out << "\nstderr: " << run.err;
    return nlohmann::json::object();
  }
}

// A directory owned by the server user, removed at scope exit.
struct ScratchDir {
  std::string path = localpg::make_private_dir("bkt");
  ~ScratchDir() { localpg::remove_tree(path); }
};

// The two halves of a dir: source: a cluster whose archive_command copies each WAL segment into
// `archive`, and an empty `backups` directory for pg_basebackup, both owned by the server user
// and removed (after the cluster stops) at destruction.
struct DirBackupSite {
  ScratchDir root;
  std::string archive = root.path + "/archive";
  std::string backups = root.path + "/backups";
  std::unique_ptr<LocalCluster> cluster;

  explicit DirBackupSite(const std::string& name) {
    run_as_server({"mkdir", "-p", archive, backups});
    cluster = start_cluster(name, {{"archive_mode", "on"},
                                   {"archive_command", pg::quote_literal("test ! -f " + archive + "/%f && cp %p " + archive + "/%f")},
                                   {"wal_level", "replica"}});
  }
};

}  // namespace pgshift::testing
