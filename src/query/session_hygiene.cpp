// clean_session(): release what a session keeps beyond its transaction, or say it can't be reused.
#include "query/session_hygiene.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace pgshift::query {
namespace {

constexpr std::string_view kUnlockAll = "SELECT pg_advisory_unlock_all()";
// DISCARD ALL cannot run inside a transaction block; the caller's transaction is over by now.
constexpr std::string_view kDiscardAll = "DISCARD ALL";

}  // namespace

bool clean_session(pg::Connection& conn) noexcept {
  try {
    if (!conn.is_ok() || PQtransactionStatus(conn.raw()) != PQTRANS_IDLE) return false;
    conn.exec(kUnlockAll);
    conn.exec(kDiscardAll);
    return PQtransactionStatus(conn.raw()) == PQTRANS_IDLE;
  } catch (const std::exception& e) {
    spdlog::debug("session hygiene failed on {}: {}", conn.endpoint(), e.what());
    return false;
  }
}

}  // namespace pgshift::query
