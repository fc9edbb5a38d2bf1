// Cutting huge values on the server, before libpq holds them (issue #23 item 5). libpq keeps a
// whole row in memory, so one 300 MB value cost pgshift ~1 GB whatever the byte budget. A query
// with columns of variable length (text, bytea, json, arrays, ...: PQfsize < 0) is therefore
// read through a wrapper:
//
//   SELECT <per column> FROM (SELECT * FROM (<user statement>) AS pgshift_s OFFSET 0)
//     AS pgshift_q(c1, c2, ...)
//
// where a fixed-length column passes as it is and a variable-length column k becomes three:
//   CASE WHEN octet_length(ck::text) <= cap THEN ck END          -- the value, untouched, when small
//   CASE WHEN octet_length(ck::text) >  cap THEN octet_length(ck::text) END   -- its full size
//   CASE WHEN octet_length(ck::text) >  cap THEN left(ck::text, cap) END      -- its first cap characters
// so a value is never bigger than 4 * cap bytes (cap characters of UTF-8) on the wire. (OFFSET 0
// computes the statement's row once; a column that is not text is still converted to text by
// each CASE that asks.) Values that
// fit come in the column's own type and output format, as without the wrapper. The positional
// alias list keeps duplicate and unnamed columns working; the user's names and types are taken
// from the statement's description. The user's text is followed by a newline, so its trailing
// line comment cannot swallow the wrapper's end.
#pragma once

#include <string>
#include <vector>

#include "pg/result.hpp"
#include "query/query.hpp"

namespace pgshift::query {

struct ValueCap {
  std::vector<Column> columns;  // the user's columns, from the description (type_name still empty)
  std::vector<bool> capped;     // per column: read as three wrapper columns (see above)
  std::string select_prefix;    // "SELECT ... FROM (SELECT * FROM (\n"; empty: no column needs a cap
  std::string select_suffix;    // "\n) AS pgshift_s OFFSET 0) AS pgshift_q(c1, ...)"
  bool wrapped() const { return !select_prefix.empty(); }
};

// The wrapper for a statement described by `described` (query/pipeline.hpp describe_unnamed),
// cutting values at `cap` characters (cap >= 1).
ValueCap plan_value_cap(const pg::Result& described, long long cap);

// Appends row i of a FETCH over the wrapper (or over the plain statement when !cap.wrapped(),
// then capped is all false) to out.rows as the user's columns; a value cut on the server is
// recorded in out.server_cuts. Returns the value bytes appended.
long long take_capped_row(const pg::Result& r, int i, const std::vector<bool>& capped, Result& out);

}  // namespace pgshift::query
