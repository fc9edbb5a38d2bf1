// Connections verify reads through, with every setting that changes a value's text form pinned
// to the same value on both sides, so the text forms that are hashed or compared are equal
// exactly when the values are:
//   TimeZone UTC, DateStyle ISO/YMD, IntervalStyle postgres, extra_float_digits 3 (shortest
//   exact floats), bytea_output hex, client_encoding UTF8, lc_monetary C, search_path
//   pg_catalog (reg* types print schema-qualified); plus default_transaction_read_only on and
//   jit off, and row_security off: a table whose rows a policy would hide from the role is an
//   error naming it (the role needs BYPASSRLS, superuser, or ownership without FORCE), never a
//   comparison of what the policy lets through.
//
// Parallel query is off (max_parallel_workers_per_gather 0): verify's parallelism is its pool
// of connections (--jobs), so the load it puts on a server is what the operator chose.
//
// A Session is one such connection and the planner settings that change per query
// (enable_seqscan and enable_indexscan, see Query::index_range). A Pair is a session to each side, used by one
// worker thread. both(f) runs f(session, side) for each side at the same time (the target's
// on a helper thread) and rethrows the first error once both have finished.
#pragma once

#include <functional>
#include <optional>
#include <future>
#include <utility>

#include "pg/connection.hpp"
#include "verify/sql.hpp"

namespace pgshift::verify {

// Opens a connection ("source"/"target" names it in messages) and pins the settings.
pg::Connection open_session(const pg::ConnInfo& info, const std::string& role);

enum class Side { source, target };

class Session {
 public:
  explicit Session(pg::Connection conn) : conn_(std::move(conn)) {}
  pg::Result run(const Query& q);
  pg::Connection& conn() { return conn_; }
  const pg::Connection& conn() const { return conn_; }

 private:
  pg::Connection conn_;
  bool ranged_ = false;  // enable_seqscan and enable_indexscan are off
};

struct Pair {
  Session source;
  Session target;

  Session& on(Side side) { return side == Side::source ? source : target; }
  bool is_ok() const;

  template <class F>
  auto both(F&& f) -> std::pair<decltype(f(source, Side::source)), decltype(f(source, Side::source))> {
    auto on_target = std::async(std::launch::async, [&] { return f(target, Side::target); });
    using R = decltype(f(source, Side::source));
    std::optional<R> s;
    try {
      s.emplace(f(source, Side::source));
    } catch (...) {
      // Wait for the target, so nothing runs on it after we return; the source's error wins.
      on_target.wait();
      throw;
    }
    return {std::move(*s), on_target.get()};
  }
};

Pair open_pair(const pg::ConnInfo& source, const pg::ConnInfo& target);

}  // namespace pgshift::verify
