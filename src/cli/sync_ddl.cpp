// `pgshift sync ddl list|apply|skip`: the schema changes followed during a migration, and the
// operator's decision on a held one. While syncing the source writes and the target applies;
// after cutover (the replication back) the other way round.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "ddl/ddl.hpp"
#include "pg/connection.hpp"
#include "state/journal.hpp"
#include "state/recorded_plan.hpp"
#include "util/error.hpp"

namespace pgshift::cli {
namespace {

struct Direction {
  pg::Connection writer;
  pg::Connection replica;
  std::string writer_role, replica_role;
};

Direction open_direction(const state::Plan& given) {
  pg::Connection source = pg::Connection::open(given.source, "source");
  pg::Connection target = pg::Connection::open(given.target, "target");
  state::Journal journal(target, "sync ddl");
  std::optional<state::Migration> m = journal.current();
  bool back = m && (m->phase == state::Phase::cut_over || m->phase == state::Phase::rolling_back);
  if (back) return {std::move(target), std::move(source), "target", "source"};
  return {std::move(source), std::move(target), "source", "target"};
}

std::string render(const std::vector<ddl::Entry>& entries, const std::string& policy, const Direction& d) {
  if (entries.empty()) {
    return fmt::format("no schema change recorded on the {} (--ddl {})\n", d.writer_role, policy.empty() ? "?" : policy);
  }
  std::string out = fmt::format("schema changes on the {}, applied on the {} in stream order (--ddl {}):\n",
                                d.writer_role, d.replica_role, policy);
  for (const auto& e : entries) {
    std::string outcome = !e.outcome.empty() ? e.outcome : ddl::held(e, policy) ? "HELD" : "pending";
    out += fmt::format("{}  {}  {:<11} {} ({})\n", e.id, e.captured_at.substr(0, 19), outcome, e.tag, e.role);
    out += fmt::format("    {}\n", ddl::one_line(e.statement, 300));
    if (e.verdict != "follow" || ddl::held(e, policy)) out += fmt::format("    why: {}\n", e.reason);
    if (!e.outcome_detail.empty()) out += fmt::format("    {}: {}\n", d.replica_role, e.outcome_detail);
  }
  return out;
}

}  // namespace

void register_sync_ddl(CLI::App* sync, Context& ctx) {
  CLI::App* ddl_cmd = sync->add_subcommand(
      "ddl", "Schema changes followed during the migration: list them, apply or skip a held one");
  ddl_cmd->require_subcommand(1);

  struct ListFlags {
    state::PlanInputs plan;
    bool json = false;
    int limit = 100;
  };
  auto list = std::make_shared<ListFlags>();
  CLI::App* list_cmd = ddl_cmd->add_subcommand("list", "The newest schema changes with their outcome on the other side");
  add_plan_flags(list_cmd, list->plan, false);
  list_cmd->add_flag("--json", list->json, "Print JSON");
  list_cmd->add_option("--limit", list->limit, "How many, newest last")->capture_default_str();
  list_cmd->callback([list, &ctx] {
    ctx.prepare("sync-ddl");
    if (list->limit < 1) throw UsageError("--limit: must be at least 1");
    state::Plan plan = state::resolve_plan(list->plan);
    Direction d = open_direction(plan);
    std::vector<ddl::Entry> entries = ddl::entries(d.writer, d.replica, list->limit);
    std::string policy = ddl::recorded_policy(d.replica);
    if (list->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& e : entries) {
        nlohmann::json j = ddl::to_json(e);
        j["held"] = ddl::held(e, policy);
        out.push_back(j);
      }
      print_json({{"writer", d.writer_role}, {"replica", d.replica_role}, {"policy", policy}, {"entries", out}});
    } else {
      std::string text = render(entries, policy, d);
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
    ctx.exit_code = 0;
  });

  struct DecideFlags {
    state::PlanInputs plan;
    std::string id;
    bool json = false;
  };
  auto add_decision = [&ctx, ddl_cmd](const std::string& name, ddl::Decision decision, const std::string& help) {
    auto flags = std::make_shared<DecideFlags>();
    CLI::App* cmd = ddl_cmd->add_subcommand(name, help);
    add_plan_flags(cmd, flags->plan, false);
    cmd->add_option("id", flags->id, "The schema change's id (or a unique prefix), from sync ddl list")->required();
    cmd->add_flag("--json", flags->json, "Print JSON");
    cmd->callback([flags, decision, name, &ctx] {
      ctx.prepare("sync-ddl");
      state::Plan plan = state::resolve_plan(flags->plan);
      Direction d = open_direction(plan);
      ddl::Entry e = ddl::decide(d.writer, d.replica, flags->id, decision);
      if (flags->json) {
        print_json({{"decision", name}, {"entry", ddl::to_json(e)}});
      } else {
        std::printf("%s\n", fmt::format("schema change {}: {} recorded on the {}; its apply worker acts on it at its next "
                                        "retry (pgshift sync ddl list shows the outcome)",
                                        e.id, name, d.replica_role)
                                .c_str());
      }
      ctx.exit_code = 0;
    });
  };
  add_decision("apply", ddl::Decision::apply,
               "Run a held schema change on the other side (its DDL statements only) and go on");
  add_decision("skip", ddl::Decision::skip,
               "Go on past a held schema change without running it (after applying it by hand)");
}

}  // namespace pgshift::cli
