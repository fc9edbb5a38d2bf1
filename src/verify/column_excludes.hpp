// `--exclude-column schema.table.column`: columns an operator leaves out of the comparison on
// purpose (a column the target computes differently, say). Each is checked against the source
// catalog, recorded in the report of its table and printed, so a "match" says what it did not
// look at.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "catalog/model.hpp"

namespace pgshift::verify {

using ColumnExcludes = std::map<catalog::TableRef, std::set<std::string>>;

// Parses and checks each text against the source. Throws UsageError (naming the flag and the
// text) for a text that is not schema.table.column or names no column of a source table.
ColumnExcludes resolve_column_excludes(const std::vector<std::string>& texts, const catalog::Snapshot& source);

}  // namespace pgshift::verify
