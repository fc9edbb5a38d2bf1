// Cancellation of one running tools/call. The transport's reader thread calls cancel() when
// notifications/cancelled names the request (or its client went away); the worker running the
// tool registers the connection its statement runs on for exactly as long as it runs, so
// cancel() reaches PostgreSQL as PQcancel of that statement. A cancel that arrives before the
// statement starts is remembered: running() then throws query::Cancelled, and nothing is sent.
// Thread-safe. The cancel handle is the control's own (PQgetCancel at registration), so a
// connection that query::run re-establishes meanwhile never leaves it dangling.
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "pg/connection.hpp"

namespace pgshift::mcp {

class CallControl {
 public:
  void cancel();
  bool cancelled() const { return cancelled_.load(); }

  // While the returned guard lives, cancel() cancels conn's running statement.
  class Running {
   public:
    explicit Running(CallControl& control) : control_(control) {}
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;
    ~Running();

   private:
    CallControl& control_;
  };
  [[nodiscard]] std::unique_ptr<Running> running(pg::Connection& conn);

 private:
  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;
  std::unique_ptr<PGcancel, void (*)(PGcancel*)> handle_{nullptr, PQfreeCancel};
};

}  // namespace pgshift::mcp
