// The transaction every gated statement runs in: BEGIN READ ONLY, then the SET LOCAL settings
// of query/query.hpp item 2 in one set_config query (in the same round trip), and ROLLBACK at the end,
// always. It runs no user text itself: query::run() does, inside it. The tests use it directly
// to show what would stop a statement that got past the gate.
//
// The destructor never throws. It rolls back; when the connection broke (a timeout that killed
// the session, a terminated backend) or is not idle afterwards, it re-establishes it with
// pg::Connection::reset(), logging (not throwing) if that fails.
#pragma once

#include "pg/connection.hpp"
#include "query/query.hpp"

namespace pgshift::query {

class ReadOnlyTransaction {
 public:
  ReadOnlyTransaction(pg::Connection& conn, const Options& options);
  ReadOnlyTransaction(const ReadOnlyTransaction&) = delete;
  ReadOnlyTransaction& operator=(const ReadOnlyTransaction&) = delete;
  ~ReadOnlyTransaction();

  // Changes statement_timeout for the statements that follow (the time left of a deadline).
  void set_statement_timeout(util::Millis timeout);

  // Rolls back now (and repairs the connection if needed). Idempotent; never throws.
  void finish();

 private:
  pg::Connection& conn_;
  bool open_ = false;
};

// "1500ms": a duration as a PostgreSQL setting value.
std::string setting_millis(util::Millis d);

}  // namespace pgshift::query
