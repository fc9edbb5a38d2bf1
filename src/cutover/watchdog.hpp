// The watchdog: a separate process that puts traffic back on a consistent side when pgshift
// dies (kill -9, OOM, a lost terminal) while the pooler is paused or a fence is up.
//
// pgshift starts it before pausing and talks to it through a pipe: first one JSON line with the
// connection strings (never argv or the environment, which other users can read), then the
// progress ("paused", "switching", "switched"), and "done" once traffic flows again. When the
// pipe closes without "done", pgshift is gone: the kernel closes the pipe the instant the
// process dies, so the watchdog acts within a second:
//   - with a pooler: if PgBouncer already routes the database to the new writer, the switch
//     happened: lift the new writer's fence. Otherwise restore the pooler config from its
//     backup if it was rewritten, and lift the old writer's fence. Then RESUME.
//   - with a switch command: lift the old writer's fence unless the command had started.
// What it did is journaled; `pgshift cutover --resume` then finishes or rolls back the rest.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cutover/pooler_config.hpp"
#include "pg/conninfo.hpp"

namespace pgshift::cutover {

struct WatchdogConfig {
  std::string action;          // "cutover" / "rollback" (for the journal)
  int64_t migration_id = 0;
  pg::ConnInfo writer;         // the old writer
  pg::ConnInfo replica;        // the new writer
  pg::ConnInfo journal;        // the target (where the journal is)
  std::optional<pg::ConnInfo> pooler_admin;
  std::string pooler_db;
  std::string pooler_config;         // the ini file pgshift may rewrite
  std::string pooler_config_backup;  // its original content, written before any rewrite
  PoolerEndpoint new_endpoint;       // where the pooler points after the switch

  nlohmann::json to_json() const;    // includes passwords: only for the pipe
  static WatchdogConfig from_json(const nlohmann::json& doc);
};

// The parent's end. Destroying it without release() leaves the watchdog to act, as a crash would.
class Watchdog {
 public:
  // Starts `<this executable> __watchdog` in its own session. Throws RuntimeError when it cannot.
  static Watchdog start(const WatchdogConfig& config);
  Watchdog(Watchdog&& other) noexcept : fd_(other.fd_), pid_(other.pid_) { other.fd_ = -1; }
  Watchdog& operator=(Watchdog&&) = delete;
  Watchdog(const Watchdog&) = delete;
  ~Watchdog();

  void tell(const std::string& state);  // "paused", "switching", "switched"
  void release();                       // traffic flows: the watchdog exits without acting
  int pid() const { return pid_; }

 private:
  Watchdog(int fd, int pid) : fd_(fd), pid_(pid) {}
  int fd_ = -1;
  int pid_ = -1;
};

// The body of the hidden `pgshift __watchdog` command: reads stdin until "done" or EOF.
// Returns the exit code.
int run_watchdog();

}  // namespace pgshift::cutover
