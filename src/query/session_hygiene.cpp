// clean_session(): release what a session keeps beyond its transaction, or say it can't be reused.
#include "query/session_hygiene.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace pgshift::query {
namespace {

// DISCARD ALL cannot run inside a transaction block; the caller's transaction is over by now.
// It includes pg_advisory_unlock_all() (and UNLISTEN *, DEALLOCATE ALL, CLOSE ALL, DISCARD
// TEMP), so one round trip releases everything; kClean then proves it.
constexpr std::string_view kDiscardAll = "DISCARD ALL";
// What must be gone afterwards. Each of these survives ROLLBACK and would reach the next
// statement on this connection: a session advisory lock, a LISTEN, a prepared statement, a
// cursor WITH HOLD, a temporary table. false means something held on (or came back), which a
// pooled connection must not carry: the caller replaces it.
constexpr std::string_view kClean = R"sql(
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_locks
                   WHERE pid = pg_catalog.pg_backend_pid() AND locktype = 'advisory')
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_listening_channels())
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_prepared_statements)
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_cursors WHERE name <> '')  -- '' is this query's own portal
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.pg_my_temp_schema())
)sql";

}  // namespace

bool clean_session(pg::Connection& conn) noexcept {
  try {
    if (!conn.is_ok() || PQtransactionStatus(conn.raw()) != PQTRANS_IDLE) return false;
    conn.exec(kDiscardAll);
    if (conn.exec(kClean).scalar() != "t") {
      spdlog::warn("{}: the session still holds state after DISCARD ALL; replacing the connection", conn.endpoint());
      return false;
    }
    return PQtransactionStatus(conn.raw()) == PQTRANS_IDLE;
  } catch (const std::exception& e) {
    spdlog::debug("session hygiene failed on {}: {}", conn.endpoint(), e.what());
    return false;
  }
}

}  // namespace pgshift::query
