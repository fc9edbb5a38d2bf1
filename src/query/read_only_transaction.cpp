#include "query/read_only_transaction.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace pgshift::query {
namespace {

constexpr std::string_view kBegin = "BEGIN TRANSACTION READ ONLY";

// One round trip; set_config(..., true) is SET LOCAL with a bound value. client_encoding is
// UTF8 so a LATIN1 database's text arrives converted, except on SQL_ASCII databases, where the
// server would refuse to send bytes that are not valid UTF-8 (the renderers sanitise them). Being a query, it also
// takes the transaction's snapshot: from here on `SET transaction_read_only = off` fails with
// "transaction read-write mode must be set before any query".
constexpr std::string_view kSettings = R"sql(
SELECT set_config('statement_timeout', $1, true),
       set_config('lock_timeout', $2, true),
       set_config('idle_in_transaction_session_timeout', $3, true),
       set_config('standard_conforming_strings', 'on', true),
       set_config('bytea_output', 'hex', true),
       set_config('client_encoding', CASE current_setting('server_encoding')
                                       WHEN 'SQL_ASCII' THEN current_setting('client_encoding')
                                       ELSE 'UTF8' END, true),
       set_config('application_name', CASE WHEN $4 = '' THEN current_setting('application_name')
                                      ELSE $4 END, true)
)sql";

}  // namespace

std::string setting_millis(util::Millis d) { return std::to_string(std::max<long long>(1, d.count())) + "ms"; }

ReadOnlyTransaction::ReadOnlyTransaction(pg::Connection& conn, const Options& options) : conn_(conn) {
  conn_.exec(kBegin);
  open_ = true;
  try {
    util::Millis lock = std::min(options.lock_timeout, options.timeout);
    conn_.exec(kSettings, {setting_millis(options.timeout), setting_millis(lock), setting_millis(options.idle_timeout),
                           options.application_name});
  } catch (...) {
    finish();
    throw;
  }
}

ReadOnlyTransaction::~ReadOnlyTransaction() { finish(); }

void ReadOnlyTransaction::set_statement_timeout(util::Millis timeout) {
  conn_.exec("SELECT set_config('statement_timeout', $1, true)", {setting_millis(timeout)});
}

void ReadOnlyTransaction::finish() {
  if (!open_) return;
  open_ = false;
  if (conn_.is_ok()) {
    try {
      conn_.exec("ROLLBACK");
    } catch (const std::exception& e) {
      spdlog::debug("{}: ROLLBACK failed: {}", conn_.endpoint(), e.what());
    }
  }
  if (conn_.is_ok() && PQtransactionStatus(conn_.raw()) == PQTRANS_IDLE) return;
  spdlog::debug("{}: connection not idle after the read-only transaction; reconnecting", conn_.endpoint());
  try {
    conn_.reset();
  } catch (const std::exception& e) {
    spdlog::warn("{}: could not re-establish the connection after a failed statement: {}", conn_.endpoint(),
                 e.what());
  }
}

}  // namespace pgshift::query
