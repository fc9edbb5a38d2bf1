// The transaction every gated statement runs in: BEGIN READ ONLY, then the SET LOCAL settings
// of query/query.hpp item 2 in one set_config query (in the same round trip), and ROLLBACK at the end,
// always. It runs no user text itself: query::run() does, inside it. The tests use it directly
// to show what would stop a statement that got past the gate.
//
// The same round trip reports what the catalog check may key reused answers on (CatalogState).
//
// The destructor never throws. It rolls back; when the connection broke (a timeout that killed
// the session, a terminated backend) or is not idle afterwards, it re-establishes it with
// pg::Connection::reset(), logging (not throwing) if that fails.
#pragma once

#include "pg/connection.hpp"
#include "query/query.hpp"

namespace pgshift::query {

// Where and when the transaction reads the catalog, from its first query:
//   context   the server (postmaster start time, address, port), database, user and
//             current_schemas(true), as one JSON array: what a catalog answer may depend on
//             besides the catalog's rows;
//   snapshot  pg_current_snapshot() of that query: two snapshots that are equal see exactly
//             the same committed rows (a catalog change needs a transaction id, and its commit
//             moves xmax or leaves the in-progress list). Empty when equality proves nothing: on a
//             standby (its snapshots do not list running transactions).
struct CatalogState {
  std::string context;
  std::string snapshot;
};

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

  // Ends this object's hold without rolling back: the transaction stays open on the connection
  // for its pool, whose release rolls it back with the session reset (clean_session(), which
  // accepts a connection in a transaction). Only for a pooled connection; never throws.
  void leave_open() noexcept { open_ = false; }

  const CatalogState& catalog_state() const { return catalog_; }

 private:
  pg::Connection& conn_;
  bool open_ = false;
  CatalogState catalog_;
};

// "1500ms": a duration as a PostgreSQL setting value.
std::string setting_millis(util::Millis d);

}  // namespace pgshift::query
