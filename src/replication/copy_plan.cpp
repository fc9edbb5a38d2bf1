#include "replication/copy_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

namespace pgshift::replication {
namespace {

bool builtin_type_name(const std::string& type) {
  // format_type() with search_path = pg_catalog qualifies every type outside pg_catalog.
  return type.find('.') == std::string::npos;
}

}  // namespace

bool binary_safe(const catalog::Column& column) {
  if (column.type_kind == "enum") return true;  // sent as its label
  if (column.type_kind == "domain") return builtin_type_name(column.domain_base);
  return builtin_type_name(column.type);
}

std::vector<std::string> copied_columns(const catalog::Table& table) {
  std::vector<std::string> out;
  for (const auto& c : table.columns) {
    if (c.generated == '\0') out.push_back(c.name);
  }
  return out;
}

CopyPlan plan_copy(std::vector<CopyRelation> relations, const CopyPlanOptions& options) {
  CopyPlan plan;
  plan.relations = std::move(relations);
  for (const auto& r : plan.relations) plan.total_bytes += r.bytes;
  const int jobs = std::max(1, options.jobs);
  const int64_t unit_bytes = std::max(options.min_unit_bytes, plan.total_bytes / (4 * jobs));
  const int64_t unit_blocks = std::max<int64_t>(1, unit_bytes / std::max<int64_t>(1, options.block_size));


  std::vector<CopyUnit> units;
  const int64_t block = std::max<int64_t>(1, options.block_size);
  for (auto& r : plan.relations) {
    if (r.blocks <= 0) r.blocks = (r.bytes + block - 1) / block;
  }
  for (size_t i = 0; i < plan.relations.size(); ++i) {
    const CopyRelation& r = plan.relations[i];
    std::string name = r.leaf.display();
    if (!options.ranges_allowed || r.bytes <= 2 * unit_bytes || jobs == 1) {
      units.push_back({0, i, 0, std::nullopt, true, r.bytes, name});
      continue;
    }
    for (int64_t first = 0; first < r.blocks; first += unit_blocks) {
      std::optional<int64_t> end = first + unit_blocks;
      if (*end >= r.blocks) end = std::nullopt;  // the last range reads to the end
      int64_t blocks = (end ? *end : r.blocks) - first;
      std::string key = end ? fmt::format("{}[{},{})", name, first, *end) : fmt::format("{}[{},)", name, first);
      units.push_back({0, i, first, end, false, blocks * options.block_size, key});
    }
  }
  std::stable_sort(units.begin(), units.end(),
                   [](const CopyUnit& a, const CopyUnit& b) { return a.estimated_bytes > b.estimated_bytes; });
  for (size_t i = 0; i < units.size(); ++i) units[i].id = static_cast<int>(i);
  plan.units = std::move(units);
  return plan;
}

nlohmann::json CopyPlan::to_json() const {
  nlohmann::json rels = nlohmann::json::array();
  for (const auto& r : relations) {
    rels.push_back({{"table", r.leaf.display()},
                    {"into", r.target.display()},
                    {"into_schema", r.target.schema},
                    {"into_name", r.target.name},
                    {"bytes", r.bytes},
                    {"binary", r.binary}});
  }
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& u : units) {
    keys.push_back({{"key", u.key},
                    {"relation", u.relation},
                    {"bytes", u.estimated_bytes},
                    {"first_block", u.first_block},
                    {"end_block", u.end_block ? nlohmann::json(*u.end_block) : nlohmann::json(nullptr)},
                    {"whole", u.whole}});
  }
  return {{"relations", rels}, {"units", keys}, {"total_bytes", total_bytes}};
}

std::optional<CopyPlan> plan_from_record(const nlohmann::json& recorded, std::vector<CopyRelation> relations) {
  CopyPlan plan;
  std::vector<bool> taken(relations.size(), false);
  for (const auto& r : recorded.at("relations")) {
    std::string leaf = r.value("table", "");
    size_t i = 0;
    while (i < relations.size() && relations[i].leaf.display() != leaf) ++i;
    if (i == relations.size() || taken[i]) return std::nullopt;
    taken[i] = true;
    relations[i].bytes = r.value("bytes", int64_t{0});
    plan.relations.push_back(relations[i]);
    plan.total_bytes += relations[i].bytes;
  }
  for (const auto& u : recorded.at("units")) {
    if (!u.contains("first_block") || !u.contains("whole")) return std::nullopt;
    CopyUnit unit;
    unit.relation = u.value("relation", size_t{0});
    if (unit.relation >= plan.relations.size()) return std::nullopt;
    unit.first_block = u.value("first_block", int64_t{0});
    if (u.contains("end_block") && !u.at("end_block").is_null()) unit.end_block = u.at("end_block").get<int64_t>();
    unit.whole = u.value("whole", true);
    unit.estimated_bytes = u.value("bytes", int64_t{0});
    unit.key = u.value("key", "");
    plan.units.push_back(std::move(unit));
  }
  for (size_t i = 0; i < relations.size(); ++i) {
    if (taken[i]) continue;
    plan.total_bytes += relations[i].bytes;
    plan.units.push_back({0, plan.relations.size(), 0, std::nullopt, true, relations[i].bytes, relations[i].leaf.display()});
    plan.relations.push_back(std::move(relations[i]));
  }
  for (size_t i = 0; i < plan.units.size(); ++i) plan.units[i].id = static_cast<int>(i);
  return plan;
}

std::set<std::string> tables_copied(const CopyPlan& plan, const std::set<std::string>& done) {
  std::map<std::string, bool> complete;  // by leaf and by target
  for (const auto& u : plan.units) {
    const CopyRelation& r = plan.relations[u.relation];
    bool finished = done.count(u.key) > 0;
    for (const std::string& name : {r.leaf.display(), r.target.display()}) {
      auto [it, fresh] = complete.emplace(name, finished);
      if (!fresh) it->second = it->second && finished;
    }
  }
  std::set<std::string> out;
  for (const auto& [name, all] : complete) {
    if (all) out.insert(name);
  }
  return out;
}

}  // namespace pgshift::replication
