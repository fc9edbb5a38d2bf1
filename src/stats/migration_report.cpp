// migration(): the pgshift migration recorded in schema pgshift of this (target) database, read
// with the state room's journal readers: phase, direction, lag, soak clock, journal, last verify
// (the console's Migration tab, MCP `migration_status`).
#include <fmt/format.h>

#include <algorithm>

#include "stats/checks.hpp"
#include "stats/diagnostics.hpp"
#include "stats/inspector.hpp"
#include "stats/replication_progress.hpp"
#include "stats/subscription_progress.hpp"
#include "state/journal.hpp"

namespace pgshift::stats {
namespace {

using detail::NamedQuery;
using state::EventStatus;
using state::Phase;

constexpr std::string_view kJournalNeeds = "USAGE on schema pgshift and SELECT on pgshift.migration and pgshift.event";

// The journal's readers run their own SQL; these name them for findings.
constexpr NamedQuery kJournalRead{"journal", "Migration journal",
                                  "What pgshift did to this migration, newest first.", "", kJournalNeeds};
constexpr NamedQuery kSubscriptionRead{"subscription", "Migration replication",
                                       "The replication that carries the migration's writes, seen from this database.",
                                       ""};

// Schema changes followed during the move (the ddl room's log, replicated to both sides, and the
// outcomes and decisions recorded where they were applied or decided).
constexpr NamedQuery kSchemaChangesInstalled{"schema_changes", "Schema changes", "", R"sql(
SELECT to_regclass('pgshift.ddl_log') IS NOT NULL AND to_regclass('pgshift.ddl_outcome') IS NOT NULL
       AND to_regclass('pgshift.ddl_decision') IS NOT NULL AS installed
)sql", kJournalNeeds};
constexpr NamedQuery kSchemaChanges{"schema_changes", "Schema changes",
                                    "The application's schema changes captured during the move, newest first: the "
                                    "statement, who ran it, pgshift's verdict, and the outcome where this database "
                                    "applied or decided it (none here: not applied on this side).",
                                    R"sql(
SELECT l.captured_at AS at, l.role_name AS role, l.command_tag AS command, left(l.statement, 300) AS statement,
       l.verdict, l.reason, coalesce(o.outcome, d.decision, 'none here') AS outcome, coalesce(o.detail, '') AS detail
  FROM pgshift.ddl_log l
  LEFT JOIN pgshift.ddl_outcome o ON o.id = l.id
  LEFT JOIN pgshift.ddl_decision d ON d.id = l.id
 ORDER BY l.captured_at DESC, l.seq DESC, l.part DESC
 LIMIT 100
)sql", kJournalNeeds};

constexpr NamedQuery kSecondsSince{"soak", "Soak clock", "", R"sql(
SELECT extract(epoch FROM clock_timestamp() - $1::timestamptz)::float8 AS seconds
)sql"};

// Who writes where in each phase.
std::string direction(Phase p) {
  switch (p) {
    case Phase::starting:
    case Phase::syncing:
    case Phase::cutting_over: return "source -> target";
    case Phase::cut_over:
    case Phase::rolling_back: return "target -> source (reverse replication)";
    default: return "";
  }
}

std::string event_summary(const state::Event& e) {
  if (e.detail.is_object()) {
    for (const char* key : {"summary", "error", "reason"}) {
      if (e.detail.contains(key) && e.detail[key].is_string()) return e.detail[key].get<std::string>();
    }
  }
  return "";
}

void add_journal_section(detail::Inspector& in, const std::vector<state::Event>& events, int limit) {
  Section s;
  s.id = std::string(kJournalRead.id);
  s.title = std::string(kJournalRead.title);
  s.explanation = fmt::format("What pgshift did to this migration, newest first ({} of {} entries).",
                              std::min<size_t>(events.size(), static_cast<size_t>(std::max(limit, 0))), events.size());
  s.columns = {{"id", "count"},     {"at", "timestamp"}, {"command", "text"}, {"step", "text"},
               {"status", "text"},  {"summary", "text"}, {"who", "text"},     {"detail", "json"}};
  int n = 0;
  for (auto it = events.rbegin(); it != events.rend() && n < limit; ++it, ++n) {
    s.rows.push_back({it->id, it->at, it->command, it->step, state::to_string(it->status), event_summary(*it), it->who,
                      it->detail});
  }
  in.report().sections.push_back(std::move(s));
}

// The newest event of each step that failed (a later success of the step clears it).
void step_findings(detail::Inspector& in, const std::vector<state::Event>& events) {
  std::vector<std::string> seen;
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (std::find(seen.begin(), seen.end(), it->step) != seen.end()) continue;
    seen.push_back(it->step);
    if (it->status != EventStatus::failed) continue;
    bool verify = it->step == "verify";
    bool soak = it->step == state::kSoakStep;
    in.finding({verify ? Severity::critical : Severity::warning,
                verify ? "verify-failed" : soak ? "soak-failed" : "migration-step-failed", "step " + it->step,
                fmt::format("{} step {} failed at {}: {}", it->command, it->step, it->at, event_summary(*it)),
                verify ? "run pgshift verify to see the differing rows; do not cut over until it passes"
                : soak ? "look at the reasons, fix them, and run pgshift sync soak again"
                       : fmt::format("read the error, fix its cause, and run {} again", it->command)},
               kJournalRead.id);
  }
}

void soak_facts(detail::Inspector& in, const std::vector<state::Event>& events) {
  detail::SoakState soak = detail::soak_state(in, events);
  if (soak.state == "not run") {
    in.fact({"soak_state", "Soak", soak.state, "", "pgshift sync soak proves a clean stretch before cutover"});
    return;
  }
  in.fact({"soak_state", "Soak", soak.state, "", "since " + soak.since});
  in.fact({"soak_seconds", "Soak clock", soak.seconds ? nlohmann::json(*soak.seconds) : nullptr, "seconds",
           soak.state == "running" ? "clean time since the clock last (re)started" : "the clean time the soak required"});
}

// The newest verify verdict: `pgshift verify` records passed/failed (detail: summary, mode,
// table counts), cutover's gate finished/failed. Value "passed" or "failed"; hint the summary,
// when, by which command and in which mode; last_verify_at the time alone.
void verify_fact(detail::Inspector& in, const std::vector<state::Event>& events) {
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (it->step != "verify" || it->status == EventStatus::started) continue;
    std::string verdict = it->status == EventStatus::failed ? "failed" : "passed";
    std::string summary = event_summary(*it);
    std::string hint = (summary.empty() ? "" : summary + "; ") + "at " + it->at + " by " +
                       (it->command == "verify" ? "pgshift verify" : it->command);
    if (it->detail.is_object() && it->detail.contains("mode") && it->detail["mode"].is_string()) {
      hint += ", mode " + it->detail["mode"].get<std::string>();
    }
    in.fact({"last_verify", "Last verify", verdict, "", hint});
    in.fact({"last_verify_at", "Last verify at", it->at, "", ""});
    return;
  }
  in.fact({"last_verify", "Last verify", nullptr, "", "no verify recorded in the journal (pgshift verify records one)"});
}

