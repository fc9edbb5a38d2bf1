#include "query/read_only_transaction.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "pg/quote.hpp"

namespace pgshift::query {
namespace {

// BEGIN and the settings in one round trip (simple query protocol, two statements; the values
// are ours, quoted as literals). set_config(..., true) is SET LOCAL. client_encoding is UTF8 so
// a LATIN1 database's text arrives converted, except on SQL_ASCII databases, where the server
// would refuse to send bytes that are not valid UTF-8 (the renderers sanitise them). Being a
// query, the SELECT also takes the transaction's snapshot: from here on `SET
// transaction_read_only = off` fails with "transaction read-write mode must be set before any
// query". The last three columns are the CatalogState (pg_current_snapshot() is the snapshot
// of this very query).
constexpr std::string_view kBeginWithSettings = R"sql(BEGIN TRANSACTION READ ONLY;
SELECT set_config('statement_timeout', {}, true),
       set_config('lock_timeout', {}, true),
       set_config('idle_in_transaction_session_timeout', {}, true),
       set_config('standard_conforming_strings', 'on', true),
       set_config('bytea_output', 'hex', true),
       set_config('client_encoding', CASE current_setting('server_encoding')
                                       WHEN 'SQL_ASCII' THEN current_setting('client_encoding')
                                       ELSE 'UTF8' END, true),
       set_config('application_name', CASE WHEN {} = '' THEN current_setting('application_name')
                                      ELSE {} END, true),
       pg_catalog.json_build_array(pg_catalog.pg_postmaster_start_time(), pg_catalog.inet_server_addr(),
                                   pg_catalog.inet_server_port(), pg_catalog.current_database(), current_user,
                                   pg_catalog.current_schemas(true))::text,
       pg_catalog.pg_current_snapshot()::text,
       pg_catalog.pg_is_in_recovery()
)sql";

}  // namespace

std::string setting_millis(util::Millis d) { return std::to_string(std::max<long long>(1, d.count())) + "ms"; }

ReadOnlyTransaction::ReadOnlyTransaction(pg::Connection& conn, const Options& options) : conn_(conn) {
  open_ = true;  // finish() rolls back whatever part of the text ran
  try {
    util::Millis lock = std::min(options.lock_timeout, options.timeout);
    const std::string app = pg::quote_literal(options.application_name);
    pg::Result r = conn_.exec_simple(fmt::format(kBeginWithSettings, pg::quote_literal(setting_millis(options.timeout)),
                                  pg::quote_literal(setting_millis(lock)),
                                  pg::quote_literal(setting_millis(options.idle_timeout)), app, app));
    catalog_.context = r.view(0, 7);
    if (r.view(0, 9) == "f") catalog_.snapshot = r.view(0, 8);
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
