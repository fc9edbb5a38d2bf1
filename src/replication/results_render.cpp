// start, stop and soak results as a human summary and as JSON. Pure.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "replication/internal.hpp"
#include "util/duration.hpp"
#include "util/terminal.hpp"

namespace pgshift::replication {
namespace {

using nlohmann::json;

std::string outcome_name(StartResult::Outcome o) {
  switch (o) {
    case StartResult::Outcome::started: return "started";
    case StartResult::Outcome::unchanged: return "unchanged";
    case StartResult::Outcome::refenced: return "refenced";
    case StartResult::Outcome::joined: return "joined";
  }
  return "started";
}

std::vector<std::string> display_names(const std::vector<catalog::TableRef>& tables) {
  std::vector<std::string> out;
  for (const auto& t : tables) out.push_back(t.display());
  return out;
}

}  // namespace

json to_json(const StartResult& r) {
  json identity = json::array();
  for (const auto& c : r.plan.identity_changes) identity.push_back(c.to_json());
  json out{{"outcome", outcome_name(r.outcome)},
              {"migration_id", r.migration_id},
              {"source", r.names.source},
              {"target", r.names.target},
              {"publication", r.names.publication},
              {"subscription", r.names.subscription},
              {"tables", detail::table_names_json(r.plan.tables)},
              {"identity_changes", identity},
              {"truncated", detail::table_names_json(r.truncated)},
              {"fenced_tables", r.fenced},
              {"left_out", detail::left_out_json(r.plan.left_out)},
              {"copy", r.copy ? to_json(*r.copy) : json(nullptr)},
              {"copy_mode", r.copy ? "parallel" : "native"},
              {"joined", detail::table_names_json(r.joined)},
              {"ddl", {{"followed", r.ddl.followed},
                       {"source_captures", r.ddl.source_captures},
                       {"target_captures", r.ddl.target_captures},
                       {"policy", r.ddl.policy},
                       {"source_why_not", r.ddl.source_why_not},
                       {"target_why_not", r.ddl.target_why_not}}},
              {"took_ms", r.took.count()}};
  return out;
}

static std::string render_copy_summary(const CopySummary& c) {
  auto seconds = [](int64_t ms) { return util::format_duration(util::Millis(ms)); };
  std::string out = fmt::format("copy         {} table(s), {} rows, {} in {} unit(s) on {} worker(s){}{}\n", c.relations,
                                c.rows, util::format_bytes(c.bytes), c.units, c.jobs,
                                c.units_reused ? fmt::format(", {} unit(s) kept from the interrupted run", c.units_reused) : "",
                                c.restarted ? " (copied again: the interrupted run's snapshot was gone)" : "");
  int64_t rate = c.copy_ms > 0 ? c.bytes * 1000 / c.copy_ms : 0;
  // Most indexes are built beside the copy (inside its time); index_ms is what came after it.
  out += fmt::format("timings      slot {} · drop indexes {} · copy and {} index build(s) {} ({}/s) · indexes after "
                     "the copy {} · {} constraint(s) {} · total {}\n",
                     seconds(c.slot_ms), seconds(c.drop_ms), c.indexes, seconds(c.copy_ms), util::format_bytes(rate),
                     seconds(c.index_ms), c.constraints, seconds(c.constraint_ms), seconds(c.total_ms));
  for (const auto& n : c.not_validated) out += fmt::format("NOT VALID    {} (VALIDATE it once the rows are fixed)\n", n);
  return out;
}

static std::string render_ddl_setup(const DdlSetup& d) {
  if (!d.followed) {
    return fmt::format("schema       changes are not followed: {}; status and soak show drift with the statement to run\n",
                       d.source_why_not.empty() ? "the schema change log could not be set up" : d.source_why_not);
  }
  std::string out = d.source_captures
                        ? fmt::format("schema       changes on the source follow to the target in stream order (--ddl {})\n", d.policy)
                        : fmt::format("schema       changes on the source are not captured ({}): status and soak find "
                                      "them as drift, with the statement to run\n",
                                      d.source_why_not);
  if (!d.target_captures) {
    out += fmt::format("             changes on the target after cutover are not captured ({})\n", d.target_why_not);
  }
  return out;
}

std::string render(const StartResult& r) {
  std::string out;
  if (r.outcome != StartResult::Outcome::started) {
    out += fmt::format("migration {} is already syncing with this plan from {} to {}: {}\n", r.migration_id, r.names.source,
                       r.names.target,
                       r.outcome == StartResult::Outcome::unchanged ? "nothing changed"
                       : r.outcome == StartResult::Outcome::joined
                           ? fmt::format("{} table(s) created since it started joined the replication (only they are "
                                         "copied): {}",
                                         r.joined.size(), fmt::join(display_names(r.joined), ", "))
                           : "the fence was missing on some tables and is back; nothing else changed");
    out += fmt::format("{} table(s) published, fence on {} table(s); pgshift sync status shows progress\n",
                       r.plan.tables.size(), r.fenced);
    return out;
  }
  out += fmt::format("migration {}: replicating {} → {}\n", r.migration_id, r.names.source, r.names.target);
  bool via_root = std::any_of(r.plan.left_out.begin(), r.plan.left_out.end(),
                              [](const catalog::LeftOut& lo) { return lo.reason == catalog::LeftOutReason::via_root; });
  out += fmt::format("publication  {} on the source: {} table(s){}\n", r.names.publication, r.plan.tables.size(),
                     via_root ? ", partitioned tables through their root" : "");
  if (!r.plan.identity_changes.empty()) {
    out += fmt::format("replica identity set on {} table(s) (restored by sync stop):\n", r.plan.identity_changes.size());
    for (const auto& c : r.plan.identity_changes) out += "  " + c.describe() + "\n";
  }
  if (!r.truncated.empty()) {
    std::vector<std::string> names;
    for (const auto& t : r.truncated) names.push_back(t.display());
    out += fmt::format("truncated    on the target: {}\n", fmt::join(names, ", "));
  }
  out += fmt::format("fence        {} target table(s) reject every write but replication's\n", r.fenced);
  out += render_ddl_setup(r.ddl);
  if (r.copy) {
    out += render_copy_summary(*r.copy);
    out += fmt::format("subscription {} on the target streams from slot {} at {} (the copy's snapshot)\n",
                       r.names.subscription, r.names.subscription, r.copy->consistent_point);
    out += detail::render_left_out(r.plan.left_out);
    out += fmt::format("started in {}; every table is copied and streaming: pgshift sync status shows lag\n",
                       util::format_duration(r.took));
    return out;
  }
  out += fmt::format("subscription {} on the target, slot {} on the source: the initial copy is running\n",
                     r.names.subscription, r.names.subscription);
  out += detail::render_left_out(r.plan.left_out);
  out += fmt::format("started in {}; follow the copy with: pgshift sync status --watch\n", util::format_duration(r.took));
  return out;
}

json to_json(const StopResult& r) {
  json restored = json::array();
  for (const auto& c : r.identities_restored) restored.push_back(c.to_json());
  return json{{"migration_id", r.migration_id ? json(r.migration_id) : json(nullptr)},
              {"publication", r.names.publication},
              {"subscription", r.names.subscription},
              {"found_anything", r.found_anything},
              {"subscription_dropped", r.subscription_dropped},
              {"slots_dropped", r.slots_dropped},
              {"publication_dropped", r.publication_dropped},
              {"identities_restored", restored},
              {"fence_lifted_tables", r.fence_lifted},
              {"ddl_removed", r.ddl_removed},
              {"deferred_restored", r.deferred_restored},
              {"emptied", detail::table_names_json(r.emptied)},
              {"leftovers", r.leftovers},
              {"took_ms", r.took.count()}};
}

std::string render(const StopResult& r) {
  if (!r.found_anything) return "nothing to stop: no subscription, slot, publication, fence or replica identity of pgshift's\n";
  std::string out;
  if (r.subscription_dropped) out += fmt::format("dropped   subscription {} on the target\n", r.names.subscription);
  for (const auto& s : r.slots_dropped) out += fmt::format("dropped   replication slot {} on the source\n", s);
  if (r.publication_dropped) out += fmt::format("dropped   publication {} on the source\n", r.names.publication);
  for (const auto& c : r.identities_restored) {
    out += fmt::format("restored  {} {}: REPLICA IDENTITY {}\n",
                       c.database_role(), c.table.display(),
                       c.from == catalog::ReplicaIdentity::index ? "USING INDEX " + c.from_index
                                                                 : logical::identity_clause(c.from, c.from_index));
  }
  if (!r.emptied.empty()) {
    out += fmt::format("emptied   {} target table(s) the unfinished parallel copy wrote into\n", r.emptied.size());
  }
  if (r.deferred_restored) {
    out += fmt::format("rebuilt   {} index(es)/constraint(s) the parallel copy had dropped\n", r.deferred_restored);
  }
  if (r.fence_lifted) out += fmt::format("lifted    fence from {} target table(s)\n", r.fence_lifted);
  if (r.ddl_removed) out += "removed   schema change capture and log (both sides)\n";
  out += fmt::format("stopped in {}; verified: no subscription, slot, publication, fence or changed replica identity "
                     "left\n",
                     util::format_duration(r.took));
  return out;
}

json to_json(const SoakResult& r) {
  json anomalies = json::array();
  for (const auto& a : r.last_anomalies) anomalies.push_back({{"code", a.code}, {"message", a.message}});
  return json{{"passed", r.passed},
              {"interrupted", r.interrupted},
              {"restarts", r.restarts},
              {"took_ms", r.took.count()},
              {"longest_clean_ms", r.longest_clean.count()},
              {"anomalies", anomalies}};
}

}  // namespace pgshift::replication