// The schema change log as a section. (A change held on its way here is not in it: the apply
// that would add its row waits at it; pgshift sync ddl list and status show it from both sides.)
void schema_change_section(detail::Inspector& in) {
  std::optional<pg::Result> installed = in.query(kSchemaChangesInstalled);
  if (!installed || installed->rows() != 1 || !installed->row(0).boolean("installed")) return;
  in.section(kSchemaChanges);
}

void subscription_facts(detail::Inspector& in, const std::string& name) {
  SubscriptionProgress p;
  if (!in.guarded(kSubscriptionRead, [&] { p = subscription_progress(in.conn(), name); })) return;
  if (!p.exists) {
    in.fact({"lag_seconds", "Lag", nullptr, "seconds", "subscription " + name + " is not on this database"});
    return;
  }
  in.fact({"lag_seconds", "Lag", p.last_report_age ? nlohmann::json(*p.last_report_age) : nullptr, "seconds",
           "since subscription " + name + " last reported its position; pgshift sync status gives the bytes"});
  Section s{"subscription", "Migration tables", "Each replicated table's synchronization state on this database.",
            {{"schema", "text"}, {"name", "text"}, {"state", "text"}, {"copy_bytes", "bytes"}}, {}, {}};
  for (const auto& t : p.tables) {
    s.rows.push_back({t.schema, t.name, table_state_name(t.state),
                      t.copy_bytes ? nlohmann::json(*t.copy_bytes) : nlohmann::json(nullptr)});
  }
  in.report().sections.push_back(std::move(s));
  std::string object = "subscription " + name;
  if (!p.enabled) {
    in.finding({Severity::warning, "subscription-disabled", object, "the migration's subscription " + name + " is disabled",
                "pgshift sync status tells why; the journal shows who disabled it"},
               "subscription");
  } else if (!p.apply_pid) {
    in.finding({Severity::warning, "subscription-worker-down", object,
                "the migration's subscription " + name + " has no apply worker running",
                "read the target's server log for the apply worker's error"},
               "subscription");
  }
  if (p.apply_error_count.value_or(0) + p.sync_error_count.value_or(0) > 0) {
    in.finding({Severity::warning, "subscription-errors", object,
                fmt::format("subscription {} had {} apply and {} sync error(s)", name, p.apply_error_count.value_or(0),
                            p.sync_error_count.value_or(0)),
                "the target's server log has each error"},
               "subscription");
  }
}

