// The LSN fence: before a difference is believed, make sure it is not replication lag. pass()
// reads the source's pg_current_wal_lsn() and waits until the subscription's slot has
// confirmed it, so every transaction the source had committed is applied on the target.
// Without a slot (no live subscription, e.g. data already frozen) there is nothing to wait for
// and a difference is final.
#pragma once

#include <string>

#include "pg/connection.hpp"
#include "util/duration.hpp"

namespace pgshift::verify {

class Fence {
 public:
  Fence() = default;  // disabled
  Fence(std::string slot, util::Millis timeout) : slot_(std::move(slot)), timeout_(timeout) {}

  bool enabled() const { return !slot_.empty(); }
  const std::string& slot() const { return slot_; }
  util::Millis timeout() const { return timeout_; }

  // True once the slot confirmed the source's current position; false at the deadline.
  // Throws RuntimeError when the slot vanished or was invalidated.
  bool pass(pg::Connection& source) const;

 private:
  std::string slot_;
  util::Millis timeout_{60'000};
};

}  // namespace pgshift::verify
