#include "state/plan_diff.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

namespace pgshift::state {
namespace {

std::string show(const nlohmann::json& v) {
  if (v.is_null()) return "(none)";
  if (v.is_string()) return v.get<std::string>().empty() ? "(empty)" : v.get<std::string>();
  return v.dump();
}

std::string element(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string array_change(const nlohmann::json& recorded, const nlohmann::json& given) {
  std::vector<std::string> parts;
  for (const auto& g : given) {
    if (std::find(recorded.begin(), recorded.end(), g) == recorded.end()) parts.push_back("+ " + element(g));
  }
  for (const auto& r : recorded) {
    if (std::find(given.begin(), given.end(), r) == given.end()) parts.push_back("− " + element(r));
  }
  if (parts.empty()) return fmt::format("{} (recorded) → {} (given): same items, other order", recorded.dump(), given.dump());
  return fmt::format("{}", fmt::join(parts, " "));
}

}  // namespace

std::vector<std::string> diff_plans(const nlohmann::json& recorded, const nlohmann::json& given) {
  std::set<std::string> keys;
  for (const auto* doc : {&recorded, &given}) {
    if (!doc->is_object()) continue;
    for (const auto& [k, _] : doc->items()) keys.insert(k);
  }
  std::vector<std::string> out;
  for (const auto& key : keys) {
    nlohmann::json r = recorded.is_object() && recorded.contains(key) ? recorded.at(key) : nlohmann::json();
    nlohmann::json g = given.is_object() && given.contains(key) ? given.at(key) : nlohmann::json();
    if (r == g) continue;
    if (r.is_array() && g.is_array()) {
      out.push_back(fmt::format("{}: {}", key, array_change(r, g)));
    } else {
      out.push_back(fmt::format("{}: {} (recorded) → {} (given)", key, show(r), show(g)));
    }
  }
  return out;
}

}  // namespace pgshift::state
