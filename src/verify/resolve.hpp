// What happens to a range whose checksums differ: fence-and-recheck, bisection, and the keys.
//
//   1. Recheck: with the lag fence (lag_fence.hpp), wait until the target has applied everything the
//      source had committed, then hash the range again on both sides (up to twice). A match
//      means the difference was replication lag.
//   2. Bisect: split the range at `fanout` evenly spaced keys (ranked by the server on the side
//      with more rows), hash the parts on both sides in one grouped query each, and descend
//      into the parts that differ, down to ranges of at most `leaf_rows` rows, whose rows are
//      read by key and row hash. Key-scan tables read the differing chunks' rows directly
//      (a range query there costs a full scan, so halving would cost more than reading).
//   3. Confirm: read the candidate keys again, column by column (naming the columns that
//      differ). With a fence: source first, then fence, then target, so the target has applied
//      at least what the source showed; a key still differing after 3 rounds is reported.
//      Rows that keep changing on the source are the only false positives left, and only if
//      they change in every round.
// The search stops collecting candidates at explore_keys; the report then says the total is a
// lower bound. Key-less tables: after the recheck, rows are grouped by row hash in 4096
// buckets, the differing buckets' rows are compared by content and copies, and (with a fence)
// those rows are read again by hash in the same source-fence-target order.
#pragma once

#include <string>
#include <vector>

#include "verify/diff.hpp"
#include "verify/lag_fence.hpp"
#include "verify/session.hpp"
#include "verify/table_plan.hpp"
#include "verify/types.hpp"

namespace pgshift::verify {

struct Limits {
  size_t max_keys = 100;      // differences kept for the report, per table
  size_t explore_keys = 1000; // candidates collected before the search stops
  int64_t leaf_rows = 1000;   // a range this small is compared row by row
  int fanout = 16;            // parts per bisection step
  int rechecks = 2;           // fenced re-hashes of a range
  int confirm_rounds = 3;     // fenced re-reads of candidate keys
};

struct Findings {
  std::vector<Difference> differences;  // confirmed, at most max_keys, in key order
  int64_t total = 0;                    // rows found different (key-less: surplus copies)
  bool exact = true;                    // false when the search stopped at explore_keys
  int rechecks = 0;                     // fenced re-hashes done
  bool cleared_by_recheck = false;      // a fenced re-hash matched: it was lag
  bool fenced = false;                  // the lag fence passed at least once (rows may have moved)
  std::vector<std::string> notes;
  bool mismatch() const { return total > 0; }
};

class Resolver {
 public:
  Resolver(Pair& pair, const TablePlan& plan, const LagFence& fence, const Limits& limits, Mode mode);

  // key_ranges: one chunk whose aggregates were s and t.
  Findings range(const Range& chunk, const Agg& s, const Agg& t);
  // key_scan: the buckets (over bounds, whole table) that differed, and every bucket's aggregates.
  Findings buckets(const std::vector<Key>& bounds, std::vector<int> mismatching, std::vector<Agg> source,
                   std::vector<Agg> target);
  // whole-table (no key).
  Findings whole(const Agg& s, const Agg& t);

 private:
  const SideSql& sql(Side side) const { return side == Side::source ? plan_.source : plan_.target; }
  bool fence_usable() const { return fence_.enabled() && !fence_failed_; }
  bool pass_fence(Findings& f);
  // Fenced re-hashes of r; true when they matched. s and t become the latest aggregates.
  bool recheck(const Range& r, Agg& s, Agg& t, Findings& f);
  void bisect(const Range& r, const Agg& s, const Agg& t, std::vector<Difference>& candidates, Findings& f);
  void leaf(const Range& r, const std::vector<Key>& bounds, const std::vector<int>& wanted,
            std::vector<Difference>& candidates);
  void confirm(const std::vector<Difference>& candidates, Findings& f);
  std::pair<RowTerms, RowTerms> read_keys(const std::vector<Key>& keys, bool fenced, Findings& f);

  Pair& pair_;
  const TablePlan& plan_;
  const LagFence& fence_;
  Limits limits_;
  Mode mode_;
  bool fence_failed_ = false;
};

}  // namespace pgshift::verify
