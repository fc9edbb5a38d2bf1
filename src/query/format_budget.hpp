// Keeping a result inside a byte budget when one value alone is larger than it. The engine
// stops fetching once max_bytes of values arrived and cuts a query's values longer than max_bytes
// on the server (query/value_cap.hpp), but the row that crossed the budget still holds up to
// max_bytes per value (and EXPLAIN/SHOW values come whole). fit_to_budget() is what every surface
// applies before it renders, with its own budget (at most the engine's):
//
//   - values are counted in row order; the value that crosses the budget is cut to what is left
//     of it (on a UTF-8 character boundary; bytea text keeps whole bytes), the values after it in
//     its row are cut to nothing, and the rows after it are dropped (truncated, by bytes);
//   - a value the server already cut (Result::server_cuts) is listed with its full size even
//     when what arrived fits (the result is marked truncated, by bytes);
//   - a cut value's memory is released (the surface's peak is the budget, not the value);
//   - every cut is listed (row, column, bytes before, bytes kept), so the surface says so:
//     MCP and the console's JSON as "cut_values", exports as the X-Pgshift-Cut-Values header.
// A cut json/jsonb value is no longer JSON: the json format shows it as a string.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <vector>

#include "query/query.hpp"

namespace pgshift::query {

struct CutValue {
  size_t row = 0;
  size_t column = 0;
  size_t bytes = 0;  // the value's size as the server sent it
  size_t kept = 0;   // bytes left after the cut
};

// Cuts result's values to max_bytes in total (see above); returns the cuts, in row order.
std::vector<CutValue> fit_to_budget(Result& result, long long max_bytes);

// [{"row": 0, "column": "repeat", "bytes": 300000000, "kept": 262144}, ...]
nlohmann::ordered_json cuts_json(const Result& result, const std::vector<CutValue>& cuts);

// "1 value cut to fit 256 KiB (300000000 bytes → 262144)" — one line for a status or a header.
std::string describe_cuts(const std::vector<CutValue>& cuts, long long max_bytes);

}  // namespace pgshift::query
