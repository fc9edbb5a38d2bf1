// The drill's throwaway PostgreSQL: a labelled private directory (/tmp/pgshift-drill-<pid>-*,
// swept by the next localpg::make_private_dir when its process is gone), a data directory the
// restore fills, and a postmaster started from the command line only (our own config_file,
// hba_file that trusts the private Unix socket alone, isolation settings) on a free loopback
// port, with a parent-death signal so it dies with us even on kill -9.
//
// The destructor stops the server and removes the directory, unless keep() moved it aside.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pg/conninfo.hpp"
#include "util/process.hpp"

namespace pgshift::backup {

class ScratchServer {
 public:
  static std::unique_ptr<ScratchServer> create();
  ~ScratchServer();
  ScratchServer(const ScratchServer&) = delete;
  ScratchServer& operator=(const ScratchServer&) = delete;

  const std::string& root() const { return root_; }
  std::string data() const { return root_ + "/data"; }
  std::string log_file() const { return root_ + "/postgres.log"; }
  int port() const { return port_; }

  // The major version in data()/PG_VERSION and its server binaries (RuntimeError when absent).
  std::string major() const;
  std::string bindir() const;

  // Prepares the restored data directory (mode, recovery.signal, no standby.signal or
  // postmaster.pid) and starts the server with settings as -c options. Returns when the
  // postmaster runs; wait_ready() waits for the end of recovery.
  void start(const std::map<std::string, std::string>& settings);
  // Polls until the server accepts connections; throws RuntimeError (with the log's FATAL or
  // PANIC line) when it exits, at the deadline, or when interrupted.
  void wait_ready(std::chrono::steady_clock::time_point deadline);
  pg::ConnInfo conninfo(const std::string& db, const std::string& user) const;

  void stop();
  // Stops the server, moves the directory to /tmp/pgshift-drill-kept-*, writes start.sh there and
  // returns a hint: how to start it and connect.
  std::string keep(const std::string& db, const std::string& user);

  std::string log_tail() const;

 private:
  ScratchServer() = default;
  std::string root_;
  int port_ = 0;
  std::vector<std::string> argv_;
  util::Child postmaster_;
  bool kept_ = false;
};

}  // namespace pgshift::backup
