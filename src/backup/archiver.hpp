// The live server's WAL archiving: pg_stat_archiver, archive_mode and wal_segment_size, judged
// against a maximum age of the last archival.
#pragma once

#include "backup/inventory.hpp"
#include "pg/connection.hpp"

namespace pgshift::backup {

ArchiverStatus read_archiver(pg::Connection& conn, util::Millis max_archive_age);

// Judges a status already read (sets verdict and problems); separate for the unit tests.
void judge_archiver(ArchiverStatus& status, util::Millis max_archive_age);

}  // namespace pgshift::backup
