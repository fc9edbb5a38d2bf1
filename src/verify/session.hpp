// Connections verify reads through, with every setting that changes a value's text form pinned
// to the same value on both sides, so the text forms that are hashed or compared are equal
// exactly when the values are:
//   TimeZone UTC, DateStyle ISO/YMD, IntervalStyle postgres, extra_float_digits 3 (shortest
//   exact floats), bytea_output hex, client_encoding UTF8, lc_monetary C, search_path
//   pg_catalog (reg* types print schema-qualified); plus default_transaction_read_only on and
//   jit off.
//
// A Pair is one connection to each side, used by one worker thread. both(f) runs
// f(connection, side) for each side at the same time (the target's on a helper thread) and
// rethrows the first error once both have finished.
#pragma once

#include <functional>
#include <future>
#include <utility>

#include "pg/connection.hpp"

namespace pgshift::verify {

// Opens a connection ("source"/"target" names it in messages) and pins the settings.
pg::Connection open_session(const pg::ConnInfo& info, const std::string& role);

enum class Side { source, target };

struct Pair {
  pg::Connection source;
  pg::Connection target;

  pg::Connection& on(Side side) { return side == Side::source ? source : target; }

  template <class F>
  auto both(F&& f) -> std::pair<decltype(f(source, Side::source)), decltype(f(source, Side::source))> {
    auto on_target = std::async(std::launch::async, [&] { return f(target, Side::target); });
    // Wait for the target even when the source fails, so nothing runs on it after we return.
    try {
      auto s = f(source, Side::source);
      return {std::move(s), on_target.get()};
    } catch (...) {
      on_target.wait();
      throw;
    }
  }
};

Pair open_pair(const pg::ConnInfo& source, const pg::ConnInfo& target);

}  // namespace pgshift::verify
