// The canary database of the read-only tests (the query engine's corpus test, the MCP server's
// bypass test): tables, views, sequences, functions with side effects, a large object; and a
// checksum of everything a statement that escaped the read-only window could change, by name,
// so a failure says what changed.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "pg/connection.hpp"

namespace pgshift::testing {

// Needs the dblink extension (contrib). Run with run_sql() as a superuser on an empty database.
extern const std::string_view kCanarySchema;

using Checksum = std::map<std::string, std::string>;

// with_xid adds the next transaction id (nothing may even have taken one).
Checksum checksum(pg::Connection& conn, bool with_xid);

// "  table x: a -> b" lines for what differs.
std::string diff(const Checksum& before, const Checksum& after);

}  // namespace pgshift::testing
