// Steps every drill takes, wherever the restore runs: the marker on live (written, committed,
// its WAL segment switched out and archived), the verdict from the checks, the notification.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "backup/drill.hpp"
#include "pg/connection.hpp"
#include "util/error.hpp"

namespace pgshift::backup {

using Clock = std::chrono::steady_clock;

// A drill that ran and found a problem (exit 1), as opposed to one that could not run (exit 3).
struct DrillFailed : RuntimeError {
  using RuntimeError::RuntimeError;
};

double seconds_since(Clock::time_point t);

// Writes the marker (fills marker_*), switches WAL and waits until the archiver has archived the
// marker's segment. DrillFailed at the deadline or when interrupted; SqlError when it cannot write.
void write_marker(pg::Connection& live, DrillReport& r, Clock::time_point deadline,
                  const std::function<void(const std::string&)>& progress);

// Sets passed and reason from the checks run_checks() filled in.
void conclude(DrillReport& r, double tolerance);

// Runs command with /bin/sh on a failed drill, the JSON report on stdin; problems go to stderr.
void notify(const std::string& command, const DrillReport& r);

}  // namespace pgshift::backup
