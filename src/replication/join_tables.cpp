// Tables that join a running replication: created on both sides after it began (by a followed
// CREATE TABLE, or by hand), neither excluded nor published yet. Only they are copied.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "fence/fence.hpp"
#include "replication/internal.hpp"
#include "stats/subscription_progress.hpp"
#include "util/error.hpp"

namespace pgshift::replication {
namespace {

using nlohmann::json;

constexpr std::string_view kStepJoin = "join-tables";

// Published tables the subscription does not list yet.
std::vector<catalog::TableRef> unsubscribed(const catalog::Snapshot& pub_snap, pg::Connection& subscriber,
                                            const JoinSpec& spec) {
  stats::SubscriptionProgress sub = stats::subscription_progress(subscriber, spec.subscription);
  std::vector<catalog::TableRef> out;
  if (!sub.exists) return out;
  for (const auto& p : pub_snap.publications) {
    if (p.name != spec.publication) continue;
    for (const auto& t : p.tables) {
      bool found = std::any_of(sub.tables.begin(), sub.tables.end(),
                               [&](const auto& s) { return s.schema == t.schema && s.name == t.name; });
      if (!found) out.push_back(t);
    }
  }
  return out;
}

}  // namespace

std::vector<catalog::TableRef> tables_to_join(const catalog::Snapshot& publisher, const catalog::Snapshot& subscriber,
                                              const std::string& publication,
                                              const std::vector<catalog::TablePattern>& excludes) {
  std::vector<catalog::TableRef> published;
  for (const auto& p : publisher.publications) {
    if (p.name == publication) published = p.tables;
  }
  std::vector<catalog::TableRef> out;
  for (const auto& t : logical::plan_publication(publisher, subscriber, excludes).tables) {
    if (std::find(published.begin(), published.end(), t) == published.end()) out.push_back(t);
  }
  return out;
}

JoinResult join_new_tables(pg::Connection& publisher, pg::Connection& subscriber, const JoinSpec& spec,
                           state::Journal& journal, int64_t migration_id) {
  JoinResult result;
  catalog::Snapshot pub_snap = catalog::read_snapshot(publisher);
  catalog::Snapshot sub_snap = catalog::read_snapshot(subscriber);
  result.joined = tables_to_join(pub_snap, sub_snap, spec.publication, spec.excludes);
  if (result.joined.empty()) {
    // A run that died between ADD TABLE and REFRESH left published tables the subscription does
    // not have yet: refreshing is all that is left to do.
    if (!unsubscribed(pub_snap, subscriber, spec).empty()) {
      logical::refresh_subscription(subscriber, spec.subscription);
      journal.record(migration_id, kStepJoin, state::EventStatus::finished, {{"refreshed", spec.subscription}});
    }
    return result;
  }
  logical::PublicationPlan plan = logical::plan_publication(pub_snap, sub_snap, spec.excludes);
  auto joining = [&](const catalog::TableRef& t) {
    return std::find(result.joined.begin(), result.joined.end(), t) != result.joined.end();
  };
  for (const auto& problem : plan.key_problems) {
    for (const auto& t : result.joined) {
      if (problem.find(t.display()) != std::string::npos) {
        throw ProblemsFound(fmt::format("table {} cannot join the replication: {}", t.display(), problem));
      }
    }
  }
  for (const auto& change : plan.identity_changes) {
    if (!joining(change.table)) continue;
    logical::IdentityChange c = change;
    c.reversed = spec.reversed;
    result.identity_changes.push_back(c);
  }
  journal.record(migration_id, kStepJoin, state::EventStatus::started,
                 {{"tables", detail::table_names_json(result.joined)}, {"publication", spec.publication}});
  try {
    logical::apply_identity_changes(publisher, subscriber, journal, migration_id, result.identity_changes,
                                    spec.identity_step);
    // Not in the subscription yet, so nothing but a CREATE TABLE AS (or a stray client) wrote
    // them: the copy that follows brings every row.
    for (const auto& t : detail::tables_with_rows(subscriber, result.joined)) {
      logical::exec_ddl(subscriber, fmt::format("TRUNCATE {}", t.quoted()));
      result.emptied.push_back(t);
    }
    if (!spec.fence_reason.empty()) fence::fence(subscriber, result.joined, spec.fence_reason);
    logical::add_publication_tables(publisher, spec.publication, result.joined);
    logical::refresh_subscription(subscriber, spec.subscription);
  } catch (const std::exception& e) {
    journal.record(migration_id, kStepJoin, state::EventStatus::failed,
                   {{"tables", detail::table_names_json(result.joined)}, {"error", e.what()}});
    throw RuntimeError(fmt::format("adding {} to the replication failed: {}",
                                   fmt::join(detail::table_names_json(result.joined), ", "), e.what()));
  }
  spdlog::info("{} table(s) joined publication {} and subscription {} (only they are copied): {}",
               result.joined.size(), spec.publication, spec.subscription, fmt::join(detail::table_names_json(result.joined), ", "));
  journal.record(migration_id, kStepJoin, state::EventStatus::finished,
                 {{"tables", detail::table_names_json(result.joined)}, {"emptied", detail::table_names_json(result.emptied)},
                  {"identity_changes", result.identity_changes.size()}});
  return result;
}

}  // namespace pgshift::replication
