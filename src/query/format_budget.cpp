// Cutting values to a result's byte budget; see query/format_budget.hpp.
#include "query/format_budget.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <map>
#include <utility>

#include "query/value.hpp"
#include "util/utf8.hpp"

namespace pgshift::query {
namespace {

// The longest prefix of value no longer than limit that ends on a whole character (text) or a
// whole byte ("\x" then pairs of hex digits: bytea).
size_t cut_point(const std::string& value, size_t limit, TypeClass type) {
  if (limit >= value.size()) return value.size();
  if (type == TypeClass::bytea && value.starts_with("\\x")) {
    if (limit < 2) return 0;
    return limit - (limit - 2) % 2;
  }
  size_t at = limit;
  // Back off from the middle of a multi-byte sequence (continuation bytes are 10xxxxxx).
  while (at > 0 && (static_cast<unsigned char>(value[at]) & 0xC0) == 0x80) --at;
  return at;
}

}  // namespace

std::vector<CutValue> fit_to_budget(Result& result, long long max_bytes) {
  std::vector<CutValue> cuts;
  const size_t budget = max_bytes > 0 ? static_cast<size_t>(max_bytes) : 0;
  size_t used = 0;
  // Values the server already cut (query/value_cap.hpp): listed with their full size.
  std::map<std::pair<size_t, size_t>, size_t> server;
  for (const ServerCut& s : result.server_cuts) server[{s.row, s.column}] = static_cast<size_t>(s.bytes);
  auto full_size = [&server](size_t r, size_t c, size_t held) {
    auto it = server.find({r, c});
    return it == server.end() ? held : it->second;
  };
  for (size_t r = 0; r < result.rows.size(); ++r) {
    Row& row = result.rows[r];
    bool crossed = false;
    for (size_t c = 0; c < row.size(); ++c) {
      if (!row[c]) continue;
      std::string& v = *row[c];
      if (used + v.size() <= budget) {
        used += v.size();
        if (server.contains({r, c})) {
          cuts.push_back({r, c, full_size(r, c, v.size()), v.size()});
          result.truncated = true;
          if (result.truncated_by == Truncation::none) result.truncated_by = Truncation::bytes;
        }
        continue;
      }
      const TypeClass type = c < result.columns.size() ? type_class(result.columns[c].type_oid) : TypeClass::text;
      const size_t kept = cut_point(v, budget - used, type);
      cuts.push_back({r, c, full_size(r, c, v.size()), kept});
      v.resize(kept);
      v.shrink_to_fit();
      used = budget;
      crossed = true;
    }
    if (crossed) {
      if (r + 1 < result.rows.size()) {
        result.rows.resize(r + 1);
        result.rows.shrink_to_fit();
      }
      result.truncated = true;
      if (result.truncated_by == Truncation::none) result.truncated_by = Truncation::bytes;
      break;
    }
  }
  return cuts;
}

nlohmann::ordered_json cuts_json(const Result& result, const std::vector<CutValue>& cuts) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const CutValue& c : cuts) {
    out.push_back({{"row", c.row},
                   {"column", c.column < result.columns.size() ? util::sanitize_utf8(result.columns[c.column].name) : ""},
                   {"bytes", c.bytes},
                   {"kept", c.kept}});
  }
  return out;
}

std::string describe_cuts(const std::vector<CutValue>& cuts, long long max_bytes) {
  if (cuts.empty()) return "";
  const CutValue& first = cuts.front();
  return fmt::format("{} value{} cut to fit the {}-byte budget (row {}, {} bytes, {} kept)", cuts.size(),
                     cuts.size() == 1 ? "" : "s", max_bytes, first.row + 1, first.bytes, first.kept);
}

}  // namespace pgshift::query
