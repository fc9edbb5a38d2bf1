#include "preflight/preflight.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "preflight/rules.hpp"

namespace pgshift::preflight {

std::string to_string(Severity severity) {
  switch (severity) {
    case Severity::error: return "error";
    case Severity::warning: return "warning";
    case Severity::info: return "info";
  }
  return "info";
}

std::vector<std::string> cap_list(std::vector<std::string> names, size_t limit) {
  if (names.size() <= limit) return names;
  size_t more = names.size() - limit;
  names.resize(limit);
  names.push_back(fmt::format("... and {} more", more));
  return names;
}

int Report::count(Severity severity) const {
  return static_cast<int>(std::count_if(hazards.begin(), hazards.end(),
                                        [&](const Hazard& h) { return h.severity == severity; }));
}

std::vector<Hazard> assess(const Inputs& in, const Options& options) {
  std::vector<Hazard> out;
  check_servers(in, options, out);
  check_schema(in, options, out);
  check_tables(in, options, out);
  std::stable_sort(out.begin(), out.end(),
                   [](const Hazard& a, const Hazard& b) { return a.severity < b.severity; });
  return out;
}

Report run_preflight(pg::Connection& source, pg::Connection& target, const Options& options) {
  Report report;
  report.source_endpoint = source.info().redacted();
  report.target_endpoint = target.info().redacted();
  Inputs& in = report.inputs;
  spdlog::debug("reading the source catalog");
  in.source = catalog::read_snapshot(source);
  spdlog::debug("reading the target catalog");
  in.target = catalog::read_snapshot(target);
  in.selection = catalog::select_tables(in.source, in.target, options.excludes);
  in.diff = catalog::diff_schemas(in.source, in.target);
  for (const auto& ref : in.selection.replicated) {
    const catalog::Table* t = in.target.table(ref);
    if (!t || !t->selectable) continue;  // reported as target-rows-unknown
    // One cheap probe per table: does the target hold at least one row?
    pg::Result r = target.exec(fmt::format("SELECT EXISTS (SELECT 1 FROM {})", ref.quoted()));
    in.target_has_rows[ref] = r.row(0).boolean("exists");
  }
  report.hazards = assess(in, options);
  return report;
}

}  // namespace pgshift::preflight
