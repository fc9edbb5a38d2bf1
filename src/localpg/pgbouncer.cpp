#include "localpg/pgbouncer.hpp"

#include <signal.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "pg/connection.hpp"
#include "util/error.hpp"

namespace pgshift::localpg {
namespace {

bool accepts_connections(const std::string& admin_url) {
  try {
    pg::ConnectOptions options;
    options.connect_timeout = util::Millis(2000);
    pg::Connection::open(pg::ConnInfo::parse(admin_url, "pgbouncer"), options);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

std::unique_ptr<LocalPgBouncer> LocalPgBouncer::start(const LocalCluster& backend,
                                                      const std::vector<std::string>& databases,
                                                      PgBouncerOptions options) {
  std::unique_ptr<LocalPgBouncer> b(new LocalPgBouncer());
  b->root_ = make_private_dir("pgbouncer");
  b->config_ = b->root_ + "/pgbouncer.ini";
  ServerUser user = server_user();
  {
    std::ofstream users(b->root_ + "/userlist.txt");
    users << "\"postgres\" \"" << kLocalPassword << "\"\n";
  }
  constexpr int kAttempts = 8;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    b->port_ = free_port();
    std::map<std::string, std::string> settings = {
        {"listen_addr", "127.0.0.1"},
        {"listen_port", std::to_string(b->port_)},
        {"unix_socket_dir", ""},
        {"auth_type", "scram-sha-256"},
        {"auth_file", b->root_ + "/userlist.txt"},
        {"admin_users", "postgres"},
        {"pool_mode", options.pool_mode},
        {"default_pool_size", std::to_string(options.default_pool_size)},
        {"max_client_conn", std::to_string(options.max_client_conn)},
        {"ignore_startup_parameters", "extra_float_digits,options"},
        {"logfile", b->log_file()},
        {"pidfile", b->root_ + "/pgbouncer.pid"},
        {"server_login_retry", "1"},
    };
    for (const auto& [k, v] : options.extra) settings[k] = v;
    {
      std::ofstream ini(b->config_);
      ini << "[databases]\n";
      for (const auto& db : databases) {
        ini << db << " = host=127.0.0.1 port=" << backend.port() << " dbname=" << db << "\n";
      }
      ini << "\n[pgbouncer]\n";
      for (const auto& [k, v] : settings) ini << k << " = " << v << "\n";
    }
    for (const char* f : {"/pgbouncer.ini", "/userlist.txt"}) {
      std::string path = b->root_ + f;
      if (user.drop && ::chown(path.c_str(), user.uid, user.gid) != 0) {
        throw RuntimeError(fmt::format("chown {} failed", path));
      }
    }
    util::ProcessSpec spec;
    spec.argv = {"pgbouncer", b->config_};
    if (user.drop) {
      spec.uid = user.uid;
      spec.gid = user.gid;
    }
    spec.parent_death_signal = SIGTERM;  // PgBouncer: SIGTERM is an immediate shutdown
    spec.output_file = b->root_ + "/stdout.log";
    b->process_ = util::spawn(spec);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline && b->process_.running()) {
      if (accepts_connections(b->admin_url())) return b;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::ifstream log(b->log_file());
    std::stringstream ss;
    ss << log.rdbuf();
    if (b->process_.running()) {
      b->process_.signal(SIGKILL);
      b->process_.wait();
      throw RuntimeError("PgBouncer did not accept connections within 20s; log:\n" + ss.str());
    }
    if (ss.str().find("in use") == std::string::npos || attempt == kAttempts) {
      throw RuntimeError("PgBouncer failed to start; log:\n" + ss.str());
    }
  }
  throw RuntimeError("PgBouncer could not find a free port");
}

LocalPgBouncer::~LocalPgBouncer() {
  stop();
  remove_tree(root_);
}

bool LocalPgBouncer::running() { return process_.running(); }

void LocalPgBouncer::stop() {
  if (!process_.running()) return;
  process_.signal(SIGTERM);
  if (process_.wait_for(util::Millis(10'000))) return;
  process_.signal(SIGKILL);
  process_.wait();
}

std::string LocalPgBouncer::url(const std::string& db) const {
  return fmt::format("postgresql://postgres:{}@127.0.0.1:{}/{}", kLocalPassword, port_, db);
}

std::string LocalPgBouncer::admin_url() const { return url("pgbouncer"); }

}  // namespace pgshift::localpg
