// Reading the DDL log of the writer with the replica's outcomes, and the operator's decisions.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ddl/ddl.hpp"
#include "util/error.hpp"

namespace pgshift::ddl {
namespace {

constexpr std::string_view kEntriesSql = R"sql(
SELECT * FROM (
  SELECT id::text AS id, seq, captured_at::text AS captured_at, coalesce(lsn::text, '') AS lsn, role_name, search_path,
         command_tag, array_to_json(tables)::text AS tables, statement, part, verdict, reason,
         array_to_json(statements)::text AS statements
    FROM pgshift.ddl_log ORDER BY captured_at DESC, seq DESC LIMIT $1) newest
 ORDER BY captured_at, seq
)sql";

constexpr std::string_view kOutcomesSql = R"sql(
SELECT id::text AS id, outcome, detail, at::text AS at FROM pgshift.ddl_outcome
 WHERE id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb))::uuid[])
)sql";

constexpr std::string_view kFindSql = R"sql(
SELECT id::text AS id FROM pgshift.ddl_log WHERE id::text LIKE $1 || '%' ORDER BY seq LIMIT 2
)sql";

constexpr std::string_view kDecideSql = R"sql(
INSERT INTO pgshift.ddl_decision (id, decision) VALUES ($1::uuid, $2)
ON CONFLICT (id) DO UPDATE SET decision = EXCLUDED.decision, at = clock_timestamp()
)sql";

std::vector<std::string> json_strings(std::string_view text) {
  std::vector<std::string> out;
  nlohmann::json doc = nlohmann::json::parse(text.empty() ? std::string_view("[]") : text);
  if (doc.is_array()) {
    for (const auto& v : doc) out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

}  // namespace

std::vector<Entry> entries(pg::Connection& writer, pg::Connection& replica, int limit) {
  std::vector<Entry> out;
  if (!installed(writer)) return out;
  pg::Result r = writer.exec(kEntriesSql, {limit});
  nlohmann::json ids = nlohmann::json::array();
  for (int i = 0; i < r.rows(); ++i) {
    pg::Row row = r.row(i);
    Entry e;
    e.id = row.text("id");
    e.seq = row.int64("seq");
    e.captured_at = row.text("captured_at");
    e.lsn = row.text("lsn");
    e.role = row.text("role_name");
    e.search_path = row.text("search_path");
    e.tag = row.text("command_tag");
    e.tables = json_strings(row.view("tables"));
    e.statement = row.text("statement");
    e.part = static_cast<int>(row.int64("part"));
    e.verdict = row.text("verdict");
    e.reason = row.text("reason");
    e.statements = json_strings(row.view("statements"));
    ids.push_back(e.id);
    out.push_back(std::move(e));
  }
  // The log table replicates both ways, so after a cutover the writer's log also holds the
  // changes it applied itself while it was the replica: their outcome is here, the others' on the
  // replica. A side never applies what it captured, so at most one side has an outcome.
  auto read_outcomes = [&](pg::Connection& side) {
    if (!installed(side)) return;
    pg::Result o = side.exec(kOutcomesSql, {ids.dump()});
    for (int i = 0; i < o.rows(); ++i) {
      pg::Row row = o.row(i);
      std::string id = row.text("id");
      for (auto& e : out) {
        if (e.id != id || !e.outcome.empty()) continue;
        e.outcome = row.text("outcome");
        e.outcome_detail = row.text("detail");
        e.outcome_at = row.text("at");
      }
    }
  };
  if (out.empty()) return out;
  read_outcomes(replica);
  read_outcomes(writer);
  return out;
}

std::vector<Entry> pending(const std::vector<Entry>& all) {
  std::vector<Entry> out;
  std::copy_if(all.begin(), all.end(), std::back_inserter(out), [](const Entry& e) { return e.outcome.empty(); });
  return out;
}

std::string recorded_policy(pg::Connection& conn) {
  if (!installed(conn)) return "";
  pg::Result r = conn.exec("SELECT policy FROM pgshift.ddl_settings");
  return r.empty() ? "" : r.scalar();
}

bool held(const Entry& entry, const std::string& policy) {
  return entry.outcome.empty() && entry.part == 1 && entry.verdict != "skip" &&
         (entry.verdict == "hold" || policy == "hold");
}

nlohmann::json to_json(const Entry& e) {
  return {{"id", e.id},
          {"seq", e.seq},
          {"captured_at", e.captured_at},
          {"lsn", e.lsn},
          {"role", e.role},
          {"search_path", e.search_path},
          {"command_tag", e.tag},
          {"tables", e.tables},
          {"statement", e.statement},
          {"part", e.part},
          {"verdict", e.verdict},
          {"reason", e.reason},
          {"statements", e.statements},
          {"outcome", e.outcome.empty() ? nlohmann::json() : nlohmann::json(e.outcome)},
          {"outcome_detail", e.outcome_detail},
          {"outcome_at", e.outcome_at}};
}

Entry decide(pg::Connection& writer, pg::Connection& replica, const std::string& id, Decision decision) {
  if (id.empty() || id.find_first_not_of("0123456789abcdef-") != std::string::npos) {
    throw UsageError(fmt::format("'{}' is not a schema change id (see pgshift sync ddl list)", id));
  }
  if (!installed(writer) || !installed(replica)) {
    throw UsageError("schema changes are not followed in this migration (no pgshift.ddl_log on both sides)");
  }
  pg::Result r = writer.exec(kFindSql, {id});
  if (r.empty()) throw UsageError(fmt::format("no schema change {} in the log on the {}", id, writer.endpoint()));
  if (r.rows() > 1) throw UsageError(fmt::format("'{}' names several schema changes: give more of the id", id));
  std::string full = r.row(0).text("id");
  replica.exec(kDecideSql, {full, decision == Decision::apply ? "apply" : "skip"});
  for (auto& e : entries(writer, replica, 1000)) {
    if (e.id == full) return e;
  }
  throw RuntimeError(fmt::format("schema change {} vanished from the log on the {}", full, writer.endpoint()));
}

std::string one_line(const std::string& statement, size_t max) {
  std::string out;
  bool space = false;
  for (char c : statement) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
    out = out.substr(0, cut) + "…";
  }
  return out;
}

}  // namespace pgshift::ddl
