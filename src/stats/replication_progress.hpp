// Where logical replication stands, read from the publisher (source) side, and the wait that
// verify and cutover use to know the subscriber has everything up to a point ("fence on LSN").
//
// The subscriber reports the position it has flushed; PostgreSQL stores it as the slot's
// confirmed_flush_lsn. Once the publisher is idle the walsender asks for feedback, so the slot
// catches up with pg_current_wal_lsn() within about a second.
#pragma once

#include <optional>
#include <string>

#include "pg/connection.hpp"
#include "pg/lsn.hpp"
#include "util/duration.hpp"

namespace pgshift::stats {

// The publisher's WAL insert position (pg_current_wal_insert_lsn()): past every commit so far,
// including commits made with synchronous_commit = off whose WAL is not written yet (which
// pg_current_wal_lsn(), the write position, can still be behind).
pg::Lsn current_wal_lsn(pg::Connection& source);

struct SlotProgress {
  bool exists = false;
  bool active = false;
  std::optional<pg::Lsn> confirmed_flush;  // nullopt until the subscriber first confirms
  std::string wal_status;                  // reserved / extended / unreserved / lost
  std::optional<int64_t> retained_bytes;   // WAL held back for the slot
  std::optional<int64_t> safe_wal_size;    // bytes of WAL that can still be written before the slot
                                           // risks invalidation; nullopt when max_slot_wal_keep_size = -1
};

SlotProgress slot_progress(pg::Connection& source, const std::string& slot_name);

// Polls until the slot's confirmed_flush_lsn reaches `lsn`. Returns false at the deadline;
// throws RuntimeError when the slot does not exist or was invalidated (wal_status lost).
bool wait_for_slot_confirmed(pg::Connection& source, const std::string& slot_name, pg::Lsn lsn,
                             util::Millis timeout);

}  // namespace pgshift::stats
