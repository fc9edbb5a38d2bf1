// Local PostgreSQL clusters on loopback, for `pgshift demo`, restore drills and the tests.
//
// LocalCluster::start() creates a cluster in a fresh directory under /tmp (initdb once per
// process, then a copy of that template), listening on a free 127.0.0.1 port with
// wal_level=logical and room for slots, senders and workers. Superuser "postgres" with
// password kLocalPassword over TCP (scram-sha-256); trust on its private Unix socket.
//
// When the process runs as root the server runs as the `postgres` OS user (PostgreSQL refuses
// root) in a directory that user owns. The server is started with a parent-death signal, so it
// dies with the thread that started it even on kill -9; the destructor stops it (fast shutdown)
// and removes the directory. Directories left by dead processes are swept on the next start.
// Safe to use from several processes at once (CTest -j).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "pg/conninfo.hpp"
#include "util/process.hpp"

namespace pgshift::localpg {

inline constexpr const char* kLocalPassword = "pgshift-local-secret";

// Directory with initdb/postgres: $PGSHIFT_PG_BINDIR, else the newest /usr/lib/postgresql/*/bin.
std::string postgres_bindir();

// A PostgreSQL client program (pg_dump, pg_restore, psql): $PGSHIFT_PG_BINDIR/<name>, else the
// one in the newest /usr/lib/postgresql/*/bin (Debian's postgresql-client; the newest dumps every
// older server), else <name> as found in PATH.
std::string client_program(const std::string& name);

struct ClusterOptions {
  std::string name = "pg";                       // shows in the directory name and messages
  std::map<std::string, std::string> settings;   // postgresql.conf overrides
};

class LocalCluster {
 public:
  static std::unique_ptr<LocalCluster> start(ClusterOptions options = {});
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  int port() const { return port_; }
  const std::string& name() const { return options_.name; }
  const std::string& directory() const { return root_; }
  std::string log_file() const { return root_ + "/postgres.log"; }

  // postgresql://postgres:<password>@127.0.0.1:<port>/<db>
  std::string url(const std::string& db = "postgres", const std::string& user = "postgres") const;
  pg::ConnInfo conninfo(const std::string& db = "postgres", const std::string& user = "postgres") const;

  void create_database(const std::string& db);
  // Changes settings (appended to postgresql.conf) and restarts on the same port.
  void restart(const std::map<std::string, std::string>& settings = {});
  // Fast shutdown; the directory stays until destruction. Idempotent.
  void stop();
  bool running();

 private:
  LocalCluster() = default;
  void write_settings(const std::map<std::string, std::string>& settings);
  void launch();

  ClusterOptions options_;
  std::string root_;
  std::string data_;
  int port_ = 0;
  util::Child postmaster_;
};

// Ownership for files the server must read or write (the postgres OS user when we are root).
struct ServerUser {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
};
ServerUser server_user();

// Creates a private directory $TMPDIR/pgshift-<label>-<pid>-XXXXXX (else /tmp/...) owned by server_user(),
// after sweeping such directories of processes that no longer exist (this owner's only, even as root).
std::string make_private_dir(const std::string& label);

// Removes a directory tree; errors are logged, not thrown.
void remove_tree(const std::string& path);

// A free TCP port on 127.0.0.1 at the time of the call.
int free_port();

}  // namespace pgshift::localpg
