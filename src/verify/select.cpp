#include "verify/select.hpp"

#include <fmt/format.h>

#include "util/error.hpp"

namespace pgshift::verify {

Selection choose_tables(const catalog::Snapshot& source, const catalog::Snapshot& target,
                        const std::vector<catalog::TablePattern>& excludes,
                        const std::vector<catalog::TablePattern>& patterns, bool allow_source_only) {
  catalog::TableSelection sel = catalog::select_tables(source, target, excludes);
  for (const auto& p : patterns) {
    bool hit = false;
    for (const auto& r : sel.replicated) hit = hit || p.matches(r);
    for (const auto& lo : sel.left_out) hit = hit || p.matches(lo.table);
    if (!hit) {
      throw UsageError(fmt::format("--tables {}: matches no table on the source or the target", p.text()));
    }
  }
  auto wanted = [&](const catalog::TableRef& r) { return patterns.empty() || catalog::matches_any(patterns, r); };
  Selection out;
  for (const auto& r : sel.replicated) {
    if (wanted(r)) out.compare.push_back(r);
  }
  for (const auto& lo : sel.left_out) {
    if (!wanted(lo.table)) continue;
    if (lo.reason == catalog::LeftOutReason::via_root && patterns.empty()) continue;
    TableReport t;
    t.table = lo.table;
    t.status = TableStatus::skipped;
    t.reason = catalog::explain(lo.reason) + (lo.detail.empty() ? "" : " (" + lo.detail + ")");
    if (lo.reason == catalog::LeftOutReason::source_only && !allow_source_only) {
      // The migration would leave its rows behind: a difference, unless excluded.
      t.status = TableStatus::mismatch;
      t.reason = "exists on the source only: the migration would leave it behind; create it on the target or "
                 "--exclude it";
    }
    out.skipped.push_back(std::move(t));
  }
  return out;
}

}  // namespace pgshift::verify
