#include "verify/lag_fence.hpp"

#include <spdlog/spdlog.h>

#include "stats/replication_progress.hpp"

namespace pgshift::verify {

bool LagFence::pass(pg::Connection& source) const {
  if (!enabled() || *timed_out_) return false;
  pg::Lsn lsn = stats::current_wal_lsn(source);
  bool ok = stats::wait_for_slot_confirmed(source, slot_, lsn, timeout_);
  spdlog::debug("fence at {} on slot {}: {}", lsn.to_string(), slot_, ok ? "confirmed" : "timed out");
  if (!ok) *timed_out_ = true;
  return ok;
}

}  // namespace pgshift::verify
