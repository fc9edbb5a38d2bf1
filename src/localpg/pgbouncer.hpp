// A local PgBouncer on a free 127.0.0.1 port, pointed at a local cluster, for the demo and the
// tests. Runs as the postgres OS user when we are root (PgBouncer refuses root), with the same
// parent-death and cleanup guarantees as LocalCluster. Its ini file (config_path()) is what
// `pgshift cutover --pooler-config` rewrites; the admin console is the "pgbouncer" database.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "localpg/cluster.hpp"

namespace pgshift::localpg {

struct PgBouncerOptions {
  std::string pool_mode = "transaction";
  int default_pool_size = 20;
  int max_client_conn = 200;
  std::map<std::string, std::string> extra;  // [pgbouncer] overrides
};

class LocalPgBouncer {
 public:
  // databases: name -> the cluster and database it points at.
  static std::unique_ptr<LocalPgBouncer> start(const LocalCluster& backend, const std::vector<std::string>& databases,
                                               PgBouncerOptions options = {});
  ~LocalPgBouncer();
  LocalPgBouncer(const LocalPgBouncer&) = delete;
  LocalPgBouncer& operator=(const LocalPgBouncer&) = delete;

  int port() const { return port_; }
  const std::string& config_path() const { return config_; }
  std::string log_file() const { return root_ + "/pgbouncer.log"; }
  std::string url(const std::string& db) const;  // through the pooler, as the app connects
  std::string admin_url() const;                 // the admin console
  void stop();
  bool running();

 private:
  LocalPgBouncer() = default;
  std::string root_;
  std::string config_;
  int port_ = 0;
  util::Child process_;
};

}  // namespace pgshift::localpg
