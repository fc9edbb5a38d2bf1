// The drill's assertions on the restored server against live: schema fingerprint (and the
// catalog diff naming what differs), exact row counts within a tolerance, the marker row, and
// the RPO evidence (the newest commit the restore replayed).
#pragma once

#include <string>

#include "backup/drill.hpp"
#include "catalog/catalog.hpp"
#include "pg/connection.hpp"

namespace pgshift::backup {

// A 16-hex-digit hash of every user table's catalog::fingerprint, enum labels and sequences.
std::string schema_fingerprint(const catalog::Snapshot& snapshot);

// Differences named as a person reads them: "table public.t missing from the restore", ...
std::vector<std::string> describe_differences(const catalog::SchemaDiff& diff);

// Whether restored is within tolerance (a fraction) of live.
bool count_within(int64_t live, int64_t restored, double tolerance);

// Fills report.schema_*, tables, skipped_tables, marker_found, newest_restored_commit,
// recovery_end_lsn and rpo_s.
void run_checks(pg::Connection& live, pg::Connection& restored, double tolerance, DrillReport& report);

}  // namespace pgshift::backup
