// sync start: publication, replica identities, target fence and subscription — or, when the
// same plan is already syncing, nothing at all.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>

#include "catalog/catalog.hpp"
#include "fence/fence.hpp"
#include "replication/ddl_setup.hpp"
#include "replication/internal.hpp"
#include "replication/parallel_copy.hpp"
#include "replication/truncate_target.hpp"
#include "state/lock.hpp"
#include "state/plan_diff.hpp"
#include "stats/subscription_progress.hpp"
#include "util/error.hpp"

namespace pgshift::replication {
namespace {

using namespace detail;
using namespace logical;
using state::EventStatus;
using state::Phase;
using nlohmann::json;

std::string short_list(const std::vector<catalog::TableRef>& tables, size_t limit = 10) {
  std::vector<std::string> names;
  for (size_t i = 0; i < tables.size() && i < limit; ++i) names.push_back(tables[i].display());
  std::string out = fmt::format("{}", fmt::join(names, ", "));
  if (tables.size() > limit) out += fmt::format(" and {} more", tables.size() - limit);
  return out;
}

// Replication objects with our names that no syncing migration accounts for: someone else's,
// or left behind by a run whose journal is gone. Never reuse or clobber them.
void refuse_foreign_objects(pg::Connection& source, pg::Connection& target, const state::Plan& plan) {
  auto refuse = [](const std::string& what) {
    throw RuntimeError(fmt::format("{}, but no migration is syncing; if it is left from an earlier run, pgshift "
                                   "sync stop removes it, otherwise choose other names (publication:, "
                                   "subscription: in the plan)",
                                   what));
  };
  if (publication_exists(source, plan.publication)) {
    refuse(fmt::format("{}: publication '{}' already exists", source.endpoint(), plan.publication));
  }
  if (stats::subscription_progress(target, plan.subscription).exists) {
    refuse(fmt::format("{}: subscription '{}' already exists", target.endpoint(), plan.subscription));
  }
  // Slots are server-wide: one of another database is another migration's (or a consumer's).
  if (auto db = slot_database(source, plan.subscription)) {
    refuse(fmt::format("{}: replication slot '{}' already exists (database {})", source.endpoint(), plan.subscription,
                       db->empty() ? "none" : *db));
  }
  if (auto db = slot_database(target, plan.reverse_subscription())) {
    refuse(fmt::format("{}: replication slot '{}', which cutover needs for the replication back, already exists "
                       "(database {})",
                       target.endpoint(), plan.reverse_subscription(), db->empty() ? "none" : *db));
  }
  if (fence::is_fenced(target)) {
    refuse(fmt::format("{}: the target is fenced", target.endpoint()));
  }
}

StartResult resume(pg::Connection& source, pg::Connection& target, const state::Plan& plan,
                   state::Journal& journal, const state::Migration& current, StartResult result,
                   const StartOptions& options) {
  std::vector<std::string> diff = state::diff_plans(current.plan, plan.to_json());
  if (!diff.empty()) {
    journal.record(current.id, kStepStart, EventStatus::info, {{"refused", "different plan"}, {"difference", diff}});
    throw UsageError(fmt::format("migration {} is already syncing on {} with a different plan: {}; run pgshift "
                                 "sync stop first to start over with this plan",
                                 current.id, target.endpoint(), fmt::join(diff, "; ")));
  }
  catalog::Snapshot src = catalog::read_snapshot(source);
  catalog::Snapshot tgt = catalog::read_snapshot(target);
  result.plan = plan_publication(src, tgt, plan.exclude_patterns());
  const catalog::Publication* pub = nullptr;
  for (const auto& p : src.publications) {
    if (p.name == plan.publication) pub = &p;
  }
  auto inconsistent = [&](const std::string& what) {
    throw RuntimeError(fmt::format("migration {} is recorded as syncing but {}; run pgshift sync stop to clean up, "
                                   "then sync start",
                                   current.id, what));
  };
  if (!pub) inconsistent(fmt::format("publication '{}' is missing on {}", plan.publication, source.endpoint()));
  if (!stats::subscription_progress(target, plan.subscription).exists) {
    inconsistent(fmt::format("subscription '{}' is missing on {}", plan.subscription, target.endpoint()));
  }
  // Tables created on both sides since start join the replication (only they are copied); a
  // published table gone from one side is reported, not removed (its rows replicate until then).
  std::vector<std::string> tables_diff = diff_tables(pub->tables, result.plan.tables);
  for (const auto& line : tables_diff) {
    if (!line.starts_with("+")) spdlog::warn("publication {}: {} (no longer on both sides)", plan.publication, line);
  }
  JoinSpec join{plan.publication, plan.subscription, plan.exclude_patterns(), false, std::string(kStepIdentity),
                target_fence_reason(plan)};
  result.joined = join_new_tables(source, target, join, journal, current.id).joined;
  if (ddl::installed(target)) {
    ddl::Settings settings{options.ddl, plan.exclude_patterns()};
    ddl::update_settings(source, settings);
    ddl::update_settings(target, settings);
    result.ddl.followed = ddl::installed(source);
    result.ddl.source_captures = ddl::capturing(source);
    result.ddl.target_captures = ddl::capturing(target);
    result.ddl.policy = ddl::to_string(options.ddl);
  }
  if (!result.joined.empty()) result.plan = plan_publication(src, tgt, plan.exclude_patterns());
  // The fence is the one piece start puts back when it is missing: without it a stray client
  // could write rows replication will collide with.
  std::vector<catalog::TableRef> fenced = fence::fenced_tables(target);
  std::vector<catalog::TableRef> unfenced;
  for (const auto& t : result.plan.tables) {
    if (std::find(fenced.begin(), fenced.end(), t) == fenced.end()) unfenced.push_back(t);
  }
  result.outcome = result.joined.empty() ? StartResult::Outcome::unchanged : StartResult::Outcome::joined;
  if (!unfenced.empty()) {
    spdlog::warn("target: {} published table(s) had no fence; fencing them again", unfenced.size());
    if (journal.open_compensations(current.id, kStepFence).empty()) {
      journal.compensation(current.id, kStepFence, {{"database", "target"}});
    }
    fence::fence(target, unfenced, target_fence_reason(plan));
    result.outcome = StartResult::Outcome::refenced;
  }
  result.fenced = result.plan.tables.size();
  journal.record(current.id, kStepStart, EventStatus::info,
                 {{"unchanged", result.outcome == StartResult::Outcome::unchanged},
                  {"refenced", table_names_json(unfenced)},
                  {"joined", table_names_json(result.joined)}});
  return result;
}

// --copy parallel: pgshift copies under the slot's snapshot, then the subscription streams from
// that slot without copying (copy_data = false, create_slot = false).
void copy_then_subscribe(pg::Connection& source, pg::Connection& target, const state::Plan& plan,
                         state::Journal& journal, int64_t mid, StartResult& result, const StartOptions& options) {
  journal.record(mid, kStepCopy, EventStatus::started, {{"mode", "parallel"}});
  try {
    result.copy = parallel_copy(source, target, plan, journal, mid, result.plan.tables, options.parallel);
  } catch (const std::exception& e) {
    journal.record(mid, kStepCopy, EventStatus::failed, {{"error", e.what()}});
    throw;
  }
  journal.record(mid, kStepCopy, EventStatus::finished, to_json(*result.copy));
  journal.run_step(mid, kStepSubscription, [&] {
    SubscriptionSpec spec{plan.subscription, plan.source, plan.publication, false, true, false};
    create_subscription(target, spec);
    spdlog::info("target: subscription {} streams from slot {} (consistent point {})", plan.subscription,
                 plan.subscription, result.copy->consistent_point);
    return json{{"name", plan.subscription}, {"slot", plan.subscription}, {"copy_data", false}};
  });
}

void finish_start(state::Journal& journal, int64_t mid, StartResult& result,
                  const std::function<util::Millis()>& took);

// A sync start --copy parallel that was interrupted (phase starting, copy begun): the same plan
// goes on with the copy; nothing else is created again.
StartResult resume_copy(pg::Connection& source, pg::Connection& target, const state::Plan& plan,
                        state::Journal& journal, const state::Migration& current, StartResult result,
                        const StartOptions& options, const std::function<util::Millis()>& took) {
  std::vector<std::string> diff = state::diff_plans(current.plan, plan.to_json());
  if (!diff.empty()) {
    throw UsageError(fmt::format("migration {}: an interrupted copy waits with a different plan: {}; run pgshift "
                                 "sync stop first to start over with this plan",
                                 current.id, fmt::join(diff, "; ")));
  }
  catalog::Snapshot src = catalog::read_snapshot(source);
  catalog::Snapshot tgt = catalog::read_snapshot(target);
  result.plan = plan_publication(src, tgt, plan.exclude_patterns());
  result.fenced = result.plan.tables.size();
  spdlog::info("migration {}: resuming the interrupted copy", current.id);
  journal.record(current.id, kStepStart, EventStatus::started, {{"resume", "copy"}});
  try {
    copy_then_subscribe(source, target, plan, journal, current.id, result, options);
  } catch (const std::exception& e) {
    journal.record(current.id, kStepStart, EventStatus::failed, {{"error", e.what()}, {"resumable", true}});
    throw;
  }
  finish_start(journal, current.id, result, took);
  return result;
}

}  // namespace

StartResult start(pg::Connection& source, pg::Connection& target, const state::Plan& given,
                  const StartOptions& options) {
  auto started = std::chrono::steady_clock::now();
  std::function<util::Millis()> took = [started] {
    return std::chrono::duration_cast<util::Millis>(std::chrono::steady_clock::now() - started);
  };
  state::MigrationLock lock = state::MigrationLock::acquire(target);
  state::Journal journal(target, "sync start");
  state::Plan plan = given;
  std::optional<state::Migration> current = journal.current();
  if (current && current->phase == Phase::syncing && plan.default_names) {
    // A migration recorded before names were derived (or with other default names) keeps its own.
    plan.publication = current->plan.value("publication", plan.publication);
    plan.subscription = current->plan.value("subscription", plan.subscription);
  }
  StartResult result;
  result.names = Names::of(plan);

  if (current) {
    result.migration_id = current->id;
    switch (current->phase) {
      case Phase::syncing: {
        StartResult r = resume(source, target, plan, journal, *current, result, options);
        r.took = took();
        return r;
      }
      case Phase::starting:
        if (parallel_copy_pending(journal, current->id)) {
          return resume_copy(source, target, plan, journal, *current, result, options, took);
        }
        throw RuntimeError(fmt::format("migration {} on {}: an earlier sync start did not finish (last update {}); "
                                       "run pgshift sync stop to undo what it did, then sync start again",
                                       current->id, target.endpoint(), current->updated_at));
      case Phase::none:
      case Phase::stopped: break;
      default:
        throw UsageError(fmt::format("migration {} on {} is {}: sync start does not apply any more",
                                     current->id, target.endpoint(), state::to_string(current->phase)));
    }
  }

  catalog::Snapshot src = catalog::read_snapshot(source);
  catalog::Snapshot tgt = catalog::read_snapshot(target);
  result.plan = plan_publication(src, tgt, plan.exclude_patterns());
  if (result.plan.tables.empty()) {
    throw UsageError("nothing to replicate: no table exists on both sides (after --exclude); create the schema "
                     "on the target first (pgshift schema copy)");
  }
  if (!result.plan.key_problems.empty()) {
    throw ProblemsFound(fmt::format("{} table(s) could not be replicated with UPDATE and DELETE: {}",
                                    result.plan.key_problems.size(), fmt::join(result.plan.key_problems, "; ")));
  }
  refuse_foreign_objects(source, target, plan);
  check_publisher_capacity(source);
  std::vector<catalog::TableRef> with_rows = tables_with_rows(target, result.plan.tables);
  if (!with_rows.empty() && !options.truncate_target) {
    throw ProblemsFound(fmt::format("{} replicated table(s) already hold rows on the target: {}; empty them, or "
                                    "run pgshift sync start --truncate-target",
                                    with_rows.size(), short_list(with_rows)));
  }
  if (!with_rows.empty()) refuse_outside_references(target, tgt, result.plan.tables);

  state::Migration m = journal.begin(plan.to_json(), Phase::starting);
  result.migration_id = m.id;
  spdlog::info("migration {}: publishing {} table(s) from {} to {}", m.id, result.plan.tables.size(),
               result.names.source, result.names.target);
  journal.record(m.id, kStepStart, EventStatus::started,
                 {{"tables", result.plan.tables.size()},
                  {"truncate_target", options.truncate_target},
                  {"copy", to_string(options.copy)}});

  // Each step registers its undo before it runs, so a step that fails half-way is undone too.
  std::vector<std::pair<std::string, std::function<void()>>> undo;
  std::optional<state::Event> fence_record;
  try {
    if (!result.plan.identity_changes.empty()) {
      undo.emplace_back("replica identities restored", [&] { restore_identities(source, target, journal, m.id, kStepIdentity); });
      journal.run_step(m.id, kStepIdentity, [&] {
        apply_identity_changes(source, target, journal, m.id, result.plan.identity_changes, kStepIdentity);
        return json{{"changed", result.plan.identity_changes.size()}};
      });
    }
    undo.emplace_back("schema change log removed", [&] {
      for (const auto& failure : tear_down_ddl(source, target)) spdlog::warn("{}", failure);
    });
    journal.run_step(m.id, kStepDdl, [&] {
      result.ddl = set_up_ddl(source, target, plan, options.ddl, true);
      return to_json(result.ddl);
    });
    undo.emplace_back("publication dropped", [&] { drop_publication(source, plan.publication); });
    journal.run_step(m.id, kStepPublication, [&] {
      create_publication(source, plan.publication, result.plan.tables);
      spdlog::info("source: publication {} created ({} tables)", plan.publication, result.plan.tables.size());
      return json{{"name", plan.publication}, {"tables", table_names_json(result.plan.tables)}};
    });
    if (!with_rows.empty()) {
      journal.run_step(m.id, kStepTruncate, [&] {
        // The whole set in one statement: an empty table referencing a full one is emptied with it.
        truncate_all(target, result.plan.tables);
        spdlog::info("target: truncated the {} replicated table(s) ({} held rows: {})", result.plan.tables.size(),
                     with_rows.size(), short_list(with_rows));
        return json{{"tables", table_names_json(result.plan.tables)}, {"held_rows", table_names_json(with_rows)}};
      });
      result.truncated = with_rows;
    }
    undo.emplace_back("fence lifted", [&] {
      fence::lift(target);
      if (fence_record) journal.settle(m.id, *fence_record, {{"lifted", true}});
    });
    journal.run_step(m.id, kStepFence, [&] {
      fence_record = journal.compensation(m.id, kStepFence, {{"database", "target"}});
      fence::fence(target, result.plan.tables, target_fence_reason(plan));
      spdlog::info("target: fenced {} table(s) against writes other than replication", result.plan.tables.size());
      return json{{"tables", result.plan.tables.size()}};
    });
    result.fenced = result.plan.tables.size();
    if (options.copy == CopyMode::parallel) {
      copy_then_subscribe(source, target, plan, journal, m.id, result, options);
    } else {
      journal.run_step(m.id, kStepSubscription, [&] {
        spdlog::info("target: creating subscription {} (the slot on the source waits for transactions running "
                     "there to finish)",
                     plan.subscription);
        create_subscription(target, {plan.subscription, plan.source, plan.publication, true, true, true});
        spdlog::info("target: subscription {} created (slot {} on the source); the initial copy is running",
                     plan.subscription, plan.subscription);
        return json{{"name", plan.subscription}, {"slot", plan.subscription}};
      });
    }
  } catch (const CopyInterrupted& e) {
    // Resumable: the slot, publication, fence and finished ranges stay; the phase stays starting.
    try {
      journal.record(m.id, kStepStart, EventStatus::failed, {{"error", e.what()}, {"resumable", true}});
    } catch (const std::exception& j) {
      spdlog::warn("could not journal the failure: {}", j.what());
    }
    throw;
  } catch (const std::exception& e) {
    std::string error = e.what();
    std::vector<std::string> undone, undo_failed;
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
      try {
        it->second();
        undone.push_back(it->first);
      } catch (const std::exception& u) {
        undo_failed.push_back(fmt::format("{} failed: {}", it->first, u.what()));
      }
    }
    try {
      // Fully undone: the migration is over. Otherwise it stays "starting" for sync stop.
      if (undo_failed.empty()) journal.set_phase(m.id, Phase::stopped);
      journal.record(m.id, kStepStart, EventStatus::failed,
                     {{"error", error}, {"undone", undone}, {"undo_failed", undo_failed}});
    } catch (const std::exception& j) {
      spdlog::warn("could not journal the failure: {}", j.what());
    }
    if (!undo_failed.empty()) {
      throw RuntimeError(fmt::format("sync start failed: {}; then {}; run pgshift sync stop to finish cleaning up",
                                     error, fmt::join(undo_failed, "; ")));
    }
    throw RuntimeError(fmt::format("sync start failed: {}; undone: {}", error,
                                   undone.empty() ? "nothing had been created" : fmt::format("{}", fmt::join(undone, ", "))));
  }

  finish_start(journal, m.id, result, took);
  return result;
}

namespace {

void finish_start(state::Journal& journal, int64_t mid, StartResult& result,
                  const std::function<util::Millis()>& took) {
  journal.set_phase(mid, Phase::syncing);
  json identity = json::array();
  for (const auto& c : result.plan.identity_changes) identity.push_back(c.to_json());
  json left_out = json::array();
  for (const auto& lo : result.plan.left_out) {
    left_out.push_back({{"table", lo.table.display()}, {"reason", catalog::to_string(lo.reason)}, {"detail", lo.detail}});
  }
  result.took = took();
  json detail{{"tables", table_names_json(result.plan.tables)},
              {"identity_changes", identity},
              {"accepted_differences", result.plan.accepted_differences},
              {"truncated", table_names_json(result.truncated)},
              {"left_out", left_out},
              {"took_ms", result.took.count()}};
  if (result.copy) detail["copy"] = to_json(*result.copy);
  journal.record(mid, kStepStart, EventStatus::finished, detail);
}

}  // namespace

}  // namespace pgshift::replication
