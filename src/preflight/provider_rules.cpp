// Provider hazards: what belongs to the managed provider and stays behind (its schemas, the
// source's publications and event triggers) and what of the application needs it.
#include <fmt/format.h>

#include <set>

#include "preflight/rules.hpp"

namespace pgshift::preflight {

void check_provider(const Inputs& in, const Options& options, std::vector<Hazard>& out) {
  std::vector<std::string> tables;
  std::set<std::string> schemas;
  for (const auto& lo : in.selection.left_out) {
    if (lo.reason != catalog::LeftOutReason::provider_schema) continue;
    tables.push_back(fmt::format("{} ({})", lo.table.display(), catalog::explain(lo.reason)));
    schemas.insert(lo.table.schema);
  }
  if (!tables.empty()) {
    out.push_back({Severity::info, "provider-schemas", "source",
                   fmt::format("{} table(s) in {} schema(s) of the provider ({}) are left out of the replication; "
                               "they belong to the provider's services, not to the application",
                               tables.size(), schemas.size(), in.source_provider),
                   cap_list(tables),
                   "to replicate one anyway, create it on the target and pass --exclude for the others; see "
                   "docs/schema-copy.md for each provider's list"});
  }

  std::vector<std::string> publications;
  for (const auto& p : in.source.publications) {
    if (p.name != options.publication) publications.push_back(p.name);
  }
  if (!publications.empty()) {
    out.push_back({Severity::info, "source-publications", "source",
                   fmt::format("{} publication(s) on the source do not carry over (schema copy leaves publications "
                               "out; pgshift creates its own)",
                               publications.size()),
                   cap_list(publications), "recreate on the target after cutover the ones its consumers still need"});
  }
  if (!in.source_event_triggers.empty()) {
    out.push_back({Severity::warning, "event-triggers", "source",
                   fmt::format("{} event trigger(s) on the source do not carry over (schema copy leaves them out: they "
                               "run as superuser on every DDL and usually serve the provider)",
                               in.source_event_triggers.size()),
                   cap_list(in.source_event_triggers),
                   "recreate on the target the ones the application needs, as its superuser"});
  }
  if (!in.provider_dependents.empty()) {
    std::vector<std::string> objects;
    for (const auto& d : in.provider_dependents) objects.push_back(fmt::format("{} -> {}", d.what, d.depends_on));
    out.push_back({Severity::warning, "provider-dependents", "source",
                   fmt::format("{} object(s) of the application depend on the provider's schemas, on extensions the "
                               "target cannot install or on roles the target lacks; schema copy leaves them out and "
                               "lists their statements",
                               objects.size()),
                   cap_list(objects),
                   "create what they need on the target (the role, a replacement for the function or table) and "
                   "then the objects, or drop the dependency"});
  }
}

}  // namespace pgshift::preflight
