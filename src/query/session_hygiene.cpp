// clean_session(): release what a session keeps beyond its transaction, or say it can't be reused.
#include "query/session_hygiene.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <string>

#include "pg/quote.hpp"
#include "query/policy_check.hpp"

namespace pgshift::query {
namespace {

// DISCARD ALL as PostgreSQL documents it, without its DEALLOCATE ALL and DISCARD PLANS: those
// would throw away the policy lookup's prepared statement and its plan, which every statement
// needs and re-planning costs more than running it. Every other prepared statement is refused
// by kClean instead. An explicit transaction block, committed before kClean runs: UNLISTEN takes
// effect at commit (pg_listening_channels() in the same transaction still lists the channel).
constexpr std::string_view kReset =
    "BEGIN; CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; "
    "SELECT pg_catalog.pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES; COMMIT";
// What must be gone afterwards. Each of these survives ROLLBACK and would reach the next
// statement on this connection: a session advisory lock, a LISTEN, a prepared statement (but
// the lookup's own, by name and exact text: {} and {}, quoted), a cursor WITH HOLD, a temporary
// table. false means something held on (or came back), which a pooled connection must not
// carry: the caller replaces it.
constexpr std::string_view kClean = R"sql(
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_locks
                   WHERE pid = pg_catalog.pg_backend_pid() AND locktype = 'advisory')
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_listening_channels())
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_prepared_statements WHERE name <> {} OR statement <> {})
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_cursors WHERE name <> '')  -- '' is this query's own portal
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.pg_my_temp_schema())
)sql";

// kReset then kClean as one simple query: one round trip (the result is kClean's), after a
// ROLLBACK when the session is in a transaction (the simple protocol runs the texts in order:
// ROLLBACK ends the transaction block, the reset opens and commits its own, the check runs on its
// own). The values are ours, quoted as literals; both texts are made once.
const std::string& session_reset_text(bool in_transaction) {
  static const std::string reset = [] {
    const KeptStatement kept = policy_lookup_statement();
    return std::string(kReset) + ";" +
           fmt::format(kClean, pg::quote_literal(kept.name), pg::quote_literal(kept.text));
  }();
  static const std::string after_rollback = "ROLLBACK; " + reset;
  return in_transaction ? after_rollback : reset;
}

}  // namespace

bool clean_session(pg::Connection& conn) noexcept {
  try {
    if (!conn.is_ok()) return false;
    const PGTransactionStatusType status = PQtransactionStatus(conn.raw());
    if (status != PQTRANS_IDLE && status != PQTRANS_INTRANS && status != PQTRANS_INERROR) return false;
    if (conn.exec_simple(session_reset_text(status != PQTRANS_IDLE)).scalar() != "t") {
      spdlog::warn("{}: the session still holds state after the reset; replacing the connection", conn.endpoint());
      return false;
    }
    return PQtransactionStatus(conn.raw()) == PQTRANS_IDLE;
  } catch (const std::exception& e) {
    spdlog::debug("session hygiene failed on {}: {}", conn.endpoint(), e.what());
    return false;
  }
}

}  // namespace pgshift::query
