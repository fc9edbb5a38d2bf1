#include "localpg/cluster.hpp"

#include <dirent.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "pg/connection.hpp"
#include "pg/quote.hpp"
#include "util/error.hpp"

namespace pgshift::localpg {
namespace fs = std::filesystem;
namespace {

// The settings every local cluster starts with: logical replication with room to spare, and
// durability traded for speed (these clusters hold throwaway data).
const std::map<std::string, std::string>& base_settings() {
  static const std::map<std::string, std::string> s = {
      {"listen_addresses", "'127.0.0.1'"},
      {"wal_level", "logical"},
      {"max_replication_slots", "20"},
      {"max_wal_senders", "20"},
      {"max_worker_processes", "24"},
      {"max_logical_replication_workers", "12"},
      {"max_sync_workers_per_subscription", "4"},
      {"max_connections", "120"},
      {"shared_buffers", "64MB"},
      {"fsync", "off"},
      {"synchronous_commit", "off"},
      {"full_page_writes", "off"},
      {"log_min_messages", "warning"},
      {"log_line_prefix", "'%m [%p] %q%a '"},
  };
  return s;
}

std::string read_tail(const std::string& path, size_t max_bytes = 2000) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

void chown_tree(const std::string& path, const ServerUser& user) {
  if (!user.drop) return;
  if (::chown(path.c_str(), user.uid, user.gid) != 0) {
    throw RuntimeError(fmt::format("chown {}: {}", path, std::strerror(errno)));
  }
  for (const auto& entry : fs::recursive_directory_iterator(path)) {
    if (::lchown(entry.path().c_str(), user.uid, user.gid) != 0) {
      throw RuntimeError(fmt::format("chown {}: {}", entry.path().string(), std::strerror(errno)));
    }
  }
}

util::ProcessSpec as_server_user(std::vector<std::string> argv) {
  util::ProcessSpec spec;
  spec.argv = std::move(argv);
  ServerUser user = server_user();
  if (user.drop) {
    spec.uid = user.uid;
    spec.gid = user.gid;
  }
  // libpq/PG environment of the caller must not leak into the server tools.
  spec.unset_env = {"PGDATA", "PGPORT", "PGHOST", "PGUSER", "PGDATABASE", "PGPASSWORD"};
  return spec;
}

// initdb once per process; every cluster is a copy of this template.
std::string template_dir() {
  static std::mutex mutex;
  static std::string dir;
  std::lock_guard lock(mutex);
  if (!dir.empty()) return dir;
  std::string root = make_private_dir("template");
  std::string pwfile = root + "/pwfile";
  {
    std::ofstream pw(pwfile);
    pw << kLocalPassword << "\n";
  }
  chown_tree(root, server_user());
  util::ProcessSpec spec = as_server_user({postgres_bindir() + "/initdb", "-D", root + "/data", "-U", "postgres",
                                           "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=trust",
                                           "--auth-host=scram-sha-256", "--pwfile=" + pwfile, "--no-sync"});
  util::RunResult r = util::run(spec, util::Millis(120'000));
  if (r.exit_code != 0) {
    throw RuntimeError(fmt::format("initdb failed (exit {}): {}", r.exit_code, r.err.empty() ? r.out : r.err));
  }
  dir = root + "/data";
  std::atexit([] { remove_tree(fs::path(dir).parent_path().string()); });
  return dir;
}

}  // namespace

namespace {

// The newest /usr/lib/postgresql/<major>/bin holding program, or "".
std::string newest_bindir_with(const std::string& program) {
  std::string best;
  int best_version = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    int v = std::atoi(entry.path().filename().c_str());
    if (v > best_version && fs::exists(entry.path() / "bin" / program)) {
      best_version = v;
      best = (entry.path() / "bin").string();
    }
  }
  return best;
}

}  // namespace

std::string client_program(const std::string& name) {
  if (const char* env = std::getenv("PGSHIFT_PG_BINDIR"); env && *env) return std::string(env) + "/" + name;
  std::string dir = newest_bindir_with(name);
  return dir.empty() ? name : dir + "/" + name;
}

std::string postgres_bindir() {
  if (const char* env = std::getenv("PGSHIFT_PG_BINDIR"); env && *env) return env;
  std::string best = newest_bindir_with("postgres");
  if (best.empty()) {
    throw RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql (run scripts/install-deps, "
                       "or set PGSHIFT_PG_BINDIR)");
  }
  return best;
}

ServerUser server_user() {
  ServerUser user;
  if (geteuid() != 0) return user;
  const passwd* pw = getpwnam("postgres");
  if (!pw) throw RuntimeError("running as root needs the 'postgres' OS user (installed with postgresql)");
  user.drop = true;
  user.uid = pw->pw_uid;
  user.gid = pw->pw_gid;
  return user;
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) spdlog::debug("could not remove {}: {}", path, ec.message());
}

// $TMPDIR when it names a directory, else /tmp.
static std::string temp_root() {
  const char* env = std::getenv("TMPDIR");
  std::error_code ec;
  if (env && *env == '/' && fs::is_directory(env, ec)) {
    std::string dir = env;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return dir;
  }
  return "/tmp";
}

std::string make_private_dir(const std::string& label) {
  // Sweep directories of processes that are gone (killed before their destructors ran), only
  // those owned as ours would be: another user's are theirs to remove, even when we are root.
  ServerUser user = server_user();
  uid_t owner = user.drop ? user.uid : geteuid();
  std::string root = temp_root();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("pgshift-", 0) != 0) continue;
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != owner) continue;
    size_t last = name.rfind('-');
    size_t before = last == std::string::npos || last == 0 ? std::string::npos : name.rfind('-', last - 1);
    if (before == std::string::npos) continue;
    int pid = std::atoi(name.substr(before + 1, last - before - 1).c_str());
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) remove_tree(entry.path().string());
  }
  std::string clean;
  for (char c : label) clean += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  std::string pattern = fmt::format("{}/pgshift-{}-{}-XXXXXX", root, clean, getpid());
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw RuntimeError(fmt::format("mkdtemp {}: {}", pattern, std::strerror(errno)));
  std::string dir(buf.data());
  if (user.drop && ::chown(dir.c_str(), user.uid, user.gid) != 0) {
    throw RuntimeError(fmt::format("chown {}: {}", dir, std::strerror(errno)));
  }
  return dir;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw RuntimeError("socket() failed while looking for a free port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw RuntimeError("could not find a free port on 127.0.0.1");
  }
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::unique_ptr<LocalCluster> LocalCluster::start(ClusterOptions options) {
  std::string tpl = template_dir();
  std::unique_ptr<LocalCluster> c(new LocalCluster());
  c->options_ = std::move(options);
  c->root_ = make_private_dir(c->options_.name);
  c->data_ = c->root_ + "/data";
  util::RunResult cp = util::run(as_server_user({"cp", "-a", tpl, c->data_}), util::Millis(60'000));
  if (cp.exit_code != 0) throw RuntimeError(fmt::format("copying the cluster template failed: {}", cp.err));
  std::map<std::string, std::string> settings = base_settings();
  settings["unix_socket_directories"] = pg::quote_literal(c->root_);
  for (const auto& [k, v] : c->options_.settings) settings[k] = v;
  c->write_settings(settings);
  c->launch();
  return c;
}

void LocalCluster::write_settings(const std::map<std::string, std::string>& settings) {
  // Appended: the last occurrence of a setting wins in postgresql.conf.
  std::ofstream conf(data_ + "/postgresql.conf", std::ios::app);
  conf << "\n# pgshift localpg\n";
  for (const auto& [k, v] : settings) conf << k << " = " << v << "\n";
  if (!conf) throw RuntimeError(fmt::format("cannot write {}/postgresql.conf", data_));
}

void LocalCluster::launch() {
  constexpr int kAttempts = 8;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    if (port_ == 0 || attempt > 1) {
      port_ = free_port();
      write_settings({{"port", std::to_string(port_)}});
    }
    util::ProcessSpec spec = as_server_user({postgres_bindir() + "/postgres", "-D", data_});
    spec.parent_death_signal = SIGQUIT;  // immediate shutdown when our thread dies
    spec.output_file = log_file();
    postmaster_ = util::spawn(spec);

    std::string ping = fmt::format("host=127.0.0.1 port={} dbname=postgres user=postgres connect_timeout=2", port_);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (!postmaster_.running()) break;
      if (PQping(ping.c_str()) == PQPING_OK) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::string log = read_tail(log_file());
    if (postmaster_.running()) {
      postmaster_.signal(SIGKILL);
      postmaster_.wait();
      throw RuntimeError(fmt::format("PostgreSQL '{}' did not accept connections within 60s; log:\n{}", name(), log));
    }
    bool port_taken = log.find("could not bind") != std::string::npos ||
                      log.find("already in use") != std::string::npos ||
                      log.find("could not create any TCP/IP sockets") != std::string::npos;
    if (!port_taken || attempt == kAttempts) {
      throw RuntimeError(fmt::format("PostgreSQL '{}' failed to start; log:\n{}", name(), log));
    }
    spdlog::debug("port {} taken, retrying", port_);
  }
}

LocalCluster::~LocalCluster() {
  try {
    stop();
  } catch (const std::exception& e) {
    spdlog::warn("stopping {}: {}", name(), e.what());
  }
  remove_tree(root_);
}

bool LocalCluster::running() { return postmaster_.running(); }

void LocalCluster::stop() {
  if (!postmaster_.running()) return;
  postmaster_.signal(SIGINT);  // fast shutdown: roll back open transactions, checkpoint, exit
  if (postmaster_.wait_for(util::Millis(20'000))) return;
  postmaster_.signal(SIGQUIT);  // immediate shutdown
  if (postmaster_.wait_for(util::Millis(5'000))) return;
  postmaster_.signal(SIGKILL);
  postmaster_.wait();
}

void LocalCluster::restart(const std::map<std::string, std::string>& settings) {
  stop();
  if (!settings.empty()) write_settings(settings);
  launch();
}

std::string LocalCluster::url(const std::string& db, const std::string& user) const {
  return fmt::format("postgresql://{}:{}@127.0.0.1:{}/{}", user, kLocalPassword, port_, db);
}

pg::ConnInfo LocalCluster::conninfo(const std::string& db, const std::string& user) const {
  return pg::ConnInfo::parse(url(db, user), fmt::format("local cluster {}", name()));
}

void LocalCluster::create_database(const std::string& db) {
  pg::Connection conn = pg::Connection::open(conninfo());
  conn.exec("CREATE DATABASE " + pg::quote_ident(db));
}

}  // namespace pgshift::localpg