// After the cutover this database publishes to the source through the reverse slot.
void reverse_slot_facts(detail::Inspector& in, const std::string& slot) {
  SlotProgress p;
  std::optional<pg::Lsn> now;
  if (!in.guarded(kSubscriptionRead, [&] {
        p = slot_progress(in.conn(), slot);
        now = current_wal_lsn(in.conn());
      })) {
    return;
  }
  if (!p.exists) {
    in.fact({"lag_bytes", "Lag", nullptr, "bytes", "reverse slot " + slot + " does not exist"});
    return;
  }
  nlohmann::json lag = nullptr;
  if (p.confirmed_flush && now) lag = std::max<int64_t>(0, static_cast<int64_t>(now->value() - p.confirmed_flush->value()));
  in.fact({"lag_bytes", "Lag", lag, "bytes", "WAL the source has not confirmed from reverse slot " + slot});
  if (!p.active) {
    in.finding({Severity::warning, "slot-inactive", "slot " + slot,
                "the reverse replication slot " + slot + " has no subscriber connected: the rollback window is not kept",
                "check the source's subscription (pgshift cutover status)"});
  }
}

}  // namespace

namespace detail {

SoakState soak_state(Inspector& in, const std::vector<state::Event>& events) {
  SoakState out;
  auto last = std::find_if(events.rbegin(), events.rend(), [](const state::Event& e) { return e.step == state::kSoakStep; });
  if (last == events.rend()) return out;
  out.since = last->at;
  if (last->status == EventStatus::started || last->status == EventStatus::info) {
    out.state = "running";
    if (auto r = in.query(kSecondsSince, {last->at}); r && r->rows() == 1) out.seconds = r->row(0).float64("seconds");
  } else if (last->status == EventStatus::passed) {
    out.state = "passed";
    const nlohmann::json& d = last->detail;
    if (d.is_object() && d.contains("for_ms") && d["for_ms"].is_number()) out.seconds = d["for_ms"].get<double>() / 1000.0;
  } else {
    out.state = "failed";
  }
  return out;
}

}  // namespace detail

Report migration(pg::Connection& conn, const Options& options) {
  detail::Inspector in(conn, options, "migration", "Migration");
  if (!in.supported()) return in.finish();
  state::Journal journal(conn, "console");
  std::optional<state::Migration> m;
  std::vector<state::Event> events;
  if (!in.guarded(kJournalRead, [&] {
        m = journal.current();
        if (m) events = journal.events(m->id);
      })) {
    return in.finish();
  }
  if (!m) {
    in.finding({Severity::info, "no-migration", "", "no pgshift migration recorded",
                "pgshift sync start records one in schema pgshift of the target database"});
    return in.finish();
  }
  const nlohmann::json plan = m->plan.is_object() ? m->plan : nlohmann::json::object();
  auto plan_text = [&](const char* key, const char* fallback) {
    return plan.contains(key) && plan[key].is_string() ? plan[key].get<std::string>() : std::string(fallback);
  };
  std::string subscription = plan_text("subscription", "pgshift");
  in.fact({"migration_id", "Migration", m->id, "count", "since " + m->created_at});
  in.fact({"phase", "Phase", state::to_string(m->phase), "", "updated " + m->updated_at});
  in.fact({"direction", "Direction", direction(m->phase), "", ""});
  in.fact({"source", "Source", plan_text("source", ""), "", ""});
  in.fact({"target", "Target", plan_text("target", ""), "", ""});
  in.fact({"subscription", "Subscription", subscription, "", ""});
  if (m->phase == Phase::syncing || m->phase == Phase::starting || m->phase == Phase::cutting_over) {
    subscription_facts(in, subscription);
  } else if (m->phase == Phase::cut_over || m->phase == Phase::rolling_back) {
    reverse_slot_facts(in, subscription + "_reverse");
  }
  soak_facts(in, events);
  verify_fact(in, events);
  schema_change_section(in);
  add_journal_section(in, events, options.journal_limit);
  step_findings(in, events);
  return in.finish();
}

}  // namespace pgshift::stats
