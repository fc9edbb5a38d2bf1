// Steps every drill takes, wherever the restore runs: the marker on live (written, committed,
// its WAL segment switched out and archived), the verdict from the checks, the notification.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "backup/drill.hpp"
#include "pg/connection.hpp"
#include "backup/drill_checks.hpp"
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

// run_checks(), timed into checks_s, then check_pages (the restored data itself, timed into
// integrity_s) when given, then conclude().
void check_restore(pg::Connection& live, pg::Connection& restored, double tolerance, DrillReport& r,
                   const std::function<void()>& check_pages = {});

// The error that ended a drill: its redacted message becomes the reason.
void record_error(DrillReport& r, const std::exception& e, bool could_not_run);

// A drill that passed while SIGINT/SIGTERM arrived is reported as interrupted.
void mark_interrupted(DrillReport& r);

// Runs command with /bin/sh on a failed drill, the JSON report on stdin; problems go to stderr.
void notify(const std::string& command, const DrillReport& r);

}  // namespace pgshift::backup
