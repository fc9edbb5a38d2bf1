// The snapshot keeper: a small child process (`pgshift __snapshot-keeper`, in its own session)
// that creates the migration's logical slot with an exported snapshot on a replication
// connection and keeps that connection open, so the snapshot lives while the copy runs — and a
// while after pgshift itself is killed, so `sync start` run again can go on with the same
// snapshot and keep the ranges already copied.
//
// Contract:
//   - Keeper::start() spawns it, hands it the publisher's connection string through a pipe (never
//     argv), and returns once the slot exists with its consistent point and snapshot name, or
//     throws (SqlError text of the server: no slot/WAL sender left, permission) with nothing
//     created.
//   - The keeper exits when told (release()), when its replication connection ends (another run
//     adopting the snapshot terminates its backend: end_keepers()), on SIGTERM, or `grace` after
//     its parent went away without releasing it. It never drops the slot: that is sync stop's.
//   - Keeper::adopt() spawns a keeper that takes over a recorded snapshot of an earlier run: it
//     imports it into a REPEATABLE READ transaction on a plain connection, exports it again and
//     holds that transaction (same application_name), so the snapshot outlives this run as it
//     outlived the earlier one: a resume after a resume after a kill -9 still finds it. nullopt
//     when the snapshot is gone (its keeper ended). The caller then ends the earlier keepers.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "pg/connection.hpp"
#include "pg/replication_connection.hpp"
#include "util/duration.hpp"

namespace pgshift::replication {

class SnapshotKeeper {
 public:
  static SnapshotKeeper start(const pg::ConnInfo& publisher, const std::string& slot, util::Millis grace);
  static std::optional<SnapshotKeeper> adopt(const pg::ConnInfo& publisher, const std::string& slot,
                                             const std::string& snapshot, util::Millis grace);
  SnapshotKeeper(SnapshotKeeper&& other) noexcept;
  SnapshotKeeper& operator=(SnapshotKeeper&&) = delete;
  SnapshotKeeper(const SnapshotKeeper&) = delete;
  ~SnapshotKeeper();  // without release(): the keeper waits `grace`, then exits

  const pg::ExportedSlot& slot() const { return slot_; }
  int pid() const { return pid_; }
  int backend_pid() const { return backend_pid_; }
  void release();  // the keeper ends its connection (the snapshot goes) and exits

 private:
  SnapshotKeeper(int fd, int pid) : fd_(fd), pid_(pid) {}
  // Spawns the keeper process with `config` and reads its one-line reply (throws on an error).
  static std::pair<SnapshotKeeper, nlohmann::json> spawn(const pg::ConnInfo& publisher, nlohmann::json config);
  int fd_ = -1;
  int pid_ = -1;
  int backend_pid_ = 0;
  pg::ExportedSlot slot_;
};

// Ends the keepers of `slot` through the server (terminates their backends, which only the same
// role or a superuser may do; a keeper's application_name names the slot), except the one whose
// backend is keep_backend_pid. Returns how many were ended.
int end_keepers(pg::Connection& publisher, const std::string& slot, int keep_backend_pid = 0);

// The keeper's main (`pgshift __snapshot-keeper`): reads its configuration from stdin.
int run_snapshot_keeper();

}  // namespace pgshift::replication
