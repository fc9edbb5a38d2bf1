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
//     adopting the snapshot terminates its backend: end_keeper()), on SIGTERM, or `grace` after
//     its parent went away without releasing it. It never drops the slot: that is sync stop's.
//   - adopt() imports a recorded snapshot into a REPEATABLE READ transaction on `holder` and
//     exports it again from there (pg_export_snapshot), so this process holds it from then on;
//     returns the new snapshot name, or nullopt when the snapshot is gone (keeper ended).
#pragma once

#include <optional>
#include <string>

#include "pg/connection.hpp"
#include "pg/replication_connection.hpp"
#include "util/duration.hpp"

namespace pgshift::replication {

class SnapshotKeeper {
 public:
  static SnapshotKeeper start(const pg::ConnInfo& publisher, const std::string& slot, util::Millis grace);
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
  int fd_ = -1;
  int pid_ = -1;
  int backend_pid_ = 0;
  pg::ExportedSlot slot_;
};

// Imports `snapshot` on holder (which must be idle) and re-exports it; nullopt when it is gone.
std::optional<std::string> adopt_snapshot(pg::Connection& holder, const std::string& snapshot);

// Ends a keeper of an earlier run through the server: terminates its walsender backend (which
// only the same role or a superuser may do), when that backend is still the keeper's (its
// application_name names the slot). Returns whether one was ended.
bool end_keeper(pg::Connection& publisher, int backend_pid, const std::string& slot);

// The keeper's main (`pgshift __snapshot-keeper`): reads its configuration from stdin.
int run_snapshot_keeper();

}  // namespace pgshift::replication
