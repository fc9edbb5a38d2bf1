// The lag fence (an LSN fence; not the write fence of src/fence): before a difference is
// believed, make sure it is not replication lag. pass() reads the source's current WAL position
// (stats::current_wal_lsn) and waits until the subscription's slot has confirmed it, so every
// transaction the source had committed is applied on the target. Without a slot (no live
// subscription, e.g. data already frozen) there is nothing to wait for and a difference is final.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "pg/connection.hpp"
#include "util/duration.hpp"

namespace pgshift::verify {

class LagFence {
 public:
  LagFence() = default;  // disabled
  LagFence(std::string slot, util::Millis timeout) : slot_(std::move(slot)), timeout_(timeout) {}

  bool enabled() const { return !slot_.empty(); }
  const std::string& slot() const { return slot_; }
  util::Millis timeout() const { return timeout_; }

  // True once the slot confirmed the source's current position; false at the deadline. After
  // one timeout every later pass returns false at once (a stopped subscription must not cost
  // a timeout per chunk). Throws RuntimeError when the slot vanished or was invalidated.
  // Safe to call from several threads.
  bool pass(pg::Connection& source) const;
  bool timed_out() const { return *timed_out_; }

 private:
  std::string slot_;
  util::Millis timeout_{60'000};
  std::shared_ptr<std::atomic<bool>> timed_out_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace pgshift::verify
