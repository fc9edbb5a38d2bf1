// Which tables a verify run compares, and which it reports as skipped (pure).
#pragma once

#include <vector>

#include "catalog/catalog.hpp"
#include "verify/report.hpp"

namespace pgshift::verify {

struct Selection {
  std::vector<catalog::TableRef> compare;  // sorted
  std::vector<TableReport> skipped;        // status skipped (source-only: mismatch), with the reason
};

// The replicated tables (catalog::select_tables with the migration's excludes) matching
// `patterns` (all when empty). Left-out tables matching the patterns are skipped with their
// reason; partitions only when a pattern names them (their root covers them otherwise). A table
// on the source only that is not excluded is a mismatch (the migration would leave it behind),
// skipped only with allow_source_only (cutover's --allow-missing-tables).
// Throws UsageError naming a pattern that matches no table on either side.
Selection choose_tables(const catalog::Snapshot& source, const catalog::Snapshot& target,
                        const std::vector<catalog::TablePattern>& excludes,
                        const std::vector<catalog::TablePattern>& patterns, bool allow_source_only = false);

}  // namespace pgshift::verify
