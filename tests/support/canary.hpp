// The canary database of the read-only tests: a small schema with tables, a view, a materialized
// view, a sequence, a procedure and functions that write, a large object and dblink; and a
// checksum of everything a write could change (rows, sequences, catalogs, locks, sessions,
// statistics resets), by name, so a failure says what changed.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "pg/connection.hpp"

namespace pgshift::testing {

// Run as a superuser in an empty database (run_sql splits it).
extern const std::string_view kCanarySchema;

using Checksum = std::map<std::string, std::string>;

// with_xid adds the next transaction id (changes when anything at all was written).
Checksum checksum(pg::Connection& conn, bool with_xid);

// What changed from before to after, one line per entry.
std::string diff(const Checksum& before, const Checksum& after);

}  // namespace pgshift::testing
