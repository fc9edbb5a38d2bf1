#include "state/journal.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <array>

#include "pg/transaction.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"

namespace pgshift::state {
namespace {

// The advisory lock key that serializes schema creation between concurrent first uses
// ('pgsh' as a 32-bit class id, object 0; state::MigrationLock uses object 1).
constexpr std::string_view kEnsureSql[] = {
    "SELECT pg_advisory_xact_lock(1885827944, 0)",
    "CREATE SCHEMA IF NOT EXISTS pgshift",
    R"sql(
CREATE TABLE IF NOT EXISTS pgshift.migration (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  plan jsonb NOT NULL,
  phase text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
))sql",
    R"sql(
CREATE TABLE IF NOT EXISTS pgshift.event (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  migration_id bigint NOT NULL REFERENCES pgshift.migration (id),
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  command text NOT NULL,
  step text NOT NULL,
  status text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}',
  who text NOT NULL,
  version text NOT NULL
))sql",
    "CREATE INDEX IF NOT EXISTS event_migration_step ON pgshift.event (migration_id, step, id)",
    // Append-only: history is evidence, so an UPDATE or DELETE is an error. (TRUNCATE or
    // DROP SCHEMA by an owner still works, deliberately: that is removing pgshift's state.)
    R"sql(
CREATE OR REPLACE FUNCTION pgshift.event_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  RAISE EXCEPTION 'pgshift.event is append-only' USING ERRCODE = 'insufficient_privilege';
END $$)sql",
    "DROP TRIGGER IF EXISTS event_append_only ON pgshift.event",
    R"sql(
CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON pgshift.event
FOR EACH ROW EXECUTE FUNCTION pgshift.event_append_only())sql",
};

constexpr std::string_view kSchemaExistsSql = R"sql(
SELECT to_regclass('pgshift.event') IS NOT NULL AND to_regclass('pgshift.migration') IS NOT NULL AS present
)sql";

constexpr std::string_view kIso = R"(to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))";

std::string iso(std::string_view column) { return fmt::format(fmt::runtime(kIso), column); }

std::string migration_columns() {
  return fmt::format("id, plan::text AS plan, phase, {} AS created_at, {} AS updated_at", iso("created_at"),
                     iso("updated_at"));
}

std::string event_columns() {
  return fmt::format("id, migration_id, {} AS at, command, step, status, detail::text AS detail, who, version",
                     iso("at"));
}

Migration migration_from(const pg::Row& row) {
  Migration m;
  m.id = row.int64("id");
  m.plan = nlohmann::json::parse(row.view("plan"));
  m.phase = phase_from_string(row.view("phase"));
  m.created_at = row.text("created_at");
  m.updated_at = row.text("updated_at");
  return m;
}

Event event_from(const pg::Row& row) {
  Event e;
  e.id = row.int64("id");
  e.migration_id = row.int64("migration_id");
  e.at = row.text("at");
  e.command = row.text("command");
  e.step = row.text("step");
  e.status = event_status_from_string(row.view("status"));
  e.detail = nlohmann::json::parse(row.view("detail"));
  e.who = row.text("who");
  e.version = row.text("version");
  return e;
}

// The detail as stored: every registered secret replaced.
std::string stored_detail(const nlohmann::json& detail) {
  return util::redact(detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

constexpr std::array<std::string_view, 8> kPhases = {"none",         "starting", "syncing",     "stopped",
                                                     "cutting_over", "cut_over", "rolling_back", "finalized"};
constexpr std::array<std::string_view, 7> kStatuses = {"started", "finished",     "failed", "info",
                                                       "passed",  "compensation", "settled"};

}  // namespace

std::string to_string(Phase phase) { return std::string(kPhases.at(static_cast<size_t>(phase))); }

Phase phase_from_string(std::string_view text) {
  for (size_t i = 0; i < kPhases.size(); ++i) {
    if (kPhases[i] == text) return static_cast<Phase>(i);
  }
  throw RuntimeError(fmt::format("pgshift.migration: unknown phase '{}' (written by a newer pgshift?)", text));
}

std::string to_string(EventStatus status) { return std::string(kStatuses.at(static_cast<size_t>(status))); }

EventStatus event_status_from_string(std::string_view text) {
  for (size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == text) return static_cast<EventStatus>(i);
  }
  throw RuntimeError(fmt::format("pgshift.event: unknown status '{}' (written by a newer pgshift?)", text));
}

std::string who_am_i() {
  std::string user = "unknown";
  if (const passwd* pw = getpwuid(geteuid())) user = pw->pw_name;
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  return user + "@" + (host[0] ? host.data() : "unknown");
}

Journal::Journal(pg::Connection& target, std::string command) : conn_(target), command_(std::move(command)) {}

bool Journal::schema_exists() { return conn_.exec(kSchemaExistsSql).row(0).boolean("present"); }

void Journal::ensure_schema() {
  if (ensured_) return;
  if (!schema_exists()) {
    pg::Transaction tx(conn_);
    for (auto sql : kEnsureSql) conn_.exec(sql);
    tx.commit();
  }
  ensured_ = true;
}

