// Where a subscription stands, read from the subscriber (target) side: whether it is enabled
// and its apply worker runs, the error counters, and each table's synchronization state with
// the bytes its initial copy has done so far.
//
// Table states (pg_subscription_rel.srsubstate): i init (waiting for a copy worker),
// d copying, f copy finished (14+), s synchronized (caught up with the apply worker),
// r ready (replicated by the apply worker).
// Works on PostgreSQL 13–17: copy progress needs 14 (pg_stat_progress_copy), error counters 15
// (pg_stat_subscription_stats); older servers leave those fields empty.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg/connection.hpp"
#include "pg/lsn.hpp"

namespace pgshift::stats {

struct SubscriptionTable {
  std::string schema;
  std::string name;
  char state = 'i';
  std::optional<int64_t> copy_bytes;        // bytes_processed of the running COPY, while copying
  std::optional<int64_t> copy_bytes_total;  // 0/absent when unknown (a streamed COPY has no total)
  std::optional<int64_t> copy_tuples;
};

struct SubscriptionProgress {
  bool exists = false;
  uint32_t oid = 0;
  bool enabled = false;
  std::string slot_name;
  std::optional<int> apply_pid;              // set while the apply worker runs
  int sync_workers = 0;                      // table-synchronization workers running
  std::optional<double> last_message_age;    // seconds since the apply worker received anything
  std::optional<double> last_report_age;     // seconds since it last reported its position
  std::optional<pg::Lsn> latest_end_lsn;     // the position it last reported to the publisher
  std::optional<int64_t> apply_error_count;  // PostgreSQL 15+
  std::optional<int64_t> sync_error_count;   // PostgreSQL 15+
  std::vector<SubscriptionTable> tables;     // sorted by schema, name
};

// Reads the subscription `name` of the current database; exists is false when there is none.
SubscriptionProgress subscription_progress(pg::Connection& target, const std::string& name);

// "init", "copying", "synced", "ready" (d and f are both "copying"); "unknown" otherwise.
std::string table_state_name(char state);

}  // namespace pgshift::stats
