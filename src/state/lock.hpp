// The migration lock: a session-level advisory lock on the target database that serializes the
// commands that change a migration (sync start, sync stop, cutover, ...). Two operators (or an
// operator and a retried Kubernetes Job) can then never interleave their steps. The lock goes
// away with the session, so a killed process never leaves it behind.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pg/connection.hpp"
#include "util/duration.hpp"

namespace pgshift::state {

class MigrationLock {
 public:
  // Takes the lock without waiting; throws RuntimeError naming the holder (application_name,
  // pid, client address) when another session has it.
  static MigrationLock acquire(pg::Connection& target);
  // The same, polling until `timeout` has passed before it throws.
  static MigrationLock acquire_within(pg::Connection& target, util::Millis timeout);
  // Who holds the lock now, if another session does: "application (pid N, from ADDR)".
  static std::optional<std::string> holder(pg::Connection& target);

  MigrationLock(MigrationLock&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  MigrationLock& operator=(MigrationLock&&) = delete;
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;
  ~MigrationLock();

 private:
  explicit MigrationLock(pg::Connection* conn) : conn_(conn) {}
  pg::Connection* conn_;
};

}  // namespace pgshift::state
