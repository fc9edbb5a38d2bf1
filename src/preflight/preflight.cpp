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
  check_provider(in, options, out);
  std::stable_sort(out.begin(), out.end(),
                   [](const Hazard& a, const Hazard& b) { return a.severity < b.severity; });
  return out;
}

namespace {

constexpr std::string_view kMatviewsSql = R"sql(
SELECT n.nspname AS schema, c.relname AS name, pg_total_relation_size(c.oid) AS size, c.relispopulated AS populated
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'm' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
 ORDER BY 1, 2
)sql";

std::vector<MaterializedView> read_matviews(pg::Connection& source, pg::Connection& target) {
  std::map<catalog::TableRef, bool> on_target;
  pg::Result t = target.exec(kMatviewsSql);
  for (int i = 0; i < t.rows(); ++i) on_target[{t.row(i).text("schema"), t.row(i).text("name")}] = t.row(i).boolean("populated");
  std::vector<MaterializedView> out;
  pg::Result r = source.exec(kMatviewsSql);
  for (int i = 0; i < r.rows(); ++i) {
    MaterializedView m;
    m.ref = {r.row(i).text("schema"), r.row(i).text("name")};
    m.size_bytes = r.row(i).int64("size");
    m.populated = r.row(i).boolean("populated");
    auto it = on_target.find(m.ref);
    m.on_target = it != on_target.end();
    m.populated_on_target = m.on_target && it->second;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

Report run_preflight(pg::Connection& source, pg::Connection& target, const Options& options,
                     pg::Connection* source_subscriber) {
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
  in.materialized_views = read_matviews(source, target);
  if (source_subscriber) in.source_subscriber = catalog::read_server_info(*source_subscriber);
  in.source_provider = in.source.server.provider;
  in.source_event_triggers = catalog::read_event_triggers(source);
  catalog::DependentsQuery dq;
  dq.schemas = catalog::provider_schemas(in.source);
  dq.missing_extensions = catalog::unavailable_extensions(in.source, in.target);
  dq.target_roles = catalog::read_role_names(target);
  in.provider_dependents = catalog::read_provider_dependents(source, dq);
  report.hazards = assess(in, options);
  return report;
}

}  // namespace pgshift::preflight
