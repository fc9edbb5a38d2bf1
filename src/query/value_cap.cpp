// The server-side value cap; see query/value_cap.hpp.
#include "query/value_cap.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <charconv>

namespace pgshift::query {
namespace {
constexpr Oid kByteaOid = 17;
}  // namespace

ValueCap plan_value_cap(const pg::Result& described, long long cap) {
  ValueCap out;
  const int n = described.columns();
  bool any = false;
  for (int c = 0; c < n; ++c) {
    out.columns.push_back({described.column_name(c), described.column_type(c), PQfmod(described.raw(), c), ""});
    const bool variable = PQfsize(described.raw(), c) < 0;  // varlena (-1) or cstring (-2)
    out.capped.push_back(variable);
    any = any || variable;
  }
  if (!any) {
    out.capped.assign(static_cast<size_t>(n), false);
    return out;
  }
  std::string list, aliases;
  for (int c = 0; c < n; ++c) {
    const std::string col = fmt::format("pgshift_q.c{}", c + 1);
    if (!list.empty()) list += ", ";
    if (out.capped[static_cast<size_t>(c)]) {
      const std::string size = fmt::format("octet_length({}::text)", col);
      // bytea's text is "\x" and two hex digits a byte: an even cut keeps whole bytes.
      const long long at = described.column_type(c) == kByteaOid && cap > 2 ? cap - cap % 2 : cap;
      list += fmt::format("CASE WHEN {0} <= {1} THEN {2} END, CASE WHEN {0} > {1} THEN {0} END, "
                          "CASE WHEN {0} > {1} THEN left({2}::text, {1}) END",
                          size, at, col);
    } else {
      list += col;
    }
    aliases += fmt::format("{}c{}", c ? ", " : "", c + 1);
  }
  // OFFSET 0 keeps the statement a subquery of its own (not pulled up into the wrapper), so its
  // expressions are computed once per row, not once per CASE.
  // The user text starts on the wrapper's first line (a server log line shows it with the session's
  // name); it ends before a newline, so a trailing line comment cannot swallow the wrapper's end.
  out.select_prefix = "SELECT " + list + " FROM (SELECT * FROM (";
  out.select_suffix = "\n) AS pgshift_s OFFSET 0) AS pgshift_q(" + aliases + ")";
  return out;
}

long long take_capped_row(const pg::Result& r, int i, const std::vector<bool>& capped, Result& out) {
  long long bytes = 0;
  Row row;
  row.reserve(capped.size());
  int src = 0;
  for (size_t c = 0; c < capped.size(); ++c) {
    int at = src;
    src += capped[c] ? 3 : 1;
    if (capped[c] && r.is_null(i, at)) {
      if (r.is_null(i, at + 1)) {
        row.emplace_back(std::nullopt);
        continue;
      }
      std::string_view size = r.view(i, at + 1);
      long long full = 0;
      std::from_chars(size.data(), size.data() + size.size(), full);
      out.server_cuts.push_back({out.rows.size(), c, full});
      at += 2;
    }
    if (r.is_null(i, at)) {
      row.emplace_back(std::nullopt);
    } else {
      std::string_view v = r.view(i, at);
      bytes += static_cast<long long>(v.size());
      row.emplace_back(std::string(v));
    }
  }
  out.rows.push_back(std::move(row));
  return bytes;
}

}  // namespace pgshift::query
