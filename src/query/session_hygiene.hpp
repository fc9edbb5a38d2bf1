// Session hygiene for connections that are reused (the console's and MCP server's pools): what a
// session can keep after its transaction rolled back must be released before the connection
// serves the next statement. A session-level advisory lock survives ROLLBACK; so do prepared
// statements, LISTEN registrations, temporary tables, session settings.
//
// clean_session() rolls back the transaction the connection is in, if any (a read-only
// transaction query::run() left to the pool, Options::leave_to_pool), then runs what DISCARD ALL runs (CLOSE ALL, SET SESSION
// AUTHORIZATION DEFAULT, RESET ALL, UNLISTEN *, pg_advisory_unlock_all(), DISCARD TEMP and
// SEQUENCES) but for dropping prepared statements and plans, then checks that the backend holds
// nothing of that kind any more (advisory locks, LISTEN channels, cursors, temporary tables,
// prepared statements other than the policy lookup's own, matched by name and exact text), both
// in one round trip. It
// returns false (and never throws) when the connection is broken, busy (a statement still
// running or a COPY), either step failed, or the check found state left: the caller must then replace the
// connection rather than reuse it.
#pragma once

#include <string>

#include "pg/connection.hpp"

namespace pgshift::query {

bool clean_session(pg::Connection& conn) noexcept;

}  // namespace pgshift::query
