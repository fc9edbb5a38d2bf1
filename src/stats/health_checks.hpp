// The `health` report's pure part: which finding codes make up each check, and how the findings
// of the other reports combine into one report (facts counting them, a checks section with each
// check's status, the findings themselves most severe first). No I/O.
#pragma once

#include <string_view>
#include <vector>

#include "stats/report.hpp"

namespace pgshift::stats {

struct HealthCheck {
  std::string_view id;                     // "cache-hit", "wraparound", ...
  std::string_view label;
  std::vector<std::string_view> codes;     // finding codes that belong to it
};
const std::vector<HealthCheck>& health_checks();

// parts: the overview, tables, indexes, activity, replication and archiver reports. Keeps the
// findings whose code belongs to a check, plus `insufficient-privilege`, `query-timeout`,
// `query-failed` and version findings (a check that could not run is not "ok": its status is
// "unknown" when its report has such a finding and no finding of its own).
Report combine_health(const std::vector<Report>& parts);

}  // namespace pgshift::stats
