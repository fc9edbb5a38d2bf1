#include "pg/transaction.hpp"

#include <spdlog/spdlog.h>

namespace pgshift::pg {

Transaction::Transaction(Connection& conn, std::string_view begin_sql) : conn_(conn) {
  conn_.exec(begin_sql);
  active_ = true;
}

Transaction::~Transaction() {
  if (!active_) return;
  try {
    conn_.exec("ROLLBACK");
  } catch (const std::exception& e) {
    // The connection may be broken; the server rolls back when it goes away.
    spdlog::debug("rollback failed: {}", e.what());
  }
}

void Transaction::commit() {
  active_ = false;
  conn_.exec("COMMIT");
}

void Transaction::rollback() {
  active_ = false;
  conn_.exec("ROLLBACK");
}

}  // namespace pgshift::pg
