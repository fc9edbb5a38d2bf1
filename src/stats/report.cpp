// Report::to_json(): the stable JSON form documented in stats/report.hpp.
#include "stats/report.hpp"

namespace pgshift::stats {
namespace {

nlohmann::json finding_json(const Finding& f) {
  return {{"severity", severity_name(f.severity)}, {"code", f.code}, {"object", f.object},
          {"message", f.message}, {"advice", f.advice}};
}

nlohmann::json findings_json(const std::vector<Finding>& findings) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : findings) out.push_back(finding_json(f));
  return out;
}

}  // namespace

const char* severity_name(Severity severity) {
  switch (severity) {
    case Severity::info: return "info";
    case Severity::warning: return "warning";
    case Severity::critical: return "critical";
  }
  return "info";
}

nlohmann::json Report::to_json() const {
  nlohmann::json out{{"id", id}, {"title", title}, {"server_version_num", server_version_num}};
  out["facts"] = nlohmann::json::array();
  for (const auto& f : facts) {
    out["facts"].push_back({{"id", f.id}, {"label", f.label}, {"value", f.value}, {"unit", f.unit}, {"hint", f.hint}});
  }
  out["sections"] = nlohmann::json::array();
  for (const auto& s : sections) {
    nlohmann::json cols = nlohmann::json::array();
    for (const auto& c : s.columns) cols.push_back({{"name", c.name}, {"type", c.type}});
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : s.rows) rows.push_back(r);
    nlohmann::json section{{"id", s.id}, {"title", s.title}, {"explanation", s.explanation},
                           {"columns", cols}, {"rows", rows}, {"findings", findings_json(s.findings)}};
    if (s.total_rows >= 0) section["total_rows"] = s.total_rows;
    out["sections"].push_back(std::move(section));
  }
  out["findings"] = findings_json(findings);
  return out;
}

}  // namespace pgshift::stats
