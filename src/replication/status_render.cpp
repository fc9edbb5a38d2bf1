// sync status as a human report and as JSON. Pure.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "replication/ddl_setup.hpp"
#include "replication/internal.hpp"
#include "util/duration.hpp"
#include "util/terminal.hpp"
#include "util/text_table.hpp"

namespace pgshift::replication {
namespace {

using nlohmann::json;

template <typename T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

std::string copied(const TableStatus& t) {
  if (!t.copy_bytes) return "";
  std::string out = util::format_bytes(*t.copy_bytes);
  if (t.copy_bytes_total && *t.copy_bytes_total > 0) out += " of " + util::format_bytes(*t.copy_bytes_total);
  if (t.copy_tuples) out += fmt::format(" ({} rows)", *t.copy_tuples);
  return out;
}

util::Color state_color(const std::string& state) {
  if (state == "ready") return util::Color::green;
  if (state == "missing") return util::Color::red;
  return util::Color::yellow;
}

std::string subscription_line(const Status& st) {
  const auto& sub = st.subscription_state;
  if (!sub.exists) return fmt::format("subscription {}: not on the {}", st.names.subscription, st.subscriber_role());
  std::string worker = sub.apply_pid ? fmt::format("apply worker running (pid {})", *sub.apply_pid)
                                     : std::string("apply worker not running");
  std::string errors = sub.apply_error_count
                           ? fmt::format("errors: {} apply, {} table-sync", *sub.apply_error_count,
                                         sub.sync_error_count.value_or(0))
                           : std::string("errors: n/a before PostgreSQL 15");
  return fmt::format("subscription {}: {}, {}, {} table-sync worker(s), {}", st.names.subscription,
                     sub.enabled ? "enabled" : util::paint("disabled", util::Color::red), worker, sub.sync_workers,
                     errors);
}

std::string slot_line(const Status& st) {
  if (!st.slot.exists) return fmt::format("slot    {}: not on the {}", st.names.subscription, st.publisher_role());
  return fmt::format("slot    {}: {}, wal_status {}, retains {} (max_slot_wal_keep_size {})", st.names.subscription,
                     st.slot.active ? "active" : "inactive", st.slot.wal_status.empty() ? "n/a" : st.slot.wal_status,
                     st.slot.retained_bytes ? util::format_bytes(*st.slot.retained_bytes) : "n/a",
                     st.max_slot_wal_keep_size < 0 ? "unlimited" : util::format_bytes(st.max_slot_wal_keep_size));
}

std::string lag_line(const Status& st) {
  if (!st.lag_bytes) return "lag     unknown (the slot has not confirmed a position)";
  return fmt::format("lag     {}, {}  ({} at {}, confirmed {})", util::format_bytes(*st.lag_bytes),
                     st.lag_seconds ? fmt::format("{:.1f}s", *st.lag_seconds)
                                    : std::string("seconds unknown (no report from the subscriber)"),
                     st.publisher_role(),
                     st.source_lsn ? st.source_lsn->to_string() : "?",
                     st.slot.confirmed_flush ? st.slot.confirmed_flush->to_string() : "?");
}

// The count by state, then one row per table (only those not ready beyond `limit` tables).
std::string tables_block(const Status& st, size_t limit) {
  std::string out = fmt::format(
      "tables  {} published: {} ready, {} synced, {} copying, {} init{}{}\n", st.tables.size(), st.count_state("ready"),
      st.count_state("synced"), st.count_state("copying"), st.count_state("init"),
      st.copy ? fmt::format(", {} copied, {} waiting", st.count_state("copied"), st.count_state("waiting")) : "",
      st.count_state("missing") ? fmt::format(", {} not in the subscription", st.count_state("missing")) : "");
  util::TextTable table({"TABLE", "STATE", "COPIED"});
  size_t hidden = 0;
  for (const auto& t : st.tables) {
    if (st.tables.size() > limit && t.state == "ready") {
      ++hidden;
      continue;
    }
    table.add_row({t.table.display(), util::paint(t.state, state_color(t.state)), copied(t)});
  }
  if (!table.empty()) {
    std::string rendered = table.render();
    for (size_t start = 0; start < rendered.size();) {
      size_t end = rendered.find('\n', start);
      out += "  " + rendered.substr(start, end - start + 1);
      start = end + 1;
    }
  }
  if (hidden) out += fmt::format("  ... and {} more ready\n", hidden);
  return out;
}

}  // namespace

std::string detail::render_left_out(const std::vector<catalog::LeftOut>& left_out) {
  if (left_out.empty()) return "";
  // Partitions replicated through their root are one line per root (a table partitioned by
  // month has dozens); the rest one line each, at most kListed (JSON has them all).
  constexpr size_t kListed = 20;
  std::vector<std::pair<std::string, std::string>> lines;  // name, why
  std::map<std::string, std::vector<std::string>> by_root;
  for (const auto& lo : left_out) {
    if (lo.reason == catalog::LeftOutReason::via_root && !lo.detail.empty()) {
      by_root[lo.detail].push_back(lo.table.display());
      continue;
    }
    lines.emplace_back(lo.table.display(), catalog::explain(lo.reason) +
                                               (lo.detail.empty() ? "" : fmt::format(" ({})", lo.detail)));
  }
  for (const auto& [root, parts] : by_root) {
    std::string some = parts.front();
    if (parts.size() == 2) some += ", " + parts[1];
    if (parts.size() > 2) some += fmt::format(" … {}", parts.back());
    lines.emplace_back(fmt::format("{} partitions ({})", root, parts.size()),
                       fmt::format("replicated through their root {} ({})", root, some));
  }
  std::string out = fmt::format("left out ({})\n", left_out.size());
  size_t shown = std::min(lines.size(), kListed);
  size_t width = 0;
  for (size_t i = 0; i < shown; ++i) width = std::max(width, util::display_width(lines[i].first));
  for (size_t i = 0; i < shown; ++i) {
    out += fmt::format("  {}{}  {}\n", lines[i].first, std::string(width - util::display_width(lines[i].first), ' '),
                       lines[i].second);
  }
  if (lines.size() > shown) out += fmt::format("  ... and {} more (--json lists them all)\n", lines.size() - shown);
  return out;
}

json detail::left_out_json(const std::vector<catalog::LeftOut>& left_out) {
  json out = json::array();
  for (const auto& lo : left_out) {
    out.push_back({{"table", lo.table.display()}, {"reason", catalog::to_string(lo.reason)},
                   {"detail", lo.detail}, {"explanation", catalog::explain(lo.reason)}});
  }
  return out;
}

static json ddl_json(const Status::Ddl& d) {
  json recent = json::array(), pending = json::array();
  for (const auto& e : d.recent) recent.push_back(ddl::to_json(e));
  for (const auto& e : d.pending) pending.push_back(ddl::to_json(e));
  return {{"followed", d.followed}, {"capturing", d.capturing}, {"policy", d.policy}, {"recent", recent},
          {"pending", pending}};
}

// Schema changes: the newest followed ones with their outcome, and what waits.
static std::string ddl_block(const Status::Ddl& d, const std::string& writer, const std::string& replica) {
  if (!d.followed) return "";
  std::string out = fmt::format("ddl     schema changes on the {} {} (--ddl {}): {} recorded, {} not applied yet\n", writer,
                                d.capturing ? "follow to the " + replica : "are not captured", d.policy,
                                d.recent.size(), d.pending.size());
  for (const auto& e : d.recent) {
    std::string outcome = e.outcome.empty() ? (ddl::held(e, d.policy) ? util::paint("held", util::Color::red)
                                                                             : std::string("pending"))
                                            : e.outcome;
    out += fmt::format("  {} {} {:<11} {}\n", e.id.substr(0, 8), e.captured_at.substr(0, 19), outcome,
                       ddl::one_line(e.statement, 100));
  }
  return out;
}

json to_json(const Status& st) {
  json tables = json::array();
  for (const auto& t : st.tables) {
    tables.push_back({{"table", t.table.display()},
                      {"state", t.state},
                      {"copy_bytes", opt(t.copy_bytes)},
                      {"copy_bytes_total", opt(t.copy_bytes_total)},
                      {"copy_tuples", opt(t.copy_tuples)}});
  }
  json left_out = detail::left_out_json(st.left_out);
  json drift = json::array();
  for (const auto& d : st.drift) {
    drift.push_back({{"table", d.table.display()}, {"column", d.column}, {"kind", d.kind},
                     {"description", d.description}, {"source_fingerprint", d.source_fingerprint},
                     {"target_fingerprint", d.target_fingerprint}, {"statement", d.statement},
                     {"run_on", d.run_on}});
  }
  json identities = json::array();
  for (const auto& c : st.identity_changes) identities.push_back(c.to_json());
  json warnings = json::array();
  for (const auto& w : st.warnings) warnings.push_back({{"code", w.code}, {"message", w.message}});
  const auto& sub = st.subscription_state;
  json unpublished = json::array();
  for (const auto& t : st.unpublished) unpublished.push_back(t.display());
  json summary = {{"tables", st.tables.size()}};
  for (const char* s : {"init", "copying", "synced", "ready", "missing"}) summary[s] = st.count_state(s);
  return json{
      {"migration_id", st.migration_id ? json(st.migration_id) : json(nullptr)},
      {"phase", state::to_string(st.phase)},
      {"phase_since", st.phase_since.empty() ? json(nullptr) : json(st.phase_since)},
      {"source", st.names.source},
      {"target", st.names.target},
      {"direction", st.replicating_back ? "target_to_source" : "source_to_target"},
      {"publication", {{"name", st.names.publication}, {"exists", st.publication_exists}}},
      {"subscription",
       {{"name", st.names.subscription},
        {"exists", sub.exists},
        {"enabled", sub.enabled},
        {"apply_worker_pid", opt(sub.apply_pid)},
        {"sync_workers", sub.sync_workers},
        {"apply_error_count", opt(sub.apply_error_count)},
        {"sync_error_count", opt(sub.sync_error_count)},
        {"last_message_age_seconds", opt(sub.last_message_age)}}},
      {"lag",
       {{"bytes", opt(st.lag_bytes)},
        {"seconds", opt(st.lag_seconds)},
        {"source_lsn", st.source_lsn ? json(st.source_lsn->to_string()) : json(nullptr)},
        {"confirmed_flush_lsn", st.slot.confirmed_flush ? json(st.slot.confirmed_flush->to_string()) : json(nullptr)}}},
      {"slot",
       {{"name", st.names.subscription},
        {"exists", st.slot.exists},
        {"active", st.slot.active},
        {"wal_status", st.slot.wal_status},
        {"retained_bytes", opt(st.slot.retained_bytes)},
        {"safe_wal_size", opt(st.slot.safe_wal_size)},
        {"max_slot_wal_keep_size", st.max_slot_wal_keep_size}}},
      {"tables", tables},
      {"summary", summary},
      {"left_out", left_out},
      {"drift", drift},
      {"identity_changes", identities},
      {"fenced_tables", st.fenced_tables},
      {"copy", st.copy ? json{{"state", st.copy->state},
                              {"jobs", st.copy->jobs},
                              {"units_total", st.copy->units_total},
                              {"units_done", st.copy->units_done},
                              {"bytes_total", st.copy->bytes_total},
                              {"bytes_done", st.copy->bytes_done},
                              {"rows_done", st.copy->rows_done},
                              {"deferred_open", st.copy->deferred_open},
                              {"elapsed_seconds", st.copy->elapsed_seconds},
                              {"eta_seconds", opt(st.copy->eta_seconds)}}
                       : json(nullptr)},
      {"unpublished", unpublished},
      {"ddl", ddl_json(st.ddl)},
      {"warnings", warnings},
  };
}

std::string render(const Status& st, size_t table_limit) {
  std::string out;
  if (st.migration_id == 0) {
    out += fmt::format("no migration recorded on target {}; pgshift sync start begins one\n", st.names.target);
  } else {
    out += fmt::format("migration {}: {} since {}\n", st.migration_id,
                       util::paint(state::to_string(st.phase), util::Color::bold), st.phase_since);
  }
  if (st.phase == state::Phase::finalized) {
    out += fmt::format("source  {}  →  target  {}: the migration is over (finalized); the target is the writer\n",
                       st.names.source, st.names.target);
    return out;
  }
  if (st.replicating_back) {
    out += fmt::format("target  {}  →  source  {}  (replicating back: the target is the writer, pgshift rollback "
                       "can switch back)\n",
                       st.names.target, st.names.source);
  } else {
    out += fmt::format("source  {}  →  target  {}\n", st.names.source, st.names.target);
  }
  const bool nothing_there = !st.subscription_state.exists && !st.slot.exists && !st.publication_exists;
  if (nothing_there) {
    out += fmt::format("no publication {}, subscription {} or slot {} exists\n", st.names.publication, st.names.subscription,
                       st.names.subscription);
  } else {
    out += subscription_line(st) + "\n";
    out += lag_line(st) + "\n";
    out += slot_line(st) + "\n";
  }
  out += fmt::format("fence   {} {} table(s) reject client writes\n", st.fenced_tables, st.subscriber_role());
  if (st.copy) {
    const CopyStatus& c = *st.copy;
    std::string state = c.state == "interrupted" ? util::paint(c.state, util::Color::red) : c.state;
    if (c.units_total == 0) {
      // No plan journaled yet: no sizes to show (not "0 B of about 0 B").
      out += fmt::format("copy    parallel, {}: no plan yet (the snapshot, then dropping the indexes it rebuilds "
                         "after{})\n",
                         state, c.deferred_open ? fmt::format(": {} dropped so far", c.deferred_open) : "");
    } else {
      int pct = c.bytes_total > 0 ? static_cast<int>(std::min<int64_t>(100, c.bytes_done * 100 / c.bytes_total)) : 0;
      out += fmt::format("copy    parallel, {}: {} of about {} ({}%), {} of {} unit(s), {} rows in finished units{}{}\n",
                         state, util::format_bytes(c.bytes_done), util::format_bytes(c.bytes_total), pct, c.units_done,
                         c.units_total, c.rows_done,
                         c.eta_seconds ? fmt::format(", ETA {}", util::format_duration(util::Millis(static_cast<int64_t>(*c.eta_seconds * 1000)))) : "",
                         c.deferred_open ? fmt::format("; {} index(es)/constraint(s) dropped until it ends", c.deferred_open) : "");
    }
    if (c.state == "interrupted") {
      out += "        no pgshift copy is connected: run pgshift sync start again to resume, or sync stop to undo\n";
    }
  }
  if (!st.tables.empty()) {
    out += tables_block(st, table_limit);
  }
  out += detail::render_left_out(st.left_out);
  if (st.drift.empty()) {
    out += "drift   none\n";
  } else {
    out += fmt::format("drift   {} difference(s) since sync start — apply the DDL on the {}:\n", st.drift.size(),
                       st.subscriber_role());
    for (const auto& d : st.drift) {
      out += "  " + util::paint(d.description, util::Color::red) + "\n";
      if (!d.statement.empty()) out += fmt::format("    run on the {}: {};\n", d.run_on, d.statement);
    }
  }
  out += ddl_block(st.ddl, st.publisher_role(), st.subscriber_role());
  if (!st.identity_changes.empty()) {
    out += "replica identities set by pgshift (restored by sync stop)\n";
    for (const auto& c : st.identity_changes) out += "  " + c.describe() + "\n";
  }
  for (const auto& w : st.warnings) {
    out += fmt::format("{} {}: {}\n", util::paint("warning", util::Color::yellow), w.code, w.message);
  }
  return out;
}

}  // namespace pgshift::replication
