// Session hygiene for connections that are reused (the console's and MCP server's pools): what a
// session can keep after its transaction rolled back must be released before the connection
// serves the next statement. A session-level advisory lock survives ROLLBACK; so do prepared
// statements, LISTEN registrations, temporary tables, session settings (DISCARD ALL clears them).
//
// clean_session() runs pg_advisory_unlock_all(), then DISCARD ALL outside any transaction. It
// returns false (and never throws) when the connection is broken, not idle, or either step
// failed: the caller must then replace the connection rather than reuse it.
#pragma once

#include "pg/connection.hpp"

namespace pgshift::query {

bool clean_session(pg::Connection& conn) noexcept;

}  // namespace pgshift::query
