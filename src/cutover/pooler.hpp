// PgBouncer's admin console, for the pause-and-switch part of a cutover. The console speaks only
// the simple query protocol, so commands go through Connection::exec_simple with fixed text and
// quoted database names.
//
// pause() has a deadline: PAUSE waits for every in-flight transaction of the database to end, so a
// long transaction could hold it forever; when the deadline passes, pause() sends RESUME from a
// second admin connection and returns false, leaving the pooler serving as before.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cutover/pooler_config.hpp"
#include "pg/connection.hpp"
#include "util/duration.hpp"

namespace pgshift::cutover {

struct PoolerDatabase {
  std::string name;
  PoolerEndpoint endpoint;
  bool paused = false;
  bool disabled = false;
};

class PoolerAdmin {
 public:
  explicit PoolerAdmin(pg::ConnInfo admin);

  bool pause(const std::string& db, util::Millis timeout);
  void resume(const std::string& db);
  void reload();
  std::vector<PoolerDatabase> databases();
  std::optional<PoolerDatabase> database(const std::string& db);
  const pg::ConnInfo& info() const { return info_; }

 private:
  pg::Connection& conn();
  pg::ConnInfo info_;
  std::optional<pg::Connection> conn_;
};

// PgBouncer admin commands take an identifier; quote it the way its parser accepts.
std::string pooler_ident(const std::string& name);

}  // namespace pgshift::cutover
