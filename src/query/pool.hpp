// A bounded pool of connections for the read-only window (console, MCP): at most
// max_connections sessions to the database, shared by every request, opened on demand.
//
//   Pool pool(info, {.max_connections = 4, .per_identity = 2});
//   Pool::Lease lease = pool.acquire("alice");   // waits up to acquire_timeout, else PoolBusy
//   query::run(lease.conn(), sql, options);       // or any fixed diagnostic SQL
//   // ~Lease returns at once; the connection is cleaned in the background: clean_session()
//   // (query/session_hygiene.hpp) rolls back a transaction query::run() left open
//   // (Options::leave_to_pool) and resets the session; a connection that fails it is closed
//   // and replaced by a fresh one on a later acquire.
//
// Contract:
//   - acquire() gives a connection that is idle, outside a transaction, with no session state:
//     a released connection serves nobody until its cleaning finished. Releasing frees the
//     identity's share at once (its limit counts statements, not cleanings); the connection
//     counts against max_connections until it is clean. Cleaning (a round trip, ~1 ms) runs on
//     the pool's cleaner threads (as many as max_connections, at most kMaxCleaners, started on
//     the first releases), so the holder answers its client without waiting for it; ~Pool
//     lets the queued cleanings finish, then joins them.
//     It waits while all connections are leased or the identity already holds per_identity
//     leases, and throws PoolBusy after acquire_timeout (the surface answers 503 with
//     Retry-After). A failed connect throws pg::ConnectError and frees the slot.
//   - Waiters are served first come, first served among those under their identity's limit: a
//     freed connection is handed to that waiter under the pool's lock and only its thread is
//     woken (no herd of waiters re-checking a shared condition on every release).
//   - Lease::cancel() and CancelSignal::cancel() may be called from any thread (a client that
//     disconnected, shutdown): they send PQcancel for the statement running on the lease.
//   - cancel_all() cancels every leased connection's statement (shutdown deadline); close()
//     makes later acquires fail and closes idle connections.
//   - Thread-safe. The Pool must outlive its leases.
#pragma once

#include <libpq-fe.h>

#include <condition_variable>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pg/connection.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"

namespace pgshift::query {

struct PoolOptions {
  int max_connections = 4;
  int per_identity = 0;                  // leases one identity may hold at once; 0: max_connections
  util::Millis acquire_timeout{5'000};   // how long a request waits for a connection
  pg::ConnectOptions connect = pg::default_connect_options();
};

// No connection became free in time (or the identity is at its limit). Exit code 3.
class PoolBusy : public RuntimeError {
 public:
  PoolBusy(const std::string& message, bool per_identity) : RuntimeError(message), per_identity_(per_identity) {}
  bool per_identity() const { return per_identity_; }
  int retry_after_seconds() const { return 1; }

 private:
  bool per_identity_;
};

class Pool {
  struct Slot;

 public:
  Pool(pg::ConnInfo info, PoolOptions options);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), slot_(other.slot_) { other.pool_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    pg::Connection& conn();
    void cancel();  // thread-safe

   private:
    friend class Pool;
    Lease(Pool* pool, Slot* slot) : pool_(pool), slot_(slot) {}
    Pool* pool_;
    Slot* slot_;
  };

  Lease acquire(const std::string& identity);
  Lease acquire(const std::string& identity, util::Millis wait);

  int in_use() const;
  int waiting() const;
  int open() const;  // connections open (leased or idle)
  const PoolOptions& options() const { return options_; }
  const pg::ConnInfo& info() const { return info_; }

  void cancel_all();
  void close();

 private:
  struct Slot {
    std::optional<pg::Connection> conn;
    std::string identity;
    bool leased = false;  // held, or being cleaned after its release
    std::mutex cancel_mutex;
    std::unique_ptr<PGcancel, void (*)(PGcancel*)> cancel{nullptr, PQfreeCancel};
  };
  // A request waiting for a connection; granted (slot set) by dispatch().
  struct Waiter {
    std::string identity;
    std::condition_variable granted;
    Slot* slot = nullptr;
  };
  // Under mutex_: hands free capacity (an idle connection, or room to open one) to the waiters
  // in arrival order, skipping those at their identity's limit, and wakes each one granted.
  void dispatch();
  bool under_limit(const std::string& identity) const;
  void release(Slot* slot);
  void finish_release(Slot* slot, bool clean);  // after the cleaning: idle again, or replaced
  void cancel(Slot* slot);
  void forget_slot(Slot* slot);                     // under mutex_
  void drop_lease_of(const std::string& identity);  // under mutex_: one lease fewer for it

  pg::ConnInfo info_;
  PoolOptions options_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Slot>> slots_;  // open or opening
  std::map<std::string, int> per_identity_;  // leases held or granted, by identity
  std::list<Waiter*> queue_;                  // waiting, in arrival order
  static constexpr int kMaxCleaners = 8;
  void clean_released();                      // a cleaner thread's loop
  std::list<Slot*> to_clean_;                 // released, waiting for a cleaner
  std::condition_variable cleaning_wanted_;
  std::vector<std::thread> cleaners_;
  bool stopping_ = false;                     // ~Pool: cleaners leave once to_clean_ is empty
  bool closed_ = false;
};

// A cancel request that can arrive before, during or after a statement (a client that went
// away): cancel() sends PQcancel to the statement running on the attached lease, and a
// statement attached after cancel() is cancelled at once. Thread-safe.
class CancelSignal {
 public:
  void cancel();
  bool cancelled() const;
  void attach(Pool::Lease* lease);  // the statement starts (cancels immediately when cancelled)
  void detach();                    // the statement ended

 private:
  mutable std::mutex mutex_;
  Pool::Lease* lease_ = nullptr;
  bool cancelled_ = false;
};

}  // namespace pgshift::query