std::optional<Migration> Journal::current() {
  if (!ensured_ && !schema_exists()) return std::nullopt;
  pg::Result r = conn_.exec(fmt::format("SELECT {} FROM pgshift.migration ORDER BY id DESC LIMIT 1", migration_columns()));
  if (r.empty()) return std::nullopt;
  return migration_from(r.row(0));
}

std::vector<Event> Journal::events(int64_t migration_id) {
  std::vector<Event> out;
  if (!ensured_ && !schema_exists()) return out;
  pg::Result r = conn_.exec(
      fmt::format("SELECT {} FROM pgshift.event WHERE migration_id = $1 ORDER BY id", event_columns()),
      {migration_id});
  for (int i = 0; i < r.rows(); ++i) out.push_back(event_from(r.row(i)));
  return out;
}

std::optional<Event> Journal::last_event(int64_t migration_id, std::string_view step,
                                         std::optional<EventStatus> status) {
  if (!ensured_ && !schema_exists()) return std::nullopt;
  pg::Result r = conn_.exec(fmt::format("SELECT {} FROM pgshift.event WHERE migration_id = $1 AND step = $2 "
                                        "AND ($3::text IS NULL OR status = $3) ORDER BY id DESC LIMIT 1",
                                        event_columns()),
                            {migration_id, step,
                             status ? pg::Param(to_string(*status)) : pg::Param(std::nullopt)});
  if (r.empty()) return std::nullopt;
  return event_from(r.row(0));
}

std::vector<Event> Journal::open_compensations(int64_t migration_id, std::string_view step) {
  std::vector<Event> out;
  if (!ensured_ && !schema_exists()) return out;
  // A settled event carries the id of the compensation it settles in detail.settles.
  pg::Result r = conn_.exec(fmt::format(R"sql(
SELECT {} FROM pgshift.event c
 WHERE c.migration_id = $1 AND c.status = 'compensation' AND ($2 = '' OR c.step = $2)
   AND NOT EXISTS (SELECT 1 FROM pgshift.event s
                    WHERE s.migration_id = c.migration_id AND s.status = 'settled'
                      AND (s.detail->>'settles')::bigint = c.id)
 ORDER BY c.id DESC
)sql",
                                        event_columns()),
                            {migration_id, step});
  for (int i = 0; i < r.rows(); ++i) out.push_back(event_from(r.row(i)));
  return out;
}

Migration Journal::begin(const nlohmann::json& plan, Phase phase) {
  ensure_schema();
  pg::Result r = conn_.exec(
      fmt::format("INSERT INTO pgshift.migration (plan, phase) VALUES ($1::jsonb, $2) RETURNING {}",
                  migration_columns()),
      {stored_detail(plan), to_string(phase)});
  return migration_from(r.row(0));
}

void Journal::set_phase(int64_t migration_id, Phase phase) {
  ensure_schema();
  conn_.exec("UPDATE pgshift.migration SET phase = $2, updated_at = clock_timestamp() WHERE id = $1",
             {migration_id, to_string(phase)});
}

int64_t Journal::record(int64_t migration_id, std::string_view step, EventStatus status,
                        const nlohmann::json& detail) {
  ensure_schema();
  static const std::string who = who_am_i();
  pg::Result r = conn_.exec(
      "INSERT INTO pgshift.event (migration_id, command, step, status, detail, who, version) "
      "VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7) RETURNING id",
      {migration_id, command_, step, to_string(status), stored_detail(detail.is_null() ? nlohmann::json::object() : detail),
       who, PGSHIFT_VERSION});
  return r.scalar_int64();
}

Event Journal::compensation(int64_t migration_id, std::string_view step, const nlohmann::json& undo) {
  int64_t id = record(migration_id, step, EventStatus::compensation, undo);
  Event e;
  e.id = id;
  e.migration_id = migration_id;
  e.command = command_;
  e.step = std::string(step);
  e.status = EventStatus::compensation;
  e.detail = undo;
  return e;
}

void Journal::settle(int64_t migration_id, const Event& compensation, const nlohmann::json& detail) {
  nlohmann::json d = detail.is_object() ? detail : nlohmann::json::object();
  d["settles"] = compensation.id;
  record(migration_id, compensation.step, EventStatus::settled, d);
}

nlohmann::json Journal::run_step(int64_t migration_id, std::string_view step,
                                 const std::function<nlohmann::json()>& fn, const nlohmann::json& started_detail) {
  record(migration_id, step, EventStatus::started, started_detail);
  nlohmann::json result;
  try {
    result = fn();
  } catch (const std::exception& e) {
    try {
      record(migration_id, step, EventStatus::failed, {{"error", e.what()}});
    } catch (const std::exception&) {
      // The journal itself may be what failed; the original error is the one to report.
    }
    throw;
  }
  record(migration_id, step, EventStatus::finished, result.is_null() ? nlohmann::json::object() : result);
  return result;
}

}  // namespace pgshift::state
