#include "state/lock.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "util/error.hpp"

namespace pgshift::state {
namespace {

// 'pgsh' as a 32-bit class id; object 1 is the migration lock (object 0 guards schema creation).
constexpr std::string_view kTryLockSql = "SELECT pg_try_advisory_lock(1885827944, 1) AS locked";
constexpr std::string_view kUnlockSql = "SELECT pg_advisory_unlock(1885827944, 1)";
constexpr std::string_view kHolderSql = R"sql(
SELECT a.pid, coalesce(a.application_name, '') AS application, coalesce(host(a.client_addr), 'local') AS client
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.classid = 1885827944 AND l.objid = 1 AND l.granted
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.pid <> pg_backend_pid()
 LIMIT 1
)sql";

}  // namespace

std::optional<std::string> MigrationLock::holder(pg::Connection& target) {
  pg::Result holder = target.exec(kHolderSql);
  if (holder.empty()) return std::nullopt;
  return fmt::format("{} (pid {}, from {})", holder.row(0).text("application"), holder.row(0).text("pid"),
                     holder.row(0).text("client"));
}

MigrationLock MigrationLock::acquire(pg::Connection& target) {
  if (target.exec(kTryLockSql).row(0).boolean("locked")) return MigrationLock(&target);
  std::string who = holder(target).value_or("another session");
  throw RuntimeError(fmt::format("{}: another pgshift command holds the migration lock: {}; wait for it to "
                                 "finish and run this again",
                                 target.endpoint(), who));
}

MigrationLock MigrationLock::acquire_within(pg::Connection& target, util::Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (target.exec(kTryLockSql).row(0).boolean("locked")) return MigrationLock(&target);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return acquire(target);
}

MigrationLock::~MigrationLock() {
  if (!conn_) return;
  try {
    if (conn_->is_ok()) conn_->exec(kUnlockSql);
  } catch (const std::exception& e) {
    spdlog::debug("releasing the migration lock: {}", e.what());  // released with the session anyway
  }
}

}  // namespace pgshift::state
