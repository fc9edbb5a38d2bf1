#include "backup/scratch_server.hpp"

#include <libpq-fe.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "backup/tools.hpp"
#include "localpg/cluster.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace pgshift::backup {
namespace fs = std::filesystem;
namespace {

void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw RuntimeError("cannot write " + path);
  ::chmod(path.c_str(), mode);
  localpg::ServerUser u = localpg::server_user();
  if (u.drop && ::chown(path.c_str(), u.uid, u.gid) != 0) throw RuntimeError("cannot chown " + path);
}

}  // namespace

std::unique_ptr<ScratchServer> ScratchServer::create() {
  std::unique_ptr<ScratchServer> s(new ScratchServer());
  s->root_ = localpg::make_private_dir("drill");
  std::string data = s->data();
  if (::mkdir(data.c_str(), 0700) != 0) throw RuntimeError("cannot create " + data);
  localpg::ServerUser u = localpg::server_user();
  if (u.drop && ::chown(data.c_str(), u.uid, u.gid) != 0) throw RuntimeError("cannot chown " + data);
  return s;
}

ScratchServer::~ScratchServer() {
  try {
    stop();
  } catch (const std::exception& e) {
    spdlog::warn("stopping the drill server: {}", e.what());
  }
  if (!kept_) localpg::remove_tree(root_);
}

std::string ScratchServer::major() const {
  std::string v = read_log(data() + "/PG_VERSION");
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  if (v.empty()) throw RuntimeError(fmt::format("the restore left no PG_VERSION in {}: not a PostgreSQL data directory", data()));
  return v;
}

std::string ScratchServer::bindir() const {
  std::string v = major();
  if (const char* env = std::getenv("PGSHIFT_PG_BINDIR"); env && *env) return env;
  std::string dir = "/usr/lib/postgresql/" + v + "/bin";
  if (!fs::exists(dir + "/postgres")) {
    throw RuntimeError(fmt::format("the backup is of PostgreSQL {}, whose server binaries are not installed ({}/postgres)", v, dir));
  }
  return dir;
}

void ScratchServer::start(const std::map<std::string, std::string>& settings) {
  std::string d = data();
  std::error_code ec;
  fs::remove(d + "/postmaster.pid", ec);
  fs::remove(d + "/standby.signal", ec);
  write_file(d + "/recovery.signal", "", 0600);
  ::chmod(d.c_str(), 0700);
  write_file(root_ + "/drill.conf", "# pgshift drill: every setting is on the command line\n");
  write_file(root_ + "/pg_hba.conf", "# pgshift drill: only the private Unix socket, no TCP\nlocal all all trust\n");
  write_file(root_ + "/pg_ident.conf", "");
  std::string bin = bindir();
  for (int attempt = 1; attempt <= 3; ++attempt) {
    port_ = localpg::free_port();
    std::map<std::string, std::string> all = settings;
    all["config_file"] = root_ + "/drill.conf";
    all["hba_file"] = root_ + "/pg_hba.conf";
    all["ident_file"] = root_ + "/pg_ident.conf";
    all["port"] = std::to_string(port_);
    all["listen_addresses"] = "127.0.0.1";
    all["unix_socket_directories"] = root_;
    argv_ = {bin + "/postgres", "-D", d};
    for (const auto& [k, v] : all) argv_.insert(argv_.end(), {"-c", k + "=" + v});
    util::ProcessSpec spec = tool_spec(argv_, true);
    spec.parent_death_signal = SIGQUIT;
    spec.new_session = true;  // its own process group: restore_command children die with it
    spec.output_file = log_file();
    postmaster_ = util::spawn(spec);
    // A port taken between free_port() and bind() shows within a moment; anything else is
    // judged by wait_ready().
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    while (std::chrono::steady_clock::now() < until && postmaster_.running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (postmaster_.running()) return;
    std::string log = log_tail();
    if (log.find("could not bind") == std::string::npos && log.find("already in use") == std::string::npos) return;
  }
}

std::string ScratchServer::log_tail() const {
  std::string all = read_log(log_file());
  return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
}

void ScratchServer::wait_ready(std::chrono::steady_clock::time_point deadline) {
  std::string ping = fmt::format("host={} port={} dbname=postgres connect_timeout=2", root_, port_);
  while (true) {
    if (!postmaster_.running()) {
      std::string line = first_error_line(log_tail());
      throw RuntimeError(fmt::format("the restored server stopped during recovery: {}", line.empty() ? "(no log)" : line));
    }
    if (PQping(ping.c_str()) == PQPING_OK) return;
    if (util::interrupted()) throw RuntimeError("interrupted (SIGINT/SIGTERM) while waiting for recovery");
    if (std::chrono::steady_clock::now() >= deadline) throw RuntimeError("timed out waiting for recovery to finish");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

pg::ConnInfo ScratchServer::conninfo(const std::string& db, const std::string& user) const {
  return pg::ConnInfo::parse(fmt::format("host={} port={} dbname={} user={}", pg::conninfo_quote(root_), port_,
                                         pg::conninfo_quote(db), pg::conninfo_quote(user)),
                             "drill server");
}

void ScratchServer::stop() {
  if (postmaster_.pid() <= 0) return;
  if (postmaster_.running()) {
    postmaster_.signal(SIGINT);
    if (!postmaster_.wait_for(util::Millis(20'000))) {
      postmaster_.signal(SIGQUIT);
      if (!postmaster_.wait_for(util::Millis(5'000))) {
        postmaster_.signal(SIGKILL);
        postmaster_.wait();
      }
    }
  }
  // A restore_command still running (stuck on a slow archive) outlives the postmaster in its
  // process group, whose id is the postmaster's pid.
  ::kill(-postmaster_.pid(), SIGKILL);
}

std::string ScratchServer::keep(const std::string& db, const std::string& user) {
  stop();
  std::string name = fs::path(root_).filename().string();  // pgshift-drill-<pid>-XXXXXX
  std::string kept = fs::path(root_).parent_path().string() + "/pgshift-drill-kept-" + name.substr(name.rfind('-') + 1);
  std::error_code ec;
  fs::rename(root_, kept, ec);
  if (ec) throw RuntimeError(fmt::format("cannot keep the drill directory {}: {}", root_, ec.message()));
  std::string script = "#!/bin/sh\n# Starts the kept pgshift drill server (recovery already ran). Remove with: rm -rf " + kept + "\nexec";
  for (std::string a : argv_) {
    for (size_t at; (at = a.find(root_)) != std::string::npos;) a.replace(at, root_.size(), kept);
    script += " " + shell_quote(a);
  }
  script += " \"$@\"\n";
  root_ = kept;
  kept_ = true;
  write_file(kept + "/start.sh", script, 0755);
  localpg::ServerUser u = localpg::server_user();
  std::string as_user = u.drop ? "runuser -u postgres -- " : "";
  return fmt::format("kept the restored server in {}: start it with `{}{}/start.sh &`, connect with "
                     "`psql \"host={} port={} dbname={} user={}\"`, remove it with `rm -rf {}`",
                     kept, as_user, kept, kept, port_, db, user, kept);
}

}  // namespace pgshift::backup
