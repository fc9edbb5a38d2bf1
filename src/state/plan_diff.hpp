// The difference between the plan a migration was started with (as recorded in the journal)
// and the plan a command was given now. Commands that would act on a migration refuse a
// different plan and print these lines, so an operator sees exactly what differs.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace pgshift::state {

// Compares two Plan::to_json() documents key by key (keys missing on one side count as null).
// One line per differing key, in key order:
//   "source: app@db1:5432/shop (recorded) → app@db2:5432/shop (given)"
//   "exclude: + audit.* − oban_jobs"        (arrays: what the given plan adds and removes)
// Empty when the plans are the same.
std::vector<std::string> diff_plans(const nlohmann::json& recorded, const nlohmann::json& given);

}  // namespace pgshift::state
