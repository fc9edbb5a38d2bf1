// Session hygiene for connections that are reused (the console's and MCP server's pools): what a
// session can keep after its transaction rolled back must be released before the connection
// serves the next statement. A session-level advisory lock survives ROLLBACK; so do prepared
// statements, LISTEN registrations, temporary tables, session settings (DISCARD ALL clears them).
//
// clean_session() runs DISCARD ALL outside any transaction (it includes pg_advisory_unlock_all()), then
// checks that the backend holds nothing of that kind any more (advisory locks, LISTEN channels,
// prepared statements, cursors, temporary tables). It returns false (and never throws) when the
// connection is broken, not idle (a transaction left open), either step failed, or the check
// found state left: the caller must then replace the connection rather than reuse it.
#pragma once

#include "pg/connection.hpp"

namespace pgshift::query {

bool clean_session(pg::Connection& conn) noexcept;

}  // namespace pgshift::query
